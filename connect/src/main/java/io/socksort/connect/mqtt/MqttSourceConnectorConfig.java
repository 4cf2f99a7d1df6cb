package io.socksort.connect.mqtt;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * The connector's configuration. The MQTT keys are those of Confluent's MQTT source
 * connector, so a statement written for it works by changing only {@code connector.class}.
 */
public final class MqttSourceConnectorConfig extends AbstractConfig {

    public static final String SERVER_URI = "mqtt.server.uri";
    public static final String TOPICS = "mqtt.topics";
    public static final String KAFKA_TOPIC = "kafka.topic";
    public static final String USERNAME = "mqtt.username";
    public static final String PASSWORD = "mqtt.password";
    public static final String QOS = "mqtt.qos";
    public static final String CLEAN_SESSION = "mqtt.clean.session.enabled";
    public static final String CLIENT_ID = "mqtt.client.id";
    public static final String CONNECT_TIMEOUT = "mqtt.connect.timeout.seconds";
    public static final String KEEPALIVE = "mqtt.keepalive.interval.seconds";
    public static final String RECORD_KEY = "record.key";
    public static final String BUFFER_MAX = "buffer.max.messages";
    public static final String BATCH_MAX = "poll.max.batch.size";
    public static final String MAX_PAYLOAD_BYTES = "mqtt.max.payload.bytes";
    // Connect's sink-only dead letter queue keys, given the same meaning for this source
    // (the framework has no dead letter queue for source connectors; ErrorHandling explains).
    public static final String DLQ_TOPIC = "errors.deadletterqueue.topic.name";
    public static final String DLQ_CONTEXT_HEADERS = "errors.deadletterqueue.context.headers.enable";
    // TLS, as Confluent's connector names it: stores by path (Confluent Platform) or by
    // content as a data: URI (Confluent Cloud's *.file keys).
    public static final String SSL_TRUST_STORE_PATH = "mqtt.ssl.trust.store.path";
    public static final String SSL_TRUST_STORE_FILE = "mqtt.ssl.trust.store.file";
    public static final String SSL_TRUST_STORE_PASSWORD = "mqtt.ssl.trust.store.password";
    public static final String SSL_KEY_STORE_PATH = "mqtt.ssl.key.store.path";
    public static final String SSL_KEY_STORE_FILE = "mqtt.ssl.key.store.file";
    public static final String SSL_KEY_STORE_PASSWORD = "mqtt.ssl.key.store.password";
    public static final String SSL_KEY_PASSWORD = "mqtt.ssl.key.password";

