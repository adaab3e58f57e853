package dev.latchkey.toolkit.failure;

/**
 * The kinds of contention a concurrent write can meet. Each is an expected outcome under load,
 * not a bug; {@link #retryable()} says whether running the unit of work again may succeed.
 */
public enum Contention {
    /** An optimistic compare-and-set found another version: someone else wrote first. */
    CONFLICT(true, false),
    /** {@code NOWAIT} (or a try-lock) found the lock held by another transaction. */
    LOCK_NOT_AVAILABLE(true, false),
    /** A bounded lock wait ran out before the lock was free. */
    LOCK_TIMEOUT(true, false),
    /** The database broke a deadlock by aborting this transaction. */
    DEADLOCK(true, true),
    /** The database could not serialize this transaction with a concurrent one. */
    SERIALIZATION_FAILURE(true, true);

    private final boolean retryable;
    private final boolean abortsTransaction;

    Contention(boolean retryable, boolean abortsTransaction) {
        this.retryable = retryable;
        this.abortsTransaction = abortsTransaction;
    }

    /** Whether a fresh attempt of the whole unit of work may succeed. */
    public boolean retryable() {
        return retryable;
    }

    /**
     * Whether the database has rolled back (or, on PostgreSQL, poisoned) the whole transaction,
     * as opposed to only the statement that met the contention.
     */
    public boolean abortsTransaction() {
        return abortsTransaction;
    }
}
