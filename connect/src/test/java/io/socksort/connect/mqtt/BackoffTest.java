package io.socksort.connect.mqtt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackoffTest {
    private final Backoff backoff = new Backoff(500, 5_000);

    @Test
    void theFirstAttemptIsDueAtOnce() {
        assertTrue(backoff.due(0));
    }

    @Test
    void aFailureMakesTheNextAttemptWaitTheShortestWait() {
        assertEquals(500, backoff.failed(1_000));
        assertFalse(backoff.due(1_499));
        assertTrue(backoff.due(1_500));
    }

    @Test
    void eachFurtherFailureDoublesTheWaitUpToTheLongest() {
        long[] waits = new long[6];
        for (int i = 0; i < waits.length; i++) {
            waits[i] = backoff.failed(0);
        }
        assertArrayEquals(new long[] {500, 1_000, 2_000, 4_000, 5_000, 5_000}, waits);
    }

    @Test
    void aSuccessMakesTheNextAttemptDueAtOnceAndStartsTheWaitsOver() {
        backoff.failed(0);
        backoff.failed(0);
        backoff.succeeded();
        assertTrue(backoff.due(0));
        assertEquals(500, backoff.failed(0));
    }

    @Test
    void aLongestWaitShorterThanTheShortestIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Backoff(500, 100));
    }
}
