package dev.latchkey.toolkit.pessimistic;

import dev.latchkey.toolkit.internal.Identifiers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A request to lock rows by key, built fluently and run with {@link #execute(Connection)} inside the
 * caller's transaction. Obtained from {@link RowLocker#lock(Object...)}.
 *
 * <pre>{@code
 * LockOutcome outcome = locker.lock(7L, 3L).waitAtMost(Duration.ofMillis(500)).columns("stock").execute(c);
 * }</pre>
 */
public final class LockRequest {

    private final RowLocker locker;
    private final List<Object> keys;
    private LockMode mode = LockMode.UPDATE;
    private WaitPolicy wait = WaitPolicy.databaseDefault();
    private final List<String> columns = new ArrayList<>();
    private String operation = "lock";

    LockRequest(RowLocker locker, List<Object> keys) {
        this.locker = locker;
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("at least one key is needed");
        }
        for (Object key : keys) {
            Objects.requireNonNull(key, "keys must not contain null");
        }
        this.keys = List.copyOf(keys);
    }

    public LockRequest mode(LockMode mode) {
        this.mode = Objects.requireNonNull(mode, "mode");
        return this;
    }

    /** Shorthand for {@code mode(LockMode.SHARE)}. */
    public LockRequest forShare() {
        return mode(LockMode.SHARE);
    }

    public LockRequest waitPolicy(WaitPolicy wait) {
        this.wait = Objects.requireNonNull(wait, "wait policy");
        return this;
    }

    public LockRequest noWait() {
        return waitPolicy(WaitPolicy.noWait());
    }

    public LockRequest skipLocked() {
        return waitPolicy(WaitPolicy.skipLocked());
    }

    public LockRequest waitAtMost(java.time.Duration timeout) {
        return waitPolicy(WaitPolicy.atMost(timeout));
    }

    /** Columns to read from the locked rows (the key column is always read). */
    public LockRequest columns(String... names) {
        for (String name : names) {
            Identifiers.require("column name", name);
            locker.checkColumn(name);
            columns.add(name);
        }
        return this;
    }

    /** The operation name used for metrics. */
    public LockRequest operation(String name) {
        this.operation = Objects.requireNonNull(name, "operation");
        return this;
    }

    public LockOutcome execute(Connection connection) throws SQLException {
        return locker.execute(connection, this);
    }

    List<Object> keys() {
        return keys;
    }

    LockMode mode() {
        return mode;
    }

    WaitPolicy waitPolicy() {
        return wait;
    }

    List<String> columns() {
        return columns;
    }

    String operation() {
        return operation;
    }
}
