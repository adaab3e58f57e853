package dev.latchkey.toolkit.optimistic;

import dev.latchkey.toolkit.internal.Identifiers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One compare-and-set update of one row, built fluently and run with {@link #execute(Connection)}.
 * Obtained from {@link OptimisticTable#update(Object)}.
 *
 * <pre>{@code
 * items.update(42L).expectVersion(7).set("stock", 0).execute(connection);     // version CAS
 * items.update(42L).add("stock", -1).when(Guard.greaterThan("stock", 0)).execute(connection); // guarded
 * }</pre>
 */
public final class CasUpdate {

    /** A column assignment: either {@code column = value} or {@code column = column + delta}. */
    record Assignment(String column, Object value, boolean increment) {
    }

    private final OptimisticTable table;
    private final Object key;
    private final List<Assignment> assignments = new ArrayList<>();
    private Object expectedVersion;
    private Guard guard;

    CasUpdate(OptimisticTable table, Object key) {
        this.table = table;
        this.key = Objects.requireNonNull(key, "key must not be null");
    }

    /** Sets a column to a value (which may be null). */
    public CasUpdate set(String column, Object value) {
        Identifiers.require("column name", column);
        table.checkAssignable(column);
        assignments.add(new Assignment(column, value, false));
        return this;
    }

    /** Adds a delta to a numeric column, in the database: {@code column = column + delta}. */
    public CasUpdate add(String column, Number delta) {
        Identifiers.require("column name", column);
        table.checkAssignable(column);
        assignments.add(new Assignment(column, Objects.requireNonNull(delta, "delta"), true));
        return this;
    }

    /** Applies only if the row's version column still holds this value. */
    public CasUpdate expectVersion(Object version) {
        table.requireVersionColumn();
        this.expectedVersion = table.normalizeVersion(Objects.requireNonNull(version, "expected version must not be null"));
        return this;
    }

    /** Applies only if the row satisfies the guard (combined with any earlier guard by AND). */
    public CasUpdate when(Guard guard) {
        Objects.requireNonNull(guard, "guard");
        this.guard = this.guard == null ? guard : this.guard.and(guard);
        return this;
    }

    /** Runs the update on the caller's connection (and so in the caller's transaction, if any). */
    public CasOutcome execute(Connection connection) throws SQLException {
        return table.execute(connection, this);
    }

    Object key() {
        return key;
    }

    List<Assignment> assignments() {
        return assignments;
    }

    Object expectedVersion() {
        return expectedVersion;
    }

    Guard guard() {
        return guard;
    }
}
