package dev.latchkey.toolkit.pessimistic;

import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.FailureClassifier;
import dev.latchkey.toolkit.internal.PgLockTimeout;
import dev.latchkey.toolkit.internal.ResolvedTable;
import dev.latchkey.toolkit.internal.Sql;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.jooq.Field;
import org.jooq.impl.DSL;

/**
 * Pessimistic locking on one table: lock rows by key ({@code FOR UPDATE} / {@code FOR SHARE}) with a
 * wait policy, inside the caller's transaction.
 *
 * <p>How a request runs:
 * <ol>
 *   <li>the keys are de-duplicated and sorted, and one {@code SELECT ... WHERE key IN (...) ORDER BY key}
 *       locks them in that canonical order, so two callers locking the same rows cannot deadlock;</li>
 *   <li>a bounded wait is rendered per database ({@link LockClause}) and any session setting it
 *       needs is restored afterwards;</li>
 *   <li>on PostgreSQL a NOWAIT or bounded wait runs inside a savepoint, so that failing it does not
 *       poison the caller's transaction;</li>
 *   <li>contention comes back as {@link LockOutcome.Failed}, classified with the wait policy as a hint
 *       (MariaDB and PostgreSQL use one error code for NOWAIT and for a timeout); any other failure is
 *       thrown.</li>
 * </ol>
 */
public final class RowLocker {

    private static final String SAVEPOINT = "latchkey_lock";

    private final ResolvedTable table;
    private final Sql sql;
    private final ToolkitMetrics metrics;
    private final String keyColumn;
    private final String keyName;

    public RowLocker(ResolvedTable table, TableSpec spec, Sql sql, ToolkitMetrics metrics) {
        this.table = table;
        this.sql = sql;
        this.metrics = metrics;
        this.keyName = spec.keyColumn();
        this.keyColumn = table.column(spec.keyColumn());
    }

    /** Starts a request to lock the rows with these keys. */
    public LockRequest lock(Object... keys) {
        return new LockRequest(this, Arrays.asList(keys));
    }

    /** Starts a request to lock the rows with these keys. */
    public LockRequest lock(java.util.Collection<?> keys) {
        return new LockRequest(this, new ArrayList<>(keys));
    }

    void checkColumn(String name) {
        table.column(name);
    }

    LockOutcome execute(Connection connection, LockRequest request) throws SQLException {
        if (connection.getAutoCommit()) {
            throw new IllegalStateException("row locks need a transaction: the connection is in auto-commit mode, "
                    + "so a lock would end with the statement (call setAutoCommit(false) or use a Transactor)");
        }
        List<Object> keys = canonicalOrder(request.keys());
        DatabaseKind kind = sql.kind();
        WaitPolicy wait = request.waitPolicy();
        String statement = sql.cachedText("L|" + keys.size() + "|" + request.columns() + "|" + request.mode() + "|" + wait.getClass().getSimpleName()
                + (wait instanceof WaitPolicy.Bounded b ? b.timeout().toMillis() : ""), () -> selectSql(keys.size(), request));
        boolean failable = wait instanceof WaitPolicy.NoWait || wait instanceof WaitPolicy.Bounded;
        boolean savepoint = failable && LockClause.SAVEPOINT_AROUND_FAILABLE_WAIT.contains(kind);
        FailureClassifier.Hint hint = wait instanceof WaitPolicy.NoWait ? FailureClassifier.Hint.NO_WAIT
                : wait instanceof WaitPolicy.Bounded ? FailureClassifier.Hint.BOUNDED_WAIT : FailureClassifier.Hint.NONE;

        long start = System.nanoTime();
        Savepoint sp = savepoint ? connection.setSavepoint(SAVEPOINT) : null;
        String restore = null;
        try {
            if (wait instanceof WaitPolicy.Bounded b) {
                restore = applyBoundedWait(connection, kind, b.timeout());
            }
            List<Map<String, Object>> rows = select(connection, statement, keys, request);
            if (restore != null) {
                restoreWait(connection, kind, restore);
                restore = null;
            }
            if (sp != null) {
                connection.releaseSavepoint(sp);
            }
            Duration waited = Duration.ofNanos(System.nanoTime() - start);
            metrics.lockWait(request.operation(), waited, true);
            return new LockOutcome.Locked(rows, missing(keys, rows), waited);
        } catch (SQLException e) {
            Duration waited = Duration.ofNanos(System.nanoTime() - start);
            Optional<Contention> contention = FailureClassifier.classify(e, hint);
            if (sp != null) {
                connection.rollback(sp); // also undoes the transaction-local lock_timeout
                restore = null;
            }
            if (restore != null) {
                restoreWait(connection, kind, restore);
            }
            if (contention.isEmpty()) {
                throw e;
            }
            metrics.lockWait(request.operation(), waited, false);
            metrics.contention(request.operation(), contention.get());
            return new LockOutcome.Failed(contention.get(), waited, e);
        }
    }

