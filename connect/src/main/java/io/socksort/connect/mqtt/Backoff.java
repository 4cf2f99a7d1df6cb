package io.socksort.connect.mqtt;

/**
 * When to try again after failures: at once the first time, then after a wait that doubles
 * from {@code minMs} up to {@code maxMs}; a success starts over. Not thread-safe: one caller.
 */
final class Backoff {
    private final long minMs;
    private final long maxMs;
    private long waitMs;
    private long dueAt;

    Backoff(long minMs, long maxMs) {
        if (minMs <= 0 || maxMs < minMs) {
            throw new IllegalArgumentException("backoff needs 0 < min <= max, got " + minMs + ", " + maxMs);
        }
        this.minMs = minMs;
        this.maxMs = maxMs;
    }

    boolean due(long nowMs) {
        return nowMs >= dueAt;
    }

    /** Records a failure at {@code nowMs}; returns how long until the next attempt is due. */
    long failed(long nowMs) {
        waitMs = waitMs == 0 ? minMs : Math.min(maxMs, waitMs * 2);
        dueAt = nowMs + waitMs;
        return waitMs;
    }

    void succeeded() {
        waitMs = 0;
        dueAt = 0;
    }
}
