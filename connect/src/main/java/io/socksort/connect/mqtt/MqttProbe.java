package io.socksort.connect.mqtt;

import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.util.Optional;

import javax.net.ssl.SSLHandshakeException;

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
            return Optional.of(classify(e, config.trustStoreKey()));
        }
    }

    /** {@code trustStoreKey}: the key naming the configured trust store, null for the JVM's default one. */
    static Problem classify(MqttException e, String trustStoreKey) {
        Problem tls = classifyTls(e, trustStoreKey);
        if (tls != null) {
            return tls;
        }
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

    /**
     * A failed TLS handshake, blamed on the trust store when the broker's certificate does
     * not chain to a trusted CA, on the URI when it does not name the URI's host; else null.
     */
    static Problem classifyTls(MqttException e, String trustStoreKey) {
        SSLHandshakeException handshake = null;
        for (Throwable t = e.getCause(); t != null && handshake == null; t = t.getCause()) {
            if (t instanceof SSLHandshakeException h) {
                handshake = h;
            }
        }
        if (handshake == null) {
            return null;
        }
        String reason = rootMessage(handshake);
        boolean untrusted = false;
        for (Throwable t = handshake; t != null; t = t.getCause()) {
            untrusted |= t instanceof CertPathBuilderException || t instanceof CertPathValidatorException;
        }
        if (untrusted) {
            String where = trustStoreKey != null ? "the trust store (" + trustStoreKey + ")"
                : "the JVM's default trust store (set " + MqttSourceConnectorConfig.SSL_TRUST_STORE_PATH + ")";
            return new Problem(trustStoreKey != null ? trustStoreKey : MqttSourceConnectorConfig.SSL_TRUST_STORE_PATH,
                               "the MQTT broker's TLS certificate is not signed by a CA in " + where + ": " + reason);
        }
        if (reason != null && reason.contains("subject alternative")) {
            return new Problem(MqttSourceConnectorConfig.SERVER_URI,
                               "the MQTT broker's TLS certificate is not for this URI's host: " + reason);
        }
        return new Problem(MqttSourceConnectorConfig.SERVER_URI, "the TLS handshake with the MQTT broker failed: " + reason);
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : t.getMessage();
    }

    static String describe(MqttException e) {
        Throwable cause = e.getCause();
        String text = e.getMessage() + " (reason " + e.getReasonCode() + ")";
        return cause == null ? text : text + ": " + cause.getMessage();
    }
}
