package dev.latchkey.toolkit.pessimistic;

import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.ContentionException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** What a row-lock request got. Contention is a value here; only real trouble is thrown. */
public sealed interface LockOutcome {

    default boolean locked() {
        return this instanceof Locked;
    }

    /**
     * Returns the rows when locked; otherwise throws a {@link ContentionException} of the matching
     * kind, which a {@link dev.latchkey.toolkit.retry.Transactor} retries.
     */
    default Locked orThrow() {
        return switch (this) {
            case Locked l -> l;
            case Failed f -> throw f.toException();
        };
    }

    /**
     * The rows are locked until the transaction ends. {@code rows} holds the locked rows in key
     * order with the columns asked for; {@code missing} the keys with no row (or, under
     * {@code SKIP LOCKED}, rows that were skipped because someone else holds them).
     */
    record Locked(List<Map<String, Object>> rows, List<Object> missing, Duration waited) implements LockOutcome {

        public List<Object> keys(String keyColumn) {
            return rows.stream().map(r -> r.get(keyColumn)).toList();
        }
    }

    /**
     * The lock was not taken: {@code contention} says why. Unless it is a deadlock or
     * serialization failure, the caller's transaction is still usable (on PostgreSQL the toolkit
     * wraps NOWAIT and bounded waits in a savepoint for that).
     */
    record Failed(Contention contention, Duration waited, SQLException cause) implements LockOutcome {

        public boolean transactionAborted() {
            return contention.abortsTransaction();
        }

        /** The exception {@link #orThrow()} throws for this outcome: a transactor retries it. */
        public ContentionException toException() {
            return new ContentionException(contention, describe(), cause);
        }

        private String describe() {
            return switch (contention) {
                case LOCK_NOT_AVAILABLE -> "the row is locked by another transaction (NOWAIT)";
                case LOCK_TIMEOUT -> "gave up waiting for the row lock after " + waited.toMillis() + " ms";
                case DEADLOCK -> "the database aborted this transaction to break a deadlock";
                case SERIALIZATION_FAILURE -> "the transaction could not be serialized with a concurrent one";
                case CONFLICT -> "conflict";
            };
        }
    }
}
