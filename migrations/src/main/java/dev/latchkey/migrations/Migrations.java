package dev.latchkey.migrations;

import dev.latchkey.toolkit.advisory.AdvisoryLock;
import dev.latchkey.toolkit.advisory.AdvisoryLocks;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.sql.DataSource;
import liquibase.Scope;
import liquibase.command.CommandScope;
import liquibase.database.Database;
import liquibase.database.DatabaseFactory;
import liquibase.database.jvm.JdbcConnection;
import liquibase.resource.ClassLoaderResourceAccessor;

/**
 * Applies Latchkey's Liquibase changelogs. The same changelogs run unchanged on PostgreSQL,
 * MySQL/MariaDB and H2; applying them again is a no-op.
 *
 * <p>Processes that start at once on a fresh database (a rolling deploy of three coordinators) must
 * not trip over each other. Liquibase's changelog lock alone does not do it: its lock table is itself
 * created by the first run, so two first runs race to create it and one fails. So:
 * <ol>
 *   <li>where the database has advisory locks (PostgreSQL, MySQL, MariaDB), each run first takes
 *       {@value #LOCK_NAME}, waiting up to {@link #LOCK_WAIT}: runs happen one after another, and
 *       every one after the first finds nothing to do. On PostgreSQL, given a second connection (a
 *       data source, or {@link #apply(Connection, Opener, Changelog...)}), the lock is
 *       transaction-scoped and held by that connection's open transaction while the run goes on
 *       on the first: it cannot outlive the run, even through a transaction-mode pooler (PgBouncer),
 *       where a session lock is taken on one server connection and its unlock may reach another,
 *       leaving the lock held for as long as the pooler keeps that connection;</li>
 *   <li>elsewhere (H2) a run that fails is tried again, up to {@link #ATTEMPTS} times: the failure
 *       of a lost race is gone once the winner's tables exist;</li>
 *   <li>the caller gives a connection with no idle-in-transaction limit: a waiting run sits in an
 *       open transaction for as long as the run before it takes.</li>
 * </ol>
 *
 * <pre>{@code
 * Migrations.apply(dataSource, Migrations.Changelog.COORDINATOR);
 * }</pre>
 */
public final class Migrations {

    /** The changelogs this module carries. */
    public enum Changelog {
        /** The coordinator's store: sessions, nodes, locks, waiters, events, cell facts. */
        COORDINATOR("dev/latchkey/migrations/coordinator.yaml"),
        /** The demo shop: items with stock and version, orders. */
        SHOP("dev/latchkey/migrations/shop.yaml");

        private final String path;

        Changelog(String path) {
            this.path = path;
        }

        public String path() {
            return path;
        }
    }

    static {
        // Liquibase would otherwise phone home (analytics) and log every step at INFO.
        System.setProperty("liquibase.analytics.enabled", System.getProperty("liquibase.analytics.enabled", "false"));
        System.setProperty("liquibase.showBanner", "false");
        Logger.getLogger("liquibase").setLevel(Level.WARNING);
    }

    private Migrations() {
    }

    /**
     * Applies the changelogs in order on the database behind the data source. On PostgreSQL it
     * takes two connections from it for the run (one holds the lock, see above), so a pool of one
     * would wait for itself.
     */
    public static void apply(DataSource dataSource, Changelog... changelogs) {
        Objects.requireNonNull(dataSource, "dataSource");
        try (Connection connection = dataSource.getConnection()) {
            apply(connection, dataSource::getConnection, changelogs);
        } catch (SQLException e) {
            throw new MigrationException("cannot connect to apply migrations: " + e.getMessage(), e);
        }
    }

    /** The advisory lock that runs migrations one at a time. */
    public static final String LOCK_NAME = "latchkey-migrations";
    /** How long a run waits for another process's run to finish. */
    public static final Duration LOCK_WAIT = Duration.ofMinutes(5);
    /** How often a run is tried where no advisory lock serialises runs. */
    public static final int ATTEMPTS = 5;

    /** Opens a connection to the same database (for the lock that serialises runs). */
    @FunctionalInterface
    public interface Opener {
        Connection open() throws SQLException;
    }