    private String selectSql(int keyCount, LockRequest request) {
        List<Field<Object>> fields = new ArrayList<>();
        fields.add(DSL.field(DSL.name(keyColumn)));
        for (String c : request.columns()) {
            fields.add(table.field(c));
        }
        List<Field<Object>> placeholders = new ArrayList<>();
        for (int i = 0; i < keyCount; i++) {
            placeholders.add(Sql.placeholder());
        }
        Field<Object> key = DSL.field(DSL.name(keyColumn));
        return sql.dsl().render(sql.dsl().select(fields).from(table.table()).where(key.in(placeholders)).orderBy(key))
                + LockClause.render(sql.kind(), request.mode(), request.waitPolicy());
    }

    private List<Map<String, Object>> select(Connection connection, String statement, List<Object> keys, LockRequest request)
            throws SQLException {
        List<Map<String, Object>> rows = new ArrayList<>();
        try (PreparedStatement ps = sql.prepare(connection, statement, keys); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put(keyName, Sql.javaValue(rs.getObject(1)));
                for (int i = 0; i < request.columns().size(); i++) {
                    row.put(request.columns().get(i), Sql.javaValue(rs.getObject(i + 2)));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    /** Sets the wait bound where it is a setting; returns what to restore, or null. */
    private static String applyBoundedWait(Connection connection, DatabaseKind kind, Duration timeout) throws SQLException {
        if (LockClause.WAIT_BY_LOCK_TIMEOUT.contains(kind)) {
            return PgLockTimeout.set(connection, timeout);
        }
        if (LockClause.WAIT_BY_INNODB_TIMEOUT.contains(kind)) {
            try (Statement s = connection.createStatement();
                    ResultSet rs = s.executeQuery("SELECT @@SESSION.innodb_lock_wait_timeout")) {
                rs.next();
                String previous = rs.getString(1);
                s.execute("SET SESSION innodb_lock_wait_timeout = " + LockClause.wholeSeconds(timeout));
                return previous;
            }
        }
        return null;
    }

    private static void restoreWait(Connection connection, DatabaseKind kind, String previous) throws SQLException {
        if (LockClause.WAIT_BY_LOCK_TIMEOUT.contains(kind)) {
            PgLockTimeout.restore(connection, previous);
        } else if (LockClause.WAIT_BY_INNODB_TIMEOUT.contains(kind)) {
            try (Statement s = connection.createStatement()) {
                s.execute("SET SESSION innodb_lock_wait_timeout = " + Long.parseLong(previous.trim()));
            }
        }
    }

    private List<Object> missing(List<Object> keys, List<Map<String, Object>> rows) {
        Set<Object> found = new LinkedHashSet<>();
        for (Map<String, Object> row : rows) {
            found.add(normalize(row.get(keyName)));
        }
        return keys.stream().filter(k -> !found.contains(k)).toList();
    }

    /** De-duplicates and sorts keys, so that every caller locks in the same order. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static List<Object> canonicalOrder(List<Object> keys) {
        TreeSet sorted = new TreeSet<>();
        Class<?> type = null;
        for (Object key : keys) {
            Object k = normalize(key);
            if (!(k instanceof Comparable)) {
                throw new IllegalArgumentException("keys must be comparable, so they can be locked in one order: " + key.getClass());
            }
            if (type != null && type != k.getClass()) {
                throw new IllegalArgumentException("keys must all be of one type, not " + type.getName() + " and "
                        + k.getClass().getName());
            }
            type = k.getClass();
            sorted.add(k);
        }
        return new ArrayList<>(sorted);
    }

    private static Object normalize(Object key) {
        if (key instanceof Integer || key instanceof Short || key instanceof Byte) {
            return ((Number) key).longValue();
        }
        if (key instanceof BigInteger b && b.bitLength() < 64) {
            return b.longValue();
        }
        return key;
    }
}
