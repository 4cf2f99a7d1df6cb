package io.socksort.connect.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class PayloadFieldsTest {
    private static PayloadFields parse(String json) {
        return PayloadFields.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsDeviceSeqAndTsOfAPrediction() {
        PayloadFields f = parse("{\"image\":\"Google\",\"probability\":97.3,\"ts\":1732186800123,"
                                + "\"device\":\"deeplens-1\",\"seq\":42,\"top\":[{\"label\":\"Google\",\"probability\":97.3}]}");
        assertEquals("deeplens-1", f.device);
        assertEquals(42L, f.seq);
        assertEquals(1732186800123L, f.ts);
        assertTrue(f.sequenced());
    }

    @Test
    void ignoresFieldsOfTheSameNameInsideNestedValues() {
        PayloadFields f = parse("{\"top\":[{\"seq\":7,\"device\":\"inner\"}],\"meta\":{\"ts\":1},\"seq\":3}");
        assertEquals(3L, f.seq);
        assertNull(f.device);
        assertNull(f.ts);
        assertFalse(f.sequenced());
    }

    @Test
    void decodesEscapesInTheDeviceName() {
        assertEquals("cam \"A\"\u00e9", parse("{\"device\":\"cam \\\"A\\\"\\u00e9\"}").device);
    }

    @Test
    void toleratesWhitespaceBetweenTokens() {
        PayloadFields f = parse(" { \"device\" : \"d\" , \"seq\" : 1 , \"ts\" : 2 } ");
        assertTrue(f.sequenced());
    }

    @Test
    void treatsNonIntegerOrNegativeNumbersAsAbsent() {
        assertNull(parse("{\"seq\":1.5}").seq);
        assertNull(parse("{\"seq\":-1}").seq);
        assertNull(parse("{\"seq\":\"12\"}").seq);
        assertNull(parse("{\"device\":12}").device);
    }

    @Test
    void malformedPayloadsYieldNoFieldsInsteadOfFailing() {
        for (String bad : new String[] {"", "not json", "[1,2]", "{\"seq\":1", "{\"seq\":1} trailing", "{\"a\":}"}) {
            assertFalse(parse(bad).sequenced(), bad);
            assertNull(parse(bad).seq, bad);
        }
        assertFalse(PayloadFields.parse(new byte[] {(byte) 0xff, 0x00, 0x7b}).sequenced());
    }
}
