package io.socksort.connect.mqtt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.source.ExactlyOnceSupport;
import org.apache.kafka.connect.source.SourceConnector;

/**
 * MQTT → Kafka. The connector only checks configuration and deals topics out to tasks;
 * {@link MqttSourceTask} does the reading and the offset handling.
 */
public class MqttSourceConnector extends SourceConnector {
    public static final String VERSION = "0.1.0";
    /** Seconds the validation's trial connection may take; a form should answer quickly. */
    static final int VALIDATION_TIMEOUT_SECONDS = 5;

    private Map<String, String> props;

    @Override
    public String version() {
        return VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        new MqttSourceConnectorConfig(props);
        this.props = Map.copyOf(props);
    }

    @Override
    public Class<? extends Task> taskClass() {
        return MqttSourceTask.class;
    }

    /**
     * Topic filters are dealt round-robin, so each filter is read by exactly one task (one
     * MQTT session), which keeps the order per topic. More tasks than filters would only idle.
     */
    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        List<String> topics = new MqttSourceConnectorConfig(props).topics();
        int count = Math.max(1, Math.min(maxTasks, topics.size()));
        List<Map<String, String>> configs = new ArrayList<>(count);
        for (int task = 0; task < count; task++) {
            List<String> mine = new ArrayList<>();
            for (int t = task; t < topics.size(); t += count) {
                mine.add(topics.get(t));
            }
            Map<String, String> config = new HashMap<>(props);
            config.put(MqttSourceConnectorConfig.TOPICS, String.join(",", mine));
            config.put(MqttSourceTask.TASK_INDEX, Integer.toString(task));
            configs.add(config);
        }
        return configs;
    }

    @Override
    public void stop() {
    }

    @Override
    public ConfigDef config() {
        return MqttSourceConnectorConfig.CONFIG_DEF;
    }

    /** The static checks, then — if the broker settings are well-formed — a trial connection. */
    @Override
    public Config validate(Map<String, String> connectorConfigs) {
        Config result = super.validate(connectorConfigs);
        Map<String, ConfigValue> byName = new HashMap<>();
        for (ConfigValue value : result.configValues()) {
            byName.put(value.name(), value);
        }
        boolean wellFormed = List.of(MqttSourceConnectorConfig.SERVER_URI, MqttSourceConnectorConfig.USERNAME,
                                     MqttSourceConnectorConfig.PASSWORD, MqttSourceConnectorConfig.QOS,
                                     MqttSourceConnectorConfig.TOPICS, MqttSourceConnectorConfig.KAFKA_TOPIC,
                                     MqttSourceConnectorConfig.SSL_TRUST_STORE_PATH,
                                     MqttSourceConnectorConfig.SSL_TRUST_STORE_FILE,
                                     MqttSourceConnectorConfig.SSL_KEY_STORE_PATH,
                                     MqttSourceConnectorConfig.SSL_KEY_STORE_FILE)
            .stream().allMatch(key -> byName.containsKey(key) && byName.get(key).errorMessages().isEmpty());
        if (wellFormed) {
            MqttSourceConnectorConfig config = new MqttSourceConnectorConfig(connectorConfigs);
            try {
                // The stores with their passwords first: a wrong password is its key's fault,
                // not an unreachable broker's.
                MqttTls.socketFactory(config);
            } catch (MqttTls.StoreProblem problem) {
                byName.get(problem.key).addErrorMessage(problem.getMessage());
                return result;
            }
            Optional<MqttProbe.Problem> problem = MqttProbe.check(config, VALIDATION_TIMEOUT_SECONDS);
            problem.ifPresent(p -> byName.get(p.key()).addErrorMessage(p.message()));
        }
        return result;
    }

    @Override
    public ExactlyOnceSupport exactlyOnceSupport(Map<String, String> connectorConfig) {
        // Records carry (device, seq, ts) offsets and the task drops what those offsets
        // say Kafka already has, so with the worker's transactions nothing is written twice.
        return ExactlyOnceSupport.SUPPORTED;
    }
}
