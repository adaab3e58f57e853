package dev.latchkey.toolkit.fencing;

import dev.latchkey.toolkit.optimistic.CasOutcome;

/** What a fenced write did. */
public sealed interface FenceOutcome {

    Object key();

    default boolean accepted() {
        return this instanceof Accepted;
    }

    /** Returns the outcome when accepted; otherwise throws {@link FencedOffException} (not retryable). */
    default Accepted orThrow() {
        return switch (this) {
            case Accepted a -> a;
            case Fenced f -> throw new FencedOffException(f);
            case Gone g -> throw new CasOutcome.WriteRefusedException(new CasOutcome.Gone(g.key()), "no row with key " + g.key());
        };
    }

    /** The write went in and the row's fence now holds {@code token}. */
    record Accepted(Object key, long token) implements FenceOutcome {
    }

    /** The row has already accepted a newer token: the caller's lock is no longer the current one. */
    record Fenced(Object key, long token, long currentFence) implements FenceOutcome {
    }

    /** No row has that key. */
    record Gone(Object key) implements FenceOutcome {
    }

    /** A write refused because a newer lock holder has written since. Retrying will not help. */
    final class FencedOffException extends RuntimeException {
        private final transient Fenced outcome;

        public FencedOffException(Fenced outcome) {
            super("token " + outcome.token() + " is older than the fence " + outcome.currentFence() + " of row " + outcome.key());
            this.outcome = outcome;
        }

        public Fenced outcome() {
            return outcome;
        }
    }
}
