package dev.latchkey.toolkit.advisory;

import static dev.latchkey.toolkit.dialect.DatabaseKind.H2;
import static dev.latchkey.toolkit.dialect.DatabaseKind.MARIADB;
import static dev.latchkey.toolkit.dialect.DatabaseKind.MYSQL;
import static dev.latchkey.toolkit.dialect.DatabaseKind.POSTGRES;

import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.dialect.UnsupportedDatabaseException;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.FailureClassifier;
import dev.latchkey.toolkit.internal.PgLockTimeout;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Named advisory locks: locks on a name rather than a row.
 *
 * <ul>
 *   <li>PostgreSQL: {@code pg_advisory_lock} family on a stable 64-bit hash of the name ({@link #key(String)}),
 *       session-scoped ({@link #tryAcquire}) or transaction-scoped ({@link #tryAcquireForTransaction});</li>
 *   <li>MySQL, MariaDB: {@code GET_LOCK}/{@code RELEASE_LOCK}, session-scoped only; a name longer than
 *       the server's 64-character limit is shortened to a prefix plus its hash;</li>
 *   <li>H2 has no advisory locks: every call is refused with {@link UnsupportedDatabaseException}.</li>
 * </ul>
 */
public final class AdvisoryLocks {

    /** MySQL's limit on a lock name's length (MariaDB accepts the same). */
    public static final int MYSQL_NAME_LIMIT = 64;

    static final Set<DatabaseKind> SESSION_LOCKS = EnumSet.of(POSTGRES, MYSQL, MARIADB);
    static final Set<DatabaseKind> TRANSACTION_LOCKS = EnumSet.of(POSTGRES);

    private final DatabaseKind kind;
    private final ToolkitMetrics metrics;

    /** Whether the database has session-scoped advisory locks ({@link #tryAcquire}). */
    public static boolean supportsSessionLocks(DatabaseKind kind) {
        return SESSION_LOCKS.contains(kind);
    }

    public AdvisoryLocks(DatabaseKind kind, ToolkitMetrics metrics) {
        this.kind = kind;
        this.metrics = metrics;
    }

    /**
     * Tries to take a session-scoped lock on the name, waiting at most {@code wait} (zero: do not wait).
     * Empty when another session holds it. The lock stays with the connection until released, even
     * across transactions, so release it on the same connection.
     */
    public Optional<AdvisoryLock> tryAcquire(Connection connection, String name, Duration wait) throws SQLException {
        checkArguments(connection, name, wait);
        require(SESSION_LOCKS, "session advisory locks");
        long start = System.nanoTime();
        boolean acquired = switch (kind) {
            case POSTGRES -> pgSessionLock(connection, key(name), wait);
            case MYSQL, MARIADB -> mysqlGetLock(connection, mysqlName(name), wait);
            case H2 -> false;
        };
        metrics.lockWait("advisory", Duration.ofNanos(System.nanoTime() - start), acquired);
        if (!acquired) {
            return Optional.empty();
        }
        return Optional.of(new AdvisoryLock(name, () -> release(connection, name)));
    }

    /**
     * Tries to take a transaction-scoped lock (PostgreSQL only), released when the transaction ends.
     * On a bounded wait that runs out the caller's transaction stays usable.
     */
    public boolean tryAcquireForTransaction(Connection connection, String name, Duration wait) throws SQLException {
        checkArguments(connection, name, wait);
        require(TRANSACTION_LOCKS, "transaction-scoped advisory locks (MySQL and MariaDB locks belong to the session)");
        if (connection.getAutoCommit()) {
            throw new IllegalStateException("a transaction-scoped lock needs a transaction: the connection is in auto-commit mode");
        }
        long start = System.nanoTime();
        boolean acquired;
        if (wait.isZero()) {
            acquired = queryBoolean(connection, "SELECT pg_try_advisory_xact_lock(?)", key(name));
        } else {
            acquired = pgBounded(connection, "SELECT pg_advisory_xact_lock(?)", key(name), wait);
        }
        metrics.lockWait("advisory", Duration.ofNanos(System.nanoTime() - start), acquired);
        return acquired;
    }

    /** The stable 64-bit key PostgreSQL locks for a name: the first 8 bytes of its SHA-256. */
    public static long key(String name) {
        Objects.requireNonNull(name, "name");
        return ByteBuffer.wrap(sha256(name)).getLong();
    }

    /** The name MySQL/MariaDB lock for a given name, kept within {@link #MYSQL_NAME_LIMIT} characters. */
    public static String mysqlName(String name) {
        if (name.length() <= MYSQL_NAME_LIMIT) {
            return name;
        }
        return name.substring(0, 40) + "~" + HexFormat.of().formatHex(sha256(name), 0, 8);
    }

    private boolean pgSessionLock(Connection connection, long key, Duration wait) throws SQLException {
        if (wait.isZero()) {
            return queryBoolean(connection, "SELECT pg_try_advisory_lock(?)", key);
        }
        return pgBounded(connection, "SELECT pg_advisory_lock(?)", key, wait);
    }

    /** A waiting advisory lock call bounded by lock_timeout, which is put back afterwards. */
    private static boolean pgBounded(Connection connection, String sql, long key, Duration wait) throws SQLException {
        boolean autoCommit = connection.getAutoCommit();
        if (autoCommit) {
            connection.setAutoCommit(false);
        }
        Savepoint sp = autoCommit ? null : connection.setSavepoint("latchkey_advisory");
        String previous = null;
        try {
            previous = PgLockTimeout.set(connection, wait);
            try (PreparedStatement ps = connection.prepareStatement(sql)) {
                ps.setLong(1, key);
                ps.executeQuery().close();
            }
            PgLockTimeout.restore(connection, previous);
            if (sp != null) {
                connection.releaseSavepoint(sp);
            }
            return true;
        } catch (SQLException e) {
            if (sp != null) {
                connection.rollback(sp);
            } else {
                connection.rollback();
            }
            if (FailureClassifier.classify(e, FailureClassifier.Hint.BOUNDED_WAIT).orElse(null) == Contention.LOCK_TIMEOUT) {
                return false;
            }
            throw e;
        } finally {
            if (autoCommit) {
                connection.commit(); // a session lock outlives the transaction that took it
                connection.setAutoCommit(true);
            }
        }
    }

    private boolean mysqlGetLock(Connection connection, String name, Duration wait) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT GET_LOCK(?, ?)")) {
            ps.setString(1, name);
            // whole seconds, rounded up: both servers count lock waits in seconds
            ps.setLong(2, wait.isZero() ? 0 : Math.max(1, (wait.toMillis() + 999) / 1000));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                int result = rs.getInt(1);
                if (rs.wasNull()) {
                    throw new SQLException("GET_LOCK('" + name + "') failed (returned NULL)");
                }
                return result == 1;
            }
        }
    }

    private boolean release(Connection connection, String name) throws SQLException {
        if (connection.isClosed()) {
            return false;
        }
        return switch (kind) {
            case POSTGRES -> queryBoolean(connection, "SELECT pg_advisory_unlock(?)", key(name));
            case MYSQL, MARIADB -> {
                try (PreparedStatement ps = connection.prepareStatement("SELECT RELEASE_LOCK(?)")) {
                    ps.setString(1, mysqlName(name));
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        yield rs.getInt(1) == 1;
                    }
                }
            }
            case H2 -> false;
        };
    }

    private static boolean queryBoolean(Connection connection, String sql, long key) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setLong(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private void require(Set<DatabaseKind> supported, String what) {
        if (!supported.contains(kind)) {
            throw new UnsupportedDatabaseException(kind + " has no " + what + "; use row locks (RowLocker) on a lock table instead");
        }
    }

    private static void checkArguments(Connection connection, String name, Duration wait) {
        Objects.requireNonNull(connection, "connection");
        Objects.requireNonNull(wait, "wait");
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a lock name must not be empty");
        }
        if (wait.isNegative()) {
            throw new IllegalArgumentException("a lock wait cannot be negative: " + wait);
        }
    }

    private static byte[] sha256(String name) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
