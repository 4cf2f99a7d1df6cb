package io.socksort.connect.mqtt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
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
        task.configure(new MqttSourceConnectorConfig(config(extra)), new RedeliveryFilter(p -> null));
        return task;
    }

    private static MqttSourceTask.Arrived arrived(String payload, long at) {
        MqttMessage message = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
        message.setQos(1);
        return new MqttSourceTask.Arrived("sockfound", message, at);
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
}
