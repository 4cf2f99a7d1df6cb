package io.socksort.connect.mqtt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.junit.jupiter.api.Test;

class MqttSourceTaskTest {
    static Map<String, String> config(String... extra) {
        Map<String, String> props = new HashMap<>(Map.of(
            "mqtt.server.uri", "tcp://127.0.0.1:1883",
            "mqtt.topics", "sockfound",
            "kafka.topic", "data_mqtt"));
        for (int i = 0; i < extra.length; i += 2) {
            props.put(extra[i], extra[i + 1]);
        }
        return props;
    }

    private static MqttSourceTask task(String... extra) {
        MqttSourceTask task = new MqttSourceTask();
        task.configure(config(extra), new RedeliveryFilter(p -> null));
        return task;
    }

    private static MqttSourceTask.Arrived arrived(String payload, long at) {
        return arrived(payload.getBytes(StandardCharsets.UTF_8), at);
    }

    private static MqttSourceTask.Arrived arrived(byte[] payload, long at) {
        MqttMessage message = new MqttMessage(payload);
        message.setQos(1);
        message.setId(7);
        return new MqttSourceTask.Arrived("sockfound", message, at);
    }

    /** A prediction padded with an extra field to exactly {@code size} bytes. */
    private static byte[] predictionOfSize(int size) {
        String start = "{\"ts\":1700000000000,\"device\":\"cam\",\"seq\":9,\"image\":\"";
        String end = "\"}";
        return (start + "x".repeat(size - start.length() - end.length()) + end).getBytes(StandardCharsets.UTF_8);
    }

    private static String header(SourceRecord record, String name) {
        return record.headers().lastWithName(name) == null ? null
            : String.valueOf(record.headers().lastWithName(name).value());
    }

    private static final String PREDICTION = "{\"image\":\"Google\",\"ts\":1700000000000,\"device\":\"cam\",\"seq\":4}";

    @Test
    void recordCarriesTopicKeyRawValueAndPayloadTimestamp() {
        SourceRecord record = task().toRecord(arrived(PREDICTION, 5L));
        assertEquals("data_mqtt", record.topic());
        assertEquals("sockfound", record.key());
        assertArrayEquals(PREDICTION.getBytes(StandardCharsets.UTF_8), (byte[]) record.value());
        assertEquals(1700000000000L, record.timestamp());
        assertEquals("sockfound", record.headers().lastWithName("mqtt.topic").value());
    }

    @Test
    void sourceOffsetIsTheDevicesSeqAndTsOnItsTopic() {
        SourceRecord record = task().toRecord(arrived(PREDICTION, 5L));
        assertEquals(Map.of("mqtt.topic", "sockfound", "device", "cam"), record.sourcePartition());
        assertEquals(Map.of("seq", 4L, "ts", 1700000000000L), record.sourceOffset());
    }

    @Test
    void keyCanBeTheDeviceOrNothing() {
        assertEquals("cam", task("record.key", "device").toRecord(arrived(PREDICTION, 5L)).key());
        assertNull(task("record.key", "none").toRecord(arrived(PREDICTION, 5L)).key());
    }

    @Test
    void malformedPayloadPassesAsBytesStampedWithArrivalTime() {
        SourceRecord record = task().toRecord(arrived("\u00ff not json", 1234L));
        assertArrayEquals("\u00ff not json".getBytes(StandardCharsets.UTF_8), (byte[]) record.value());
        assertEquals(1234L, record.timestamp());
        assertNull(record.sourcePartition());
    }

    @Test
    void aRedeliveredMessageBecomesNoRecord() {
        MqttSourceTask task = task();
        task.toRecord(arrived(PREDICTION, 5L));
        assertNull(task.toRecord(arrived(PREDICTION, 6L)));
    }

    @Test
    void aFailedSubscriptionFailsTheTaskInsteadOfLeavingItIdle() {
        MqttSourceTask task = task();
        task.subscriptionFailed("subscribing to [sockfound] failed: Timed out (32000)");
        ConnectException failure = assertThrows(ConnectException.class, task::poll);
        assertTrue(failure.getMessage().contains("Timed out"));
    }

