package dev.latchkey.toolkit.optimistic;

import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.ContentionException;

/**
 * What a compare-and-set update or delete did. A zero-row write is never a silent success: it is
 * {@link Stale} (the row exists with another version), {@link Rejected} (the row exists but the
 * guard predicate is false) or {@link Gone} (no such row).
 */
public sealed interface CasOutcome {

    Object key();

    default boolean applied() {
        return this instanceof Applied;
    }

    /**
     * Returns the outcome when it was applied; otherwise throws: {@link StaleVersionException} for a
     * stale version (a {@link Contention#CONFLICT}, which a {@link dev.latchkey.toolkit.retry.Transactor}
     * retries), {@link WriteRefusedException} for a refused guard or a missing row (not retried).
     */
    default Applied orThrow() {
        return switch (this) {
            case Applied a -> a;
            case Stale s -> throw new StaleVersionException(s);
            case Rejected r -> throw new WriteRefusedException(r, "the guard is false for row " + r.key());
            case Gone g -> throw new WriteRefusedException(g, "no row with key " + g.key());
        };
    }

    /** The write changed the row; {@code newVersion} is the version it now has, or null where it is unknown. */
    record Applied(Object key, Object newVersion) implements CasOutcome {
    }

    /**
     * The row has another version than expected. {@code currentVersion} is what the database showed,
     * or null where only an older snapshot of the row was visible (MySQL's REPEATABLE READ).
     */
    record Stale(Object key, Object expectedVersion, Object currentVersion) implements CasOutcome {
    }

    /** The row exists, but the guard predicate was false for it (for instance {@code stock > 0} at stock 0). */
    record Rejected(Object key, Object currentVersion) implements CasOutcome {
    }

    /** There is no row with that key (never was, or was deleted). */
    record Gone(Object key) implements CasOutcome {
    }

    /** A stale version turned into an exception, so that retry can see it. */
    final class StaleVersionException extends ContentionException {
        private final transient Stale outcome;

        public StaleVersionException(Stale outcome) {
            super(Contention.CONFLICT, "row " + outcome.key() + " is at version " + outcome.currentVersion()
                    + ", not the expected " + outcome.expectedVersion());
            this.outcome = outcome;
        }

        public Stale outcome() {
            return outcome;
        }
    }

    /** A write refused for a reason another attempt will not change (guard false, row gone). */
    final class WriteRefusedException extends RuntimeException {
        private final transient CasOutcome outcome;

        public WriteRefusedException(CasOutcome outcome, String message) {
            super(message);
            this.outcome = outcome;
        }

        public CasOutcome outcome() {
            return outcome;
        }
    }
}