    public static final String KEY_TOPIC = "topic";
    public static final String KEY_DEVICE = "device";
    public static final String KEY_NONE = "none";
    /** 256 KiB: a prediction is a few hundred bytes, and Kafka's 1 MiB request limit leaves room for key and headers. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

    public static final ConfigDef CONFIG_DEF = new ConfigDef()
        .define(SERVER_URI, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, new ServerUris(), Importance.HIGH,
                "MQTT broker URIs, tcp://host:port or ssl://host:port; the client tries them in order.")
        .define(TOPICS, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, new NonEmptyList(), Importance.HIGH,
                "MQTT topic filters to subscribe to.")
        .define(KAFKA_TOPIC, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                Importance.HIGH, "Kafka topic the messages are written to.")
        .define(USERNAME, Type.STRING, null, Importance.HIGH, "MQTT user name.")
        .define(PASSWORD, Type.PASSWORD, null, Importance.HIGH,
                "MQTT password; use ${file:/path:key} to keep it out of the connector config.")
        .define(QOS, Type.INT, 1, ConfigDef.Range.between(0, 2), Importance.MEDIUM,
                "QoS of the subscriptions. 1 (at least once) is what makes the acknowledge-after-Kafka "
                + "guarantee hold; 0 may lose messages.")
        .define(CLEAN_SESSION, Type.BOOLEAN, false, Importance.MEDIUM,
                "Start with a clean MQTT session. false keeps the broker queueing for us while the "
                + "worker restarts.")
        .define(CLIENT_ID, Type.STRING, "", Importance.MEDIUM,
                "MQTT client id prefix; empty means socksort-<connector name>. Must be stable for a "
                + "persistent session.")
        .define(CONNECT_TIMEOUT, Type.INT, 30, ConfigDef.Range.atLeast(1), Importance.LOW,
                "Seconds to wait for the broker's CONNACK.")
        .define(KEEPALIVE, Type.INT, 60, ConfigDef.Range.atLeast(0), Importance.LOW,
                "MQTT keep-alive interval in seconds.")
        .define(RECORD_KEY, Type.STRING, KEY_TOPIC, ConfigDef.ValidString.in(KEY_TOPIC, KEY_DEVICE, KEY_NONE),
                Importance.MEDIUM, "Kafka record key: the MQTT topic, the payload's device field "
                + "(falling back to the topic), or none.")
        .define(BUFFER_MAX, Type.INT, 10_000, ConfigDef.Range.atLeast(1), Importance.LOW,
                "Messages held between MQTT and Kafka; when full, reading from the broker pauses "
                + "(nothing is dropped, the broker queues).")
        .define(BATCH_MAX, Type.INT, 1_000, ConfigDef.Range.atLeast(1), Importance.LOW,
                "Most records returned by one poll.")
        .define(MAX_PAYLOAD_BYTES, Type.INT, DEFAULT_MAX_PAYLOAD_BYTES, ConfigDef.Range.atLeast(1), Importance.MEDIUM,
                "Largest MQTT payload that becomes a record. A larger one is handled by errors.tolerance: "
                + "none fails the task, all sends it to " + DLQ_TOPIC + " (cut to this size) or drops it, "
                + "logged when errors.log.enable is true. Keep it below the producer's max.request.size "
                + "(1 MiB by default) with room for key and headers, and equal to the broker's limit "
                + "(Mosquitto's message_size_limit).")
        .define(DLQ_TOPIC, Type.STRING, "", Importance.MEDIUM,
                "Kafka topic for MQTT messages that cannot be produced (with errors.tolerance=all); "
                + "empty means they are dropped. The record holds the payload cut to "
                + MAX_PAYLOAD_BYTES + " and a mqtt.payload.bytes header with its full size.")
        .define(DLQ_CONTEXT_HEADERS, Type.BOOLEAN, false, Importance.LOW,
                "Add Connect's __connect.errors.* headers (topic, connector, task, stage, exception) to "
                + "dead letter records, as the sink dead letter queue does.")
        .define(SSL_TRUST_STORE_PATH, Type.STRING, "", new StoreLocation(), Importance.HIGH,
                "JKS or PKCS12 trust store holding the CA certificates the broker's certificate must "
                + "chain to (ssl:// URIs); empty means the JVM's default trust store.")
        .define(SSL_TRUST_STORE_FILE, Type.STRING, "", new StoreLocation(), Importance.HIGH,
                "The trust store as Confluent Cloud takes it: data:text/plain;base64,<bytes> (or a path). "
                + "Set this or " + SSL_TRUST_STORE_PATH + ", not both.")
        .define(SSL_TRUST_STORE_PASSWORD, Type.PASSWORD, null, Importance.HIGH,
                "Password of the trust store.")
        .define(SSL_KEY_STORE_PATH, Type.STRING, "", new StoreLocation(), Importance.HIGH,
                "JKS or PKCS12 key store with the client certificate and key, for brokers that "
                + "authenticate clients by certificate (e.g. AWS IoT); empty means none.")
        .define(SSL_KEY_STORE_FILE, Type.STRING, "", new StoreLocation(), Importance.HIGH,
                "The key store as Confluent Cloud takes it: data:text/plain;base64,<bytes> (or a path). "
                + "Set this or " + SSL_KEY_STORE_PATH + ", not both.")
        .define(SSL_KEY_STORE_PASSWORD, Type.PASSWORD, null, Importance.HIGH,
                "Password of the key store.")
        .define(SSL_KEY_PASSWORD, Type.PASSWORD, null, Importance.HIGH,
                "Password of the private key in the key store; empty means the key store's password.");

    public MqttSourceConnectorConfig(Map<String, String> props) {
        super(CONFIG_DEF, props);
    }

    public List<String> serverUris() {
        return getList(SERVER_URI);
    }

    public List<String> topics() {
        return getList(TOPICS);
    }

    public String kafkaTopic() {
        return getString(KAFKA_TOPIC);
    }

    public String username() {
        return getString(USERNAME);
    }

    public char[] password() {
        Password password = getPassword(PASSWORD);
        return password == null ? null : password.value().toCharArray();
    }

    public int qos() {
        return getInt(QOS);
    }

    public boolean cleanSession() {
        return getBoolean(CLEAN_SESSION);
    }

    public String clientIdPrefix(String connectorName) {
        String configured = getString(CLIENT_ID);
        return configured.isEmpty() ? "socksort-" + connectorName : configured;
    }

    public int connectTimeoutSeconds() {
        return getInt(CONNECT_TIMEOUT);
    }

    public int keepAliveSeconds() {
        return getInt(KEEPALIVE);
    }

    public String recordKey() {
        return getString(RECORD_KEY);
    }

    public int bufferMax() {
        return getInt(BUFFER_MAX);
    }

    public int batchMax() {
        return getInt(BATCH_MAX);
    }

    public int maxPayloadBytes() {
        return getInt(MAX_PAYLOAD_BYTES);
    }

    /** The dead letter topic, or null when none is set. */
    public String deadLetterTopic() {
        String topic = getString(DLQ_TOPIC).trim();
        return topic.isEmpty() ? null : topic;
    }

