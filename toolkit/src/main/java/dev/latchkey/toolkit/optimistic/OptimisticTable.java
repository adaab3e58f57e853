package dev.latchkey.toolkit.optimistic;

import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.TableSpec.VersionKind;
import dev.latchkey.toolkit.internal.ResolvedTable;
import dev.latchkey.toolkit.internal.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jooq.Condition;
import org.jooq.Field;
import org.jooq.impl.DSL;

/**
 * Optimistic locking on one table: compare-and-set updates and deletes on a version column
 * (an integer counter or a timestamp) and/or guard predicates, single or batched.
 *
 * <p>How an update is decided:
 * <ol>
 *   <li>{@code UPDATE t SET ..., version = version + 1 WHERE key = ? AND version = ? [AND guard]}
 *       (a timestamp version is set to a later instant instead);</li>
 *   <li>one row changed: {@link CasOutcome.Applied}, with the new version where it is known;</li>
 *   <li>no row changed: the row's version is read in the same transaction to tell
 *       {@link CasOutcome.Stale} (reported with the version found) from {@link CasOutcome.Rejected}
 *       (guard false) and {@link CasOutcome.Gone} (no row).</li>
 * </ol>
 * SQL is rendered by jOOQ once per statement shape; every value is a bound parameter.
 */
public final class OptimisticTable {

    private final ResolvedTable table;
    private final TableSpec spec;
    private final Sql sql;
    private final String keyColumn;
    private final String versionColumn;

    public OptimisticTable(ResolvedTable table, TableSpec spec, Sql sql) {
        this.table = table;
        this.spec = spec;
        this.sql = sql;
        this.keyColumn = table.column(spec.keyColumn());
        this.versionColumn = spec.versionColumn() == null ? null : table.column(spec.versionColumn());
    }

    /** Starts a compare-and-set update of the row with this key. */
    public CasUpdate update(Object key) {
        return new CasUpdate(this, key);
    }

    /** Deletes the row only if it still has the expected version. */
    public CasOutcome delete(Connection connection, Object key, Object expectedVersion) throws SQLException {
        requireVersionColumn();
        Objects.requireNonNull(key, "key must not be null");
        Objects.requireNonNull(expectedVersion, "expected version must not be null");
        Object expected = normalizeVersion(expectedVersion);
        String statement = sql.cached("D|v", () -> sql.dsl().deleteFrom(table.table())
                .where(key().eq(Sql.placeholder()).and(version().eq(Sql.placeholder()))));
        int count;
        try (PreparedStatement ps = sql.prepare(connection, statement, List.of(key, expected))) {
            count = ps.executeUpdate();
        }
        return count == 1 ? new CasOutcome.Applied(key, null) : explainMiss(connection, key, expected, null);
    }

    /** Deletes the row only if it satisfies the guard. */
    public CasOutcome deleteWhen(Connection connection, Object key, Guard guard) throws SQLException {
        Objects.requireNonNull(key, "key must not be null");
        Objects.requireNonNull(guard, "guard");
        Condition condition = guard.condition(table); // validates the guard's columns before any SQL
        String statement = sql.cached("D|g" + guard.shape(), () -> sql.dsl().deleteFrom(table.table())
                .where(key().eq(Sql.placeholder()).and(condition)));
        List<Object> values = new ArrayList<>();
        values.add(key);
        values.addAll(guard.values());
        int count;
        try (PreparedStatement ps = sql.prepare(connection, statement, values)) {
            count = ps.executeUpdate();
        }
        return count == 1 ? new CasOutcome.Applied(key, null) : explainMiss(connection, key, null, guard);
    }

    /** The row's current version, if the row exists. */
    public Optional<Object> currentVersion(Connection connection, Object key) throws SQLException {
        requireVersionColumn();
        Object version = readVersion(connection, Objects.requireNonNull(key, "key must not be null"));
        return version == NO_ROW ? Optional.empty() : Optional.of(version);
    }