    @Test
    void pollWaitsQuietlyWhileTheSubscriptionStands() throws InterruptedException {
        assertNull(task().poll());
    }

    @Test
    void aPayloadAtTheLimitIsAnOrdinaryRecord() {
        SourceRecord record = task("mqtt.max.payload.bytes", "1000").toRecord(arrived(predictionOfSize(1000), 5L));
        assertEquals("data_mqtt", record.topic());
        assertEquals(1000, ((byte[]) record.value()).length);
    }

    @Test
    void underErrorsToleranceNoneAnOversizedPayloadFailsTheTaskNamingItsSizeAndTheLimit() {
        MqttSourceTask task = task("mqtt.max.payload.bytes", "1000");
        ConnectException failure = assertThrows(ConnectException.class,
                                                () -> task.toRecord(arrived(predictionOfSize(1001), 5L)));
        assertTrue(failure.getMessage().contains("MQTT message 7 on 'sockfound' (device cam, seq 9) is 1001 bytes, "
                                                 + "over mqtt.max.payload.bytes=1000"), failure.getMessage());
    }

    @Test
    void underErrorsToleranceAllAnOversizedPayloadGoesToTheDeadLetterTopicCutToTheLimit() {
        byte[] payload = predictionOfSize(5000);
        SourceRecord record = task("mqtt.max.payload.bytes", "1000", "errors.tolerance", "all",
                                   "errors.deadletterqueue.topic.name", "data_mqtt_dlq").toRecord(arrived(payload, 5L));
        assertEquals("data_mqtt_dlq", record.topic());
        assertArrayEquals(Arrays.copyOf(payload, 1000), (byte[]) record.value());
        assertEquals("5000", header(record, "mqtt.payload.bytes"));
        assertEquals("sockfound", header(record, "mqtt.topic"));
        assertEquals(Map.of("seq", 9L, "ts", 1700000000000L), record.sourceOffset());
    }

    @Test
    void deadLetterRecordsCarryConnectsErrorContextHeadersWhenEnabled() {
        SourceRecord record = task("mqtt.max.payload.bytes", "1000", "errors.tolerance", "all",
                                   "errors.deadletterqueue.topic.name", "data_mqtt_dlq",
                                   "errors.deadletterqueue.context.headers.enable", "true", "name", "bridge")
            .toRecord(arrived(predictionOfSize(5000), 5L));
        assertEquals("org.apache.kafka.common.errors.RecordTooLargeException",
                     header(record, "__connect.errors.exception.class.name"));
        assertTrue(header(record, "__connect.errors.exception.message").contains("is 5000 bytes"));
        assertEquals("sockfound", header(record, "__connect.errors.topic"));
        assertEquals("bridge", header(record, "__connect.errors.connector.name"));
        assertEquals("KAFKA_PRODUCE", header(record, "__connect.errors.stage"));
    }

    @Test
    void deadLetterRecordsLeaveOutTheContextHeadersByDefault() {
        SourceRecord record = task("mqtt.max.payload.bytes", "1000", "errors.tolerance", "all",
                                   "errors.deadletterqueue.topic.name", "data_mqtt_dlq")
            .toRecord(arrived(predictionOfSize(5000), 5L));
        assertNull(record.headers().lastWithName("__connect.errors.exception.class.name"));
    }

    @Test
    void underErrorsToleranceAllWithoutADeadLetterTopicAnOversizedPayloadIsDropped() {
        MqttSourceTask task = task("mqtt.max.payload.bytes", "1000", "errors.tolerance", "all");
        assertNull(task.toRecord(arrived(predictionOfSize(5000), 5L)));
        SourceRecord next = task.toRecord(arrived(PREDICTION.replace("\"seq\":4", "\"seq\":10"), 6L));
        assertNotNull(next);
        assertEquals("data_mqtt", next.topic());
    }
}
