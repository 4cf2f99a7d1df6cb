package io.socksort.connect.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.source.ExactlyOnceSupport;
import org.junit.jupiter.api.Test;

class MqttSourceConnectorTest {
    private final MqttSourceConnector connector = new MqttSourceConnector();

    private Map<String, List<String>> errors(Map<String, String> config) {
        return errors(connector, config);
    }

    /** The keys validation blames, with their messages. */
    static Map<String, List<String>> errors(MqttSourceConnector connector, Map<String, String> config) {
        return connector.validate(config).configValues().stream()
            .filter(v -> !v.errorMessages().isEmpty())
            .collect(Collectors.toMap(ConfigValue::name, ConfigValue::errorMessages));
    }

    private static Map<String, String> config(String... extra) {
        return MqttSourceTaskTest.config(extra);
    }

    @Test
    void missingKafkaTopicIsNamed() {
        Map<String, String> config = config();
        config.remove("kafka.topic");
        assertEquals(List.of("kafka.topic"), List.copyOf(errors(config).keySet()));
    }

    @Test
    void aUriWithTheWrongSchemeIsNamed() {
        Map<String, List<String>> errors = errors(config("mqtt.server.uri", "http://127.0.0.1:1883"));
        assertEquals(List.of("mqtt.server.uri"), List.copyOf(errors.keySet()));
        assertTrue(errors.get("mqtt.server.uri").get(0).contains("tcp://"));
    }

    @Test
    void aUriWithoutAPortIsNamed() {
        assertEquals(List.of("mqtt.server.uri"), List.copyOf(errors(config("mqtt.server.uri", "tcp://broker")).keySet()));
    }

    @Test
    void anUnreachableBrokerIsBlamedOnTheUri() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        Map<String, List<String>> errors = errors(config("mqtt.server.uri", "tcp://127.0.0.1:" + closedPort));
        assertEquals(List.of("mqtt.server.uri"), List.copyOf(errors.keySet()));
        assertTrue(errors.get("mqtt.server.uri").get(0).startsWith("cannot reach"));
    }

    @Test
    void qosOutsideZeroToTwoIsNamed() {
        assertEquals(List.of("mqtt.qos"), List.copyOf(errors(config("mqtt.qos", "3")).keySet()));
    }

    @Test
    void topicsAreDealtRoundRobinToAtMostOneTaskEach() {
        connector.start(config("mqtt.topics", "a,b,c"));
        List<Map<String, String>> tasks = connector.taskConfigs(2);
        assertEquals(List.of("a,c", "b"), tasks.stream().map(t -> t.get("mqtt.topics")).toList());
        assertEquals(List.of("0", "1"), tasks.stream().map(t -> t.get("task.index")).toList());
    }

    @Test
    void moreTasksThanTopicsOnlyMakesOneTaskPerTopic() {
        connector.start(config());
        assertEquals(1, connector.taskConfigs(4).size());
    }

    @Test
    void declaresExactlyOnceSupport() {
        assertEquals(ExactlyOnceSupport.SUPPORTED, connector.exactlyOnceSupport(config()));
    }
}
