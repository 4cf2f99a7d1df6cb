package io.socksort.connect.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class RedeliveryFilterTest {
    private final Map<Map<String, Object>, Map<String, Object>> committed = new HashMap<>();
    private final RedeliveryFilter filter = new RedeliveryFilter(committed::get);

    private static PayloadFields message(String device, long seq, long ts) {
        String json = "{\"device\":\"" + device + "\",\"seq\":" + seq + ",\"ts\":" + ts + "}";
        return PayloadFields.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aNewDevicesFirstMessageIsNew() {
        assertFalse(filter.isRedelivery("sockfound", message("cam", 0, 1000)));
    }

    @Test
    void aRepeatOfTheLastMessageIsARedelivery() {
        filter.isRedelivery("sockfound", message("cam", 5, 1000));
        assertTrue(filter.isRedelivery("sockfound", message("cam", 5, 1000)));
    }

    @Test
    void anEarlierMessageIsARedelivery() {
        filter.isRedelivery("sockfound", message("cam", 5, 1000));
        assertTrue(filter.isRedelivery("sockfound", message("cam", 3, 900)));
    }

    @Test
    void aRestartedCameraCountingFromZeroAgainIsNotARedelivery() {
        filter.isRedelivery("sockfound", message("cam", 500, 1000));
        assertFalse(filter.isRedelivery("sockfound", message("cam", 0, 2000)));
    }

    @Test
    void devicesAreTrackedSeparately() {
        filter.isRedelivery("sockfound", message("a", 10, 1000));
        assertFalse(filter.isRedelivery("sockfound", message("b", 1, 100)));
    }

    @Test
    void theSameDeviceOnAnotherTopicIsTrackedSeparately() {
        filter.isRedelivery("sockfound", message("cam", 10, 1000));
        assertFalse(filter.isRedelivery("other", message("cam", 1, 100)));
    }

    @Test
    void theCommittedOffsetCountsAfterARestart() {
        committed.put(RedeliveryFilter.partition("sockfound", "cam"), Map.of("seq", 99L, "ts", 5000L));
        assertTrue(filter.isRedelivery("sockfound", message("cam", 99, 5000)));
        assertFalse(filter.isRedelivery("sockfound", message("cam", 100, 5001)));
    }

    @Test
    void integerOffsetsFromTheStoreAreAccepted() {
        committed.put(RedeliveryFilter.partition("sockfound", "cam"), Map.of("seq", 7, "ts", 70));
        assertTrue(filter.isRedelivery("sockfound", message("cam", 7, 70)));
    }

    @Test
    void partitionAndOffsetMapsIterateInAFixedOrder() {
        // Their serialized bytes are the offset store's lookup key, across JVM restarts.
        assertEquals(List.of("mqtt.topic", "device"), List.copyOf(RedeliveryFilter.partition("t", "d").keySet()));
        assertEquals(List.of("seq", "ts"), List.copyOf(RedeliveryFilter.offset(1, 2).keySet()));
    }

    @Test
    void redeliveriesAreCounted() {
        filter.isRedelivery("sockfound", message("cam", 2, 20));
        filter.isRedelivery("sockfound", message("cam", 1, 10));
        filter.isRedelivery("sockfound", message("cam", 2, 20));
        assertEquals(2, filter.redeliveries());
    }
}