    public boolean deadLetterContextHeaders() {
        return getBoolean(DLQ_CONTEXT_HEADERS);
    }

    /** The key naming the trust store (path or data: URI), or null when none is set. */
    public String trustStoreKey() {
        return storeKey(SSL_TRUST_STORE_PATH, SSL_TRUST_STORE_FILE);
    }

    /** The key naming the key store (path or data: URI), or null when none is set. */
    public String keyStoreKey() {
        return storeKey(SSL_KEY_STORE_PATH, SSL_KEY_STORE_FILE);
    }

    private String storeKey(String pathKey, String fileKey) {
        boolean byPath = !getString(pathKey).isBlank();
        boolean byFile = !getString(fileKey).isBlank();
        if (byPath && byFile) {
            throw new MqttTls.StoreProblem(fileKey, "set either " + pathKey + " or " + fileKey + ", not both");
        }
        return byPath ? pathKey : byFile ? fileKey : null;
    }

    public char[] trustStorePassword() {
        return chars(SSL_TRUST_STORE_PASSWORD);
    }

    public char[] keyStorePassword() {
        return chars(SSL_KEY_STORE_PASSWORD);
    }

    /** The private key's own password, or null to use the key store's. */
    public char[] keyPassword() {
        char[] password = chars(SSL_KEY_PASSWORD);
        return password == null || password.length == 0 ? null : password;
    }

    private char[] chars(String key) {
        Password password = getPassword(key);
        return password == null ? null : password.value().toCharArray();
    }

    /** Paho's URI schemes, with a host and an explicit port, so a typo fails here rather than at connect. */
    static final class ServerUris implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            @SuppressWarnings("unchecked")
            List<String> uris = (List<String>) value;
            if (uris == null || uris.isEmpty()) {
                throw new ConfigException(name, value, "at least one broker URI is required");
            }
            for (String uri : uris) {
                checkUri(name, uri);
            }
        }

        private static void checkUri(String name, String text) {
            URI uri;
            try {
                uri = new URI(text.trim());
            } catch (URISyntaxException e) {
                throw new ConfigException(name, text, "not a URI: " + e.getReason());
            }
            String scheme = uri.getScheme();
            if (scheme == null || !(scheme.equals("tcp") || scheme.equals("ssl"))) {
                throw new ConfigException(name, text, "the scheme must be tcp:// or ssl://");
            }
            if (uri.getHost() == null || uri.getPort() < 1) {
                throw new ConfigException(name, text, "expected tcp://HOST:PORT");
            }
        }

        @Override
        public String toString() {
            return "tcp://HOST:PORT or ssl://HOST:PORT, comma-separated";
        }
    }

    /** Empty, a readable file, or a base64 data: URI; the store itself is loaded later, with its password. */
    static final class StoreLocation implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            String text = (String) value;
            if (text != null && !text.isBlank()) {
                MqttTls.contents(name, text.trim());
            }
        }

        @Override
        public String toString() {
            return "a JKS/PKCS12 file path or data:text/plain;base64,<bytes>; empty for none";
        }
    }

    static final class NonEmptyList implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            @SuppressWarnings("unchecked")
            List<String> items = (List<String>) value;
            if (items == null || items.isEmpty() || items.stream().anyMatch(String::isBlank)) {
                throw new ConfigException(name, value, "at least one non-empty entry is required");
            }
        }

        @Override
        public String toString() {
            return "non-empty list";
        }
    }
}
