package io.socksort.connect.mqtt;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Recognises messages Kafka already has, using each device's {@code (seq, ts)} as the
 * Connect source offset.
 *
 * MQTT QoS 1 redelivers every message the broker sent but did not see acknowledged; after
 * a worker crash those include messages whose records (and, with exactly-once source
 * support, whose offsets, in the same transaction) are already in Kafka. A message is a
 * redelivery when both its {@code seq} and its {@code ts} are at or below the last ones
 * seen from its device. Requiring both keeps a camera that restarted — {@code seq} back
 * at 0, but a later clock — from being mistaken for one. The source partition is the
 * pair (MQTT topic, device): each topic is read by exactly one task, so no two tasks ever
 * write offsets for the same partition.
 */
final class RedeliveryFilter {
    static final String TOPIC = "mqtt.topic";
    static final String DEVICE = "device";
    static final String SEQ = "seq";
    static final String TS = "ts";

    /** Last (seq, ts) per partition: from this task's own records, else from Connect's offset store. */
    private final Map<Map<String, Object>, long[]> last = new HashMap<>();
    private final Function<Map<String, Object>, Map<String, Object>> committedOffset;
    private long redeliveries;

    /** @param committedOffset reads the committed source offset of a partition (null if none) */
    RedeliveryFilter(Function<Map<String, Object>, Map<String, Object>> committedOffset) {
        this.committedOffset = committedOffset;
    }

    /**
     * Connect finds a committed offset by the serialized bytes of its partition map, and a
     * map serializes in iteration order. {@code Map.of} iterates in an order that changes
     * from one JVM start to the next, so a restarted worker would look up different bytes
     * and miss the offset; a LinkedHashMap keeps the order fixed.
     */
    static Map<String, Object> partition(String topic, String device) {
        Map<String, Object> partition = new LinkedHashMap<>();
        partition.put(TOPIC, topic);
        partition.put(DEVICE, device);
        return partition;
    }

    static Map<String, Object> offset(long seq, long ts) {
        Map<String, Object> offset = new LinkedHashMap<>();
        offset.put(SEQ, seq);
        offset.put(TS, ts);
        return offset;
    }

    /** True if the message is one Kafka already has; otherwise records it as the device's latest. */
    boolean isRedelivery(String topic, PayloadFields fields) {
        Map<String, Object> partition = partition(topic, fields.device);
        long[] previous = last.containsKey(partition) ? last.get(partition) : committed(partition);
        if (previous != null && fields.seq <= previous[0] && fields.ts <= previous[1]) {
            redeliveries++;
            return true;
        }
        last.put(partition, new long[] {fields.seq, fields.ts});
        return false;
    }

    long redeliveries() {
        return redeliveries;
    }

    private long[] committed(Map<String, Object> partition) {
        Map<String, Object> offset = committedOffset.apply(partition);
        if (offset == null || !(offset.get(SEQ) instanceof Number seq) || !(offset.get(TS) instanceof Number ts)) {
            return null;
        }
        return new long[] {seq.longValue(), ts.longValue()};
    }
}
