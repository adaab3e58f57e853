package dev.latchkey.toolkit.pessimistic;

import java.time.Duration;
import java.util.Objects;

/** What to do when a row is already locked by another transaction. */
public sealed interface WaitPolicy {

    /** Wait as long as the database's own setting says. */
    static WaitPolicy databaseDefault() {
        return DatabaseDefault.INSTANCE;
    }

    /** Fail at once ({@code NOWAIT}). */
    static WaitPolicy noWait() {
        return NoWait.INSTANCE;
    }

    /** Leave locked rows out of the result ({@code SKIP LOCKED}). */
    static WaitPolicy skipLocked() {
        return SkipLocked.INSTANCE;
    }

    /**
     * Wait at most this long for each row (zero means {@link #noWait()}). MySQL and MariaDB count lock
     * waits in whole seconds, so there the bound is rounded up to the next second.
     */
    static WaitPolicy atMost(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("a lock wait cannot be negative: " + timeout);
        }
        return timeout.isZero() ? noWait() : new Bounded(timeout);
    }

    enum DatabaseDefault implements WaitPolicy { INSTANCE }

    enum NoWait implements WaitPolicy { INSTANCE }

    enum SkipLocked implements WaitPolicy { INSTANCE }

    record Bounded(Duration timeout) implements WaitPolicy {
        public Bounded {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("a bounded wait must be positive: " + timeout);
            }
        }
    }
}
