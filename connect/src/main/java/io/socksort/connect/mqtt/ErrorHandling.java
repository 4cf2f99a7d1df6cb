package io.socksort.connect.mqtt;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka Connect's {@code errors.*} settings, applied to MQTT messages that cannot become a
 * Kafka record.
 *
 * The worker applies {@code errors.tolerance} to converter and transform failures only.
 * A record the producer refuses — over {@code max.request.size}, say — is skipped under
 * {@code errors.tolerance=all} only without exactly-once source support; with it, the
 * failed send aborts the transaction and fails the task, whatever the tolerance. The
 * broker then redelivers the same message to the restarted task, and the bridge stops for
 * good. So the task checks what it can before producing (the payload against
 * {@code mqtt.max.payload.bytes}) and applies the same settings itself:
 * {@code none} fails the task, {@code all} logs the message when {@code errors.log.enable}
 * is set and sends it to {@code errors.deadletterqueue.topic.name} when one is set (in the
 * same transaction as the records around it), else drops it. Source connectors have no
 * dead letter queue in the framework; these keys mean here what they mean for a sink.
 */
final class ErrorHandling {
    private static final Logger log = LoggerFactory.getLogger(ErrorHandling.class);

    // The worker defines and validates these for every connector; the task only reads them.
    static final String TOLERANCE = "errors.tolerance";
    static final String LOG_ENABLE = "errors.log.enable";
    static final String LOG_INCLUDE_MESSAGES = "errors.log.include.messages";
    static final String TOLERANCE_NONE = "none";
    static final String TOLERANCE_ALL = "all";

    /** Connect's dead letter queue context headers (DeadLetterQueueReporter's names). */
    static final String HEADER_PREFIX = "__connect.errors.";
    /** The full size of a payload a dead letter record holds only the start of. */
    static final String PAYLOAD_BYTES_HEADER = "mqtt.payload.bytes";
    static final String STAGE = "KAFKA_PRODUCE";
    /** How much of a payload the log shows with errors.log.include.messages. */
    static final int LOGGED_PAYLOAD_CHARS = 200;

    private static final ConfigDef FRAMEWORK_KEYS = new ConfigDef()
        .define(TOLERANCE, Type.STRING, TOLERANCE_NONE, ConfigDef.ValidString.in(TOLERANCE_NONE, TOLERANCE_ALL),
                Importance.MEDIUM, "Connect's error tolerance.")
        .define(LOG_ENABLE, Type.BOOLEAN, false, Importance.MEDIUM, "Log tolerated errors.")
        .define(LOG_INCLUDE_MESSAGES, Type.BOOLEAN, false, Importance.LOW, "Log the failed message too.");

    private final boolean tolerateAll;
    private final boolean logErrors;
    private final boolean logMessages;
    private final String deadLetterTopic;
    private final boolean contextHeaders;
    private final String connectorName;
    private final String taskId;
    private long rejected;

    ErrorHandling(Map<String, String> props, MqttSourceConnectorConfig config, String connectorName, String taskId) {
        AbstractConfig framework = new AbstractConfig(FRAMEWORK_KEYS, props, false);
        this.tolerateAll = TOLERANCE_ALL.equals(framework.getString(TOLERANCE));
        this.logErrors = framework.getBoolean(LOG_ENABLE);
        this.logMessages = framework.getBoolean(LOG_INCLUDE_MESSAGES);
        this.deadLetterTopic = config.deadLetterTopic();
        this.contextHeaders = config.deadLetterContextHeaders();
        this.connectorName = connectorName;
        this.taskId = taskId;
    }

    /**
     * A message that cannot be produced, for {@code reason}: throws under
     * {@code errors.tolerance=none}; otherwise logs it if asked and returns the dead letter
     * topic to send it to, or null when it is to be dropped.
     */
    String reject(String reason, byte[] payload) {
        if (!tolerateAll) {
            throw new ConnectException(reason + " (" + TOLERANCE + "=" + TOLERANCE_NONE
                + "; set it to all to skip such messages)");
        }
        rejected++;
        if (logErrors) {
            String where = deadLetterTopic != null ? "sent to dead letter topic " + deadLetterTopic : "dropped";
            String shown = logMessages ? "; payload starts: " + head(payload) : "";
            log.error("{}: {} ({}=all; {} rejected so far){}", where, reason, TOLERANCE, rejected, shown);
        }
        return deadLetterTopic;
    }

    long rejected() {
        return rejected;
    }

    /** Headers of a dead letter record: the full payload size, and Connect's context if enabled. */
    void describe(ConnectHeaders headers, String mqttTopic, String reason, int payloadBytes) {
        headers.addInt(PAYLOAD_BYTES_HEADER, payloadBytes);
        if (!contextHeaders) {
            return;
        }
        headers.addString(HEADER_PREFIX + "topic", mqttTopic);
        headers.addString(HEADER_PREFIX + "connector.name", connectorName);
        headers.addString(HEADER_PREFIX + "task.id", taskId);
        headers.addString(HEADER_PREFIX + "stage", STAGE);
        headers.addString(HEADER_PREFIX + "class.name", MqttSourceTask.class.getName());
        // The error the producer would have met had the record been sent.
        headers.addString(HEADER_PREFIX + "exception.class.name", RecordTooLargeException.class.getName());
        headers.addString(HEADER_PREFIX + "exception.message", reason);
    }

    private static String head(byte[] payload) {
        String text = new String(payload, 0, Math.min(payload.length, LOGGED_PAYLOAD_CHARS * 4), StandardCharsets.UTF_8);
        return text.length() <= LOGGED_PAYLOAD_CHARS ? text : text.substring(0, LOGGED_PAYLOAD_CHARS) + "…";
    }
}
