package dev.latchkey.toolkit.jpa;

import dev.latchkey.toolkit.fencing.FenceOutcome;
import jakarta.persistence.EntityNotFoundException;

/** What a fenced entity write did. */
public sealed interface FencedEntityOutcome<T> {

    default boolean accepted() {
        return this instanceof Accepted;
    }

    /**
     * Returns the entity when the write was accepted; otherwise throws a
     * {@link FenceOutcome.FencedOffException} (not retryable: a newer holder has written) or an
     * {@link EntityNotFoundException}.
     */
    default T orThrow() {
        return switch (this) {
            case Accepted<T> a -> a.entity();
            case Fenced<T> f -> throw new FenceOutcome.FencedOffException(new FenceOutcome.Fenced(f.id(), f.token(), f.currentFence()));
            case Gone<T> g -> throw new EntityNotFoundException("no entity with id " + g.id());
        };
    }

    /** The token was current: the row records it, and the change was applied to {@code entity}. */
    record Accepted<T>(T entity, long token) implements FencedEntityOutcome<T> {
    }

    /** The row has accepted a newer token: the caller's lock is no longer the current one. Nothing changed. */
    record Fenced<T>(Object id, long token, long currentFence) implements FencedEntityOutcome<T> {
    }

    /** No row has that id. */
    record Gone<T>(Object id) implements FencedEntityOutcome<T> {
    }
}