    /**
     * Applies the changelogs on {@code connection} (left open), one process at a time. On PostgreSQL
     * the lock is a transaction-scoped advisory lock held, for the run, by the open transaction of a
     * connection from {@code lockConnection} (closed afterwards): safe through a transaction-mode
     * pooler. Elsewhere as {@link #apply(Connection, Changelog...)}. Neither connection may have an
     * idle-in-transaction limit shorter than another process's run.
     */
    public static void apply(Connection connection, Opener lockConnection, Changelog... changelogs) {
        Objects.requireNonNull(lockConnection, "lockConnection");
        DatabaseKind kind = kindOf(connection, changelogs);
        if (kind != DatabaseKind.POSTGRES) {
            apply(connection, kind, changelogs);
            return;
        }
        try (Connection guard = lockConnection.open()) {
            guard.setAutoCommit(false);
            try {
                boolean locked;
                try {
                    locked = new AdvisoryLocks(kind, ToolkitMetrics.NONE).tryAcquireForTransaction(guard, LOCK_NAME, LOCK_WAIT);
                } catch (SQLException e) {
                    throw new MigrationException("cannot take the migration lock: " + e.getMessage(), e);
                }
                if (!locked) {
                    throw new MigrationException("another process held the migration lock '" + LOCK_NAME + "' for over " + LOCK_WAIT, null);
                }
                applyUnlocked(connection, changelogs);
            } finally {
                try {
                    guard.rollback(); // ends the transaction, and the lock with it
                } catch (SQLException e) {
                    // a connection that broke meanwhile ended its transaction (and the lock) when it broke
                    Logger.getLogger(Migrations.class.getName()).log(Level.FINE, "ending the migration lock's transaction failed", e);
                }
            }
        } catch (SQLException e) {
            throw new MigrationException("cannot hold the migration lock: " + e.getMessage(), e);
        }
    }

    private static DatabaseKind kindOf(Connection connection, Changelog... changelogs) {
        try {
            return DatabaseKind.detect(connection);
        } catch (SQLException e) {
            throw new MigrationException("cannot apply " + java.util.Arrays.stream(changelogs).map(Changelog::path).toList()
                    + ": cannot tell which database this is: " + e.getMessage(), e);
        }
    }

    /**
     * Applies the changelogs on a connection (left open), one process at a time, serialised by a
     * session lock on that connection (use {@link #apply(Connection, Opener, Changelog...)} where the
     * connection goes through a transaction-mode pooler). The connection must not have an
     * idle-in-transaction limit shorter than another process's run.
     */
    public static void apply(Connection connection, Changelog... changelogs) {
        apply(connection, kindOf(connection, changelogs), changelogs);
    }

    private static void apply(Connection connection, DatabaseKind kind, Changelog... changelogs) {
        if (AdvisoryLocks.supportsSessionLocks(kind)) {
            AdvisoryLocks locks = new AdvisoryLocks(kind, ToolkitMetrics.NONE);
            Optional<AdvisoryLock> lock;
            try {
                lock = locks.tryAcquire(connection, LOCK_NAME, LOCK_WAIT);
            } catch (SQLException e) {
                throw new MigrationException("cannot take the migration lock: " + e.getMessage(), e);
            }
            if (lock.isEmpty()) {
                throw new MigrationException("another process held the migration lock '" + LOCK_NAME + "' for over " + LOCK_WAIT, null);
            }
            try {
                applyUnlocked(connection, changelogs);
            } finally {
                release(lock.get());
            }
            return;
        }
        for (int attempt = 1; ; attempt++) {
            try {
                applyUnlocked(connection, changelogs);
                return;
            } catch (MigrationException e) {
                if (attempt >= ATTEMPTS) {
                    throw e;
                }
                try {
                    Thread.sleep(100L * attempt + ThreadLocalRandom.current().nextInt(100));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static void release(AdvisoryLock lock) {
        try {
            lock.release();
        } catch (SQLException e) {
            // the lock goes with the connection when it closes; nothing else is left to undo
            Logger.getLogger(Migrations.class.getName()).log(Level.FINE, "releasing the migration lock failed", e);
        }
    }

    private static void applyUnlocked(Connection connection, Changelog... changelogs) {
        for (Changelog changelog : changelogs) {
            try {
                Database database = DatabaseFactory.getInstance().findCorrectDatabaseImplementation(new JdbcConnection(connection));
                Map<String, Object> scope = new HashMap<>();
                scope.put(Scope.Attr.resourceAccessor.name(), new ClassLoaderResourceAccessor(Migrations.class.getClassLoader()));
                scope.put(Scope.Attr.ui.name(), new liquibase.ui.LoggerUIService()); // no progress lines on stdout
                Scope.child(scope, () -> new CommandScope("update")
                        .addArgumentValue("database", database)
                        .addArgumentValue("changelogFile", changelog.path())
                        .addArgumentValue("showSummaryOutput", "LOG")
                        .addArgumentValue("showSummary", "OFF")
                        .setOutput(java.io.OutputStream.nullOutputStream())
                        .execute());
            } catch (Exception e) {
                throw new MigrationException("applying " + changelog.path() + " failed: " + rootMessage(e), e);
            }
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage();
    }

    /** A migration that could not be applied; the database is left as Liquibase's transaction left it. */
    public static final class MigrationException extends RuntimeException {
        public MigrationException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
