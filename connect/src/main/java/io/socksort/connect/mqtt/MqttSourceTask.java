package io.socksort.connect.mqtt;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallbackExtended;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads MQTT messages and hands them to Connect as records, acknowledging each to the
 * broker only once Kafka has acknowledged its record ({@link #commitRecord}).
 *
 * The session is persistent (clean session off, a stable client id), so what the broker
 * sent but never saw acknowledged is sent again after a restart; {@link RedeliveryFilter}
 * drops the ones Kafka already has. Between Paho's callback thread and {@link #poll} sits
 * a bounded queue: when it is full the callback blocks, Paho stops reading the socket,
 * and the broker holds the rest — nothing is dropped on our side.
 *
 * A payload over {@code mqtt.max.payload.bytes} never reaches the producer: Kafka would
 * refuse it, fail the task and, through redelivery, every restart after it.
 * {@link ErrorHandling} decides what becomes of it.
 */
public class MqttSourceTask extends SourceTask {
    private static final Logger log = LoggerFactory.getLogger(MqttSourceTask.class);
    static final String TASK_INDEX = "task.index";
    static final String CONNECTOR_NAME = "name";
    static final int MIN_RECONNECT_DELAY_MS = 500;
    static final int MAX_RECONNECT_DELAY_MS = 5_000;

    private MqttSourceConnectorConfig config;
    private BlockingQueue<Arrived> buffer;
    private RedeliveryFilter redeliveries;
    private ErrorHandling errors;
    private volatile MqttAsyncClient client;
    private String clientId;
    // Reconnecting (poll()'s thread only): when the next attempt is due and how long the one
    // after a failure waits.
    private final Backoff reconnects = new Backoff(MIN_RECONNECT_DELAY_MS, MAX_RECONNECT_DELAY_MS);
    private volatile boolean stopping;
    private final Set<MqttAsyncClient> discarded = Collections.newSetFromMap(new WeakHashMap<>());
    private long reportedRedeliveries;
    // Set from Paho's callback thread when a (re)subscription fails; poll() then fails the
    // task. A task left RUNNING without a subscription would look healthy and move nothing.
    private volatile String subscriptionFailure;

    /** One message as Paho delivered it, with the arrival time for records without a ts. */
    record Arrived(String topic, MqttMessage message, long arrivedAt) {
    }

    /** A record that remembers which MQTT message to acknowledge once Kafka has it. */
    static final class MqttRecord extends SourceRecord {
        final int messageId;
        final int qos;

        MqttRecord(Map<String, ?> partition, Map<String, ?> offset, String topic, Schema keySchema, Object key,
                   byte[] value, long timestamp, ConnectHeaders headers, int messageId, int qos) {
            super(partition, offset, topic, null, keySchema, key, Schema.BYTES_SCHEMA, value, timestamp, headers);
            this.messageId = messageId;
            this.qos = qos;
        }
    }

    @Override
    public String version() {
        return MqttSourceConnector.VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        configure(props, new RedeliveryFilter(partition -> context.offsetStorageReader().offset(partition)));
        clientId = config.clientIdPrefix(connectorName(props)) + "-" + taskIndex(props);
        try {
            connected();
        } catch (MqttException e) {
            throw new ConnectException("cannot connect to MQTT " + config.serverUris() + " as " + clientId
                + ": " + MqttProbe.describe(e), e);
        }
        log.info("MQTT source task {} reading {} from {} into {}", clientId, config.topics(),
                 config.serverUris(), config.kafkaTopic());
    }

    /** Everything but the MQTT connection (which unit tests do without). */
    void configure(Map<String, String> props, RedeliveryFilter redeliveries) {
        this.config = new MqttSourceConnectorConfig(props);
        this.buffer = new ArrayBlockingQueue<>(config.bufferMax());
        this.redeliveries = redeliveries;
        this.errors = new ErrorHandling(props, config, connectorName(props), taskIndex(props));
    }

    private static String connectorName(Map<String, String> props) {
        return props.getOrDefault(CONNECTOR_NAME, "mqtt-source");
    }

    private static String taskIndex(Map<String, String> props) {
        return props.getOrDefault(TASK_INDEX, "0");
    }

    static MqttConnectOptions connectOptions(MqttSourceConnectorConfig config) {
        MqttConnectOptions options = new MqttConnectOptions();
        options.setServerURIs(config.serverUris().toArray(new String[0]));
        options.setCleanSession(config.cleanSession());
        // poll() reconnects, not Paho: Paho's own reconnect can open the socket and never send
        // CONNECT (eclipse-paho/paho.mqtt.java#1098), and then waits, with no timeout, until the
        // broker gives up on it (95 s with Mosquitto) while the backlog grows.
        options.setAutomaticReconnect(false);
        options.setConnectionTimeout(config.connectTimeoutSeconds());
        options.setKeepAliveInterval(config.keepAliveSeconds());
        options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        if (config.username() != null) {
            options.setUserName(config.username());
        }
        if (config.password() != null) {
            options.setPassword(config.password());
        }
        // Null without configured stores: Paho then uses the JVM's defaults for ssl:// URIs.
        // A store that does not load throws a ConfigException naming its key.
        options.setSocketFactory(MqttTls.socketFactory(config));
        return options;
    }

    private final class Callback implements MqttCallbackExtended {
        private final MqttAsyncClient owner;

        Callback(MqttAsyncClient owner) {
            this.owner = owner;
        }

        @Override
        public void connectComplete(boolean reconnect, String serverUri) {
            // Subscribe on every (re)connect: a broker that lost our session would otherwise
            // send nothing. Asynchronously: this runs on Paho's callback thread, and waiting
            // here for the SUBACK while a persistent session's backlog fills Paho's inbound
            // queue would deadlock.
            List<String> topics = config.topics();
            int[] qos = topics.stream().mapToInt(t -> config.qos()).toArray();
            try {
                owner.subscribe(topics.toArray(new String[0]), qos, null, new IMqttActionListener() {
                    @Override
                    public void onSuccess(IMqttToken token) {
                        int[] granted = token.getGrantedQos();
                        if (granted != null && java.util.Arrays.stream(granted).anyMatch(q -> q == 0x80)) {
                            subscriptionFailed("the broker refused the subscription to " + topics
                                + " (not authorised?)");
                        } else {
                            log.info("subscribed to {} at QoS {}", topics, config.qos());
                        }
                    }

                    @Override
                    public void onFailure(IMqttToken token, Throwable failure) {
                        subscriptionFailed("subscribing to " + topics + " failed: " + failure);
                    }
                });
            } catch (MqttException e) {
                subscriptionFailed("subscribing to " + topics + " failed: " + MqttProbe.describe(e));
            }
        }

        @Override
        public void connectionLost(Throwable cause) {
            log.warn("MQTT connection lost ({}); reconnecting", cause.toString());
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) throws InterruptedException {
            buffer.put(new Arrived(topic, message, System.currentTimeMillis()));
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
        }
    }

    /** Remember a failed subscription; the next poll() fails the task with this reason. */
    void subscriptionFailed(String reason) {
        log.error("{}", reason);
        subscriptionFailure = reason;
    }

    @Override
    public List<SourceRecord> poll() throws InterruptedException {
        String failure = subscriptionFailure;
        if (failure != null) {
            // Unacknowledged messages stay queued in the broker's persistent session, so
            // failing here loses nothing; the restarted task subscribes afresh.
            throw new ConnectException(failure);
        }
        reconnectIfLost();
        Arrived first = buffer.poll(500, TimeUnit.MILLISECONDS);
        if (first == null) {
            return null;
        }
        List<Arrived> batch = new ArrayList<>();
        batch.add(first);
        buffer.drainTo(batch, config.batchMax() - 1);
        List<SourceRecord> records = new ArrayList<>(batch.size());
        for (Arrived arrived : batch) {
            SourceRecord record = toRecord(arrived);
            if (record != null) {
                records.add(record);
            }
        }
        if (redeliveries.redeliveries() != reportedRedeliveries) {
            reportedRedeliveries = redeliveries.redeliveries();
            log.info("skipped {} redelivered MQTT messages Kafka already had", reportedRedeliveries);
        }
        return records.isEmpty() ? null : records;
    }

    /**
     * The record for one message; null (after acknowledging it) when Kafka already has it or
     * when it is too large and errors.tolerance=all drops it; a record for the dead letter
     * topic when it is too large and one is set.
     */
    SourceRecord toRecord(Arrived arrived) {
        MqttMessage message = arrived.message();
        byte[] payload = message.getPayload();
        PayloadFields fields = PayloadFields.parse(payload);
        if (fields.sequenced() && redeliveries.isRedelivery(arrived.topic(), fields)) {
            acknowledge(message.getId(), message.getQos());
            return null;
        }
        Map<String, ?> partition = fields.sequenced() ? RedeliveryFilter.partition(arrived.topic(), fields.device) : null;
        Map<String, ?> offset = fields.sequenced() ? RedeliveryFilter.offset(fields.seq, fields.ts) : null;
        String key = switch (config.recordKey()) {
            case MqttSourceConnectorConfig.KEY_NONE -> null;
            case MqttSourceConnectorConfig.KEY_DEVICE -> fields.device != null ? fields.device : arrived.topic();
            default -> arrived.topic();
        };
        ConnectHeaders headers = new ConnectHeaders();
        headers.addString("mqtt.topic", arrived.topic());
        long timestamp = fields.ts != null ? fields.ts : arrived.arrivedAt();
        String topic = config.kafkaTopic();
        int limit = config.maxPayloadBytes();
        if (payload.length > limit) {
            String reason = describe(arrived, fields) + " is " + payload.length + " bytes, over "
                + MqttSourceConnectorConfig.MAX_PAYLOAD_BYTES + "=" + limit;
            topic = errors.reject(reason, payload);
            if (topic == null) {
                acknowledge(message.getId(), message.getQos());
                return null;
            }
            // Its offset goes along, so a redelivery after a crash is recognised as one.
            errors.describe(headers, arrived.topic(), reason, payload.length);
            payload = Arrays.copyOf(payload, limit);
        }
        return new MqttRecord(partition, offset, topic,
                              key == null ? null : Schema.OPTIONAL_STRING_SCHEMA, key, payload, timestamp,
                              headers, message.getId(), message.getQos());
    }

    /** "MQTT message 7 on 'sockfound' (device cam, seq 12)", for errors and logs. */
    private static String describe(Arrived arrived, PayloadFields fields) {
        String who = fields.device != null ? " (device " + fields.device
            + (fields.seq != null ? ", seq " + fields.seq : "") + ")" : "";
        return "MQTT message " + arrived.message().getId() + " on '" + arrived.topic() + "'" + who;
    }

    @Override
    public void commitRecord(SourceRecord record, RecordMetadata metadata) {
        // Called once Kafka acknowledged the record (with exactly-once support: once its
        // transaction committed), or when an error-tolerant worker skipped it. Either way
        // the broker may now forget the message.
        if (record instanceof MqttRecord mqtt) {
            acknowledge(mqtt.messageId, mqtt.qos);
        }
    }

    private void acknowledge(int messageId, int qos) {
        if (qos == 0 || client == null) {
            return;
        }
        try {
            client.messageArrivedComplete(messageId, qos);
        } catch (MqttException e) {
            // The connection dropped: the broker will redeliver, and the filter or the
            // duplicate count will see it.
            log.debug("could not acknowledge MQTT message {}: {}", messageId, MqttProbe.describe(e));
        }
    }

    /**
     * A client connected afresh, with its callback, or an exception when the broker refused
     * or did not answer within the connect timeout (the attempt is then abandoned whole).
     */
    private MqttAsyncClient connected() throws MqttException {
        MqttAsyncClient fresh = new MqttAsyncClient(config.serverUris().get(0), clientId, new MemoryPersistence());
        fresh.setManualAcks(true);
        fresh.setCallback(new Callback(fresh));
        // The current client before it connects: the backlog may arrive, and be committed to
        // Kafka, before connect() returns, and its acknowledgements must go out on this one.
        client = fresh;
        try {
            fresh.connect(connectOptions(config)).waitForCompletion(config.connectTimeoutSeconds() * 1000L);
        } catch (MqttException e) {
            discard(fresh);
            throw e;
        }
        return fresh;
    }

    /**
     * After a lost connection, one attempt to connect again when the backoff says it is due.
     * Each attempt uses a new client: one whose attempt hung cannot be trusted with another.
     * Messages already buffered keep their ids; their acknowledgements go out on the new
     * connection, which holds the same persistent session.
     */
    void reconnectIfLost() {
        MqttAsyncClient current = client;
        if (current == null || current.isConnected() || stopping || !reconnects.due(System.currentTimeMillis())) {
            return;
        }
        discard(current);
        try {
            MqttAsyncClient fresh = connected();
            if (stopping) {
                discard(fresh);
                return;
            }
            reconnects.succeeded();
            log.info("reconnected to MQTT {} as {}", config.serverUris(), clientId);
        } catch (MqttException e) {
            long wait = reconnects.failed(System.currentTimeMillis());
            log.warn("reconnecting to MQTT {} failed: {}; trying again in {} ms", config.serverUris(),
                     MqttProbe.describe(e), wait);
        }
    }

    /** Disconnects and closes ``old``, once: Paho throws NullPointerException on a second close. */
    private void discard(MqttAsyncClient old) {
        synchronized (discarded) {
            if (!discarded.add(old)) {
                return;
            }
        }
        try {
            // Forcibly: Paho's callback thread may be blocked on a full buffer. Whatever
            // was not acknowledged stays queued in our persistent session on the broker.
            old.disconnectForcibly(500, 1_000);
        } catch (MqttException e) {
            log.debug("disconnecting the MQTT client: {}", MqttProbe.describe(e));
        }
        try {
            old.close(true);
        } catch (MqttException e) {
            log.debug("closing the MQTT client: {}", MqttProbe.describe(e));
        }
    }

    @Override
    public void stop() {
        stopping = true;
        MqttAsyncClient current = client;
        if (current != null) {
            discard(current);
        }
    }
}
