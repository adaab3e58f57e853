package dev.latchkey.toolkit.jpa;

import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.pessimistic.LockOutcome;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.NoSuchElementException;
import dev.latchkey.toolkit.failure.ContentionException;

/** What an entity row-lock request got. Contention is a value here; only real trouble is thrown. */
public sealed interface EntityLockOutcome<T> {

    default boolean locked() {
        return this instanceof Locked;
    }

    /** Returns the locked entities; otherwise throws a {@link ContentionException}, which a transactor retries. */
    default Locked<T> orThrow() {
        return switch (this) {
            case Locked<T> l -> l;
            case Failed<T> f -> throw f.rows().toException();
        };
    }

    /**
     * The rows are locked until the transaction ends, and {@code entities} (in id order) hold what
     * the rows held once locked: entities already in the persistence context were refreshed.
     * {@code missing} lists the ids with no row (and, under {@code SKIP LOCKED}, those skipped).
     */
    record Locked<T>(List<T> entities, List<Object> missing, Duration waited) implements EntityLockOutcome<T> {

        /** The one entity locked; fails when there is none (a missing id, or a skipped row). */
        public T single() {
            if (entities.size() != 1) {
                throw new NoSuchElementException(entities.isEmpty()
                        ? "no entity was locked (missing: " + missing + ")" : entities.size() + " entities were locked, not one");
            }
            return entities.get(0);
        }
    }

    /**
     * The lock was not taken: {@code rows} is the row locker's answer, which says why. Unless it is
     * a deadlock or a serialization failure, the transaction is still usable and may commit what it did.
     */
    record Failed<T>(LockOutcome.Failed rows) implements EntityLockOutcome<T> {

        public Contention contention() {
            return rows.contention();
        }

        public Duration waited() {
            return rows.waited();
        }

        public SQLException cause() {
            return rows.cause();
        }

        public boolean transactionAborted() {
            return rows.transactionAborted();
        }
    }
}