    /**
     * Runs several updates as JDBC batches (one per statement shape) and reports an outcome per
     * update, in the order given. Outcomes are decided as for a single update.
     */
    public List<CasOutcome> executeBatch(Connection connection, List<CasUpdate> updates) throws SQLException {
        Map<String, List<Integer>> byStatement = new LinkedHashMap<>();
        List<Prepared> prepared = new ArrayList<>();
        for (int i = 0; i < updates.size(); i++) {
            CasUpdate u = updates.get(i);
            if (u.assignments().isEmpty()) {
                throw new IllegalArgumentException("update " + i + " of the batch sets no column");
            }
            Prepared p = prepare(u);
            prepared.add(p);
            byStatement.computeIfAbsent(p.sql(), s -> new ArrayList<>()).add(i);
        }
        CasOutcome[] outcomes = new CasOutcome[updates.size()];
        for (Map.Entry<String, List<Integer>> group : byStatement.entrySet()) {
            try (PreparedStatement ps = connection.prepareStatement(group.getKey())) {
                for (int index : group.getValue()) {
                    sql.bind(ps, prepared.get(index).values());
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                for (int j = 0; j < counts.length; j++) {
                    int index = group.getValue().get(j);
                    if (counts[j] == Statement.SUCCESS_NO_INFO) {
                        throw new IllegalStateException("the JDBC driver did not report per-row update counts; "
                                + "turn off batch rewriting (e.g. MySQL rewriteBatchedStatements) for batched CAS");
                    }
                    outcomes[index] = decide(connection, updates.get(index), prepared.get(index), counts[j]);
                }
            }
        }
        return List.of(outcomes);
    }

    CasOutcome execute(Connection connection, CasUpdate update) throws SQLException {
        if (update.assignments().isEmpty()) {
            throw new IllegalArgumentException("the update sets no column: call set(...) or add(...)");
        }
        Prepared p = prepare(update);
        int count;
        try (PreparedStatement ps = sql.prepare(connection, p.sql(), p.values())) {
            count = ps.executeUpdate();
        }
        return decide(connection, update, p, count);
    }

    private CasOutcome decide(Connection connection, CasUpdate update, Prepared p, int count) throws SQLException {
        if (count == 1) {
            return new CasOutcome.Applied(update.key(), p.newVersion());
        }
        if (count > 1) {
            throw new IllegalStateException(count + " rows of " + spec + " have key " + update.key()
                    + "; the key column '" + keyColumn + "' must be unique");
        }
        return explainMiss(connection, update.key(), p.expected(), update.guard());
    }

    private record Prepared(String sql, List<Object> values, Object expected, Object newVersion) {
    }

    private Prepared prepare(CasUpdate update) {
        Guard guard = update.guard();
        Condition guardCondition = guard == null ? null : guard.condition(table);
        Object expected = update.expectedVersion() == null ? null : normalizeVersion(update.expectedVersion());
        Object newVersion = null;
        StringBuilder shape = new StringBuilder("U|");
        List<Object> values = new ArrayList<>();
        for (CasUpdate.Assignment a : update.assignments()) {
            shape.append(a.column()).append(a.increment() ? "+=," : "=,");
            values.add(a.value());
        }
        boolean timestamp = versionColumn != null && spec.versionKind() == VersionKind.TIMESTAMP;
        if (timestamp) {
            newVersion = nextTimestamp((Instant) expected);
            values.add(newVersion);
        } else if (versionColumn != null && expected != null) {
            newVersion = ((Number) expected).longValue() + 1;
        }
        values.add(update.key());
        if (expected != null) {
            values.add(expected);
        }
        if (guard != null) {
            values.addAll(guard.values());
        }
        shape.append("|v").append(expected != null).append("|g").append(guard == null ? "" : guard.shape());
        String statement = sql.cached(shape.toString(), () -> {
            Map<Field<?>, Object> set = new LinkedHashMap<>();
            for (CasUpdate.Assignment a : update.assignments()) {
                Field<Object> f = table.field(a.column());
                set.put(f, a.increment() ? f.plus(Sql.placeholder()) : Sql.placeholder());
            }
            if (versionColumn != null) {
                Field<Object> v = version();
                set.put(v, timestamp ? Sql.placeholder() : v.plus(DSL.inline(1)));
            }
            Condition where = key().eq(Sql.placeholder());
            if (expected != null) {
                where = where.and(version().eq(Sql.placeholder()));
            }
            if (guardCondition != null) {
                where = where.and(guardCondition);
            }
            return sql.dsl().update(table.table()).set(set).where(where);
        });
        return new Prepared(statement, values, expected, newVersion);
    }

    private static final Object NO_ROW = new Object();

    /** Reads the version (or, without a version column, just whether the row exists). */
    private Object readVersion(Connection connection, Object key) throws SQLException {
        String statement = sql.cached("R|v", () -> sql.dsl()
                .select(versionColumn != null ? version() : key()).from(table.table()).where(key().eq(Sql.placeholder())));
        try (PreparedStatement ps = sql.prepare(connection, statement, List.of(key)); ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return NO_ROW;
            }
            return versionColumn == null ? Boolean.TRUE : normalizeVersion(Sql.javaValue(rs.getObject(1)));
        }
    }

    private CasOutcome explainMiss(Connection connection, Object key, Object expected, Guard guard) throws SQLException {
        Object current = readVersion(connection, key);
        if (current == NO_ROW) {
            return new CasOutcome.Gone(key);
        }
        Object currentVersion = versionColumn == null ? null : current;
        if (expected != null && !expected.equals(currentVersion)) {
            return new CasOutcome.Stale(key, expected, currentVersion);
        }
        if (guard != null) {
            return new CasOutcome.Rejected(key, currentVersion);
        }
        // The version we read equals the expected one, yet the update missed: our snapshot is older
        // than the row the UPDATE saw (REPEATABLE READ). It is stale all the same.
        return new CasOutcome.Stale(key, expected, null);
    }

    Object normalizeVersion(Object version) {
        if (version == null) {
            return null;
        }
        if (spec.versionKind() == VersionKind.TIMESTAMP) {
            Object v = Sql.javaValue(Sql.jdbcValue(version));
            if (!(v instanceof Instant)) {
                throw new IllegalArgumentException("a timestamp version must be an Instant, Timestamp or OffsetDateTime, not "
                        + version.getClass().getName());
            }
            return v;
        }
        if (!(version instanceof Number n)) {
            throw new IllegalArgumentException("a counter version must be a number, not " + version.getClass().getName());
        }
        return n.longValue();
    }

    /** A later instant than the expected version, at the microsecond precision every database keeps. */
    private static Instant nextTimestamp(Instant expected) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        if (expected != null && !now.isAfter(expected)) {
            return expected.truncatedTo(ChronoUnit.MICROS).plus(1, ChronoUnit.MICROS);
        }
        return now;
    }

    void checkAssignable(String column) {
        String exact = table.column(column);
        if (exact.equals(keyColumn) || exact.equals(versionColumn)) {
            throw new IllegalArgumentException("column '" + column + "' is the " + (exact.equals(keyColumn) ? "key" : "version")
                    + " column; the toolkit manages it");
        }
    }

    void requireVersionColumn() {
        if (versionColumn == null) {
            throw new IllegalStateException("table spec for '" + spec + "' has no version column: call version(...)");
        }
    }

    private Field<Object> key() {
        return DSL.field(DSL.name(keyColumn));
    }

    private Field<Object> version() {
        return DSL.field(DSL.name(versionColumn));
    }
}
