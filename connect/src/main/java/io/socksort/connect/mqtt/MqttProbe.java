package io.socksort.connect.mqtt;

import java.util.Optional;

import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * One trial connection with a connector's settings, so validation can say which key is
 * wrong: an unreachable broker is the URI's fault, a refused login the credentials'.
 */
final class MqttProbe {
    /** What went wrong, with the config key to blame. */
    record Problem(String key, String message) {
    }

    private MqttProbe() {
    }

    static Optional<Problem> check(MqttSourceConnectorConfig config, int timeoutSeconds) {
        MqttConnectOptions options = MqttSourceTask.connectOptions(config);
        options.setCleanSession(true); // leave no session behind
        options.setAutomaticReconnect(false);
        options.setConnectionTimeout(timeoutSeconds);
        String clientId = "socksort-validate-" + Long.toHexString(System.nanoTime());
        try (MqttClient client = new MqttClient(config.serverUris().get(0), clientId, new MemoryPersistence())) {
            client.connect(options);
            client.disconnect(1_000);
            return Optional.empty();
        } catch (MqttException e) {
            return Optional.of(classify(e));
        }
    }

    static Problem classify(MqttException e) {
        return switch (e.getReasonCode()) {
            case MqttException.REASON_CODE_FAILED_AUTHENTICATION, MqttException.REASON_CODE_NOT_AUTHORIZED ->
                new Problem(MqttSourceConnectorConfig.PASSWORD,
                            "the MQTT broker refused these credentials (" + describe(e) + "); check "
                            + MqttSourceConnectorConfig.USERNAME + " and " + MqttSourceConnectorConfig.PASSWORD);
            case MqttException.REASON_CODE_INVALID_CLIENT_ID ->
                new Problem(MqttSourceConnectorConfig.CLIENT_ID, "the MQTT broker rejected the client id");
            default -> new Problem(MqttSourceConnectorConfig.SERVER_URI,
                                   "cannot reach an MQTT broker at this URI: " + describe(e));
        };
    }

    static String describe(MqttException e) {
        Throwable cause = e.getCause();
        String text = e.getMessage() + " (reason " + e.getReasonCode() + ")";
        return cause == null ? text : text + ": " + cause.getMessage();
    }
}
