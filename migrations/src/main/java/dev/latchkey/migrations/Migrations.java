package dev.latchkey.migrations;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
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
 * MySQL/MariaDB and H2; applying them again is a no-op, and Liquibase's own lock table keeps
 * coordinators that start at once from applying them twice.
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

    /** Applies the changelogs in order on the database behind the data source. */
    public static void apply(DataSource dataSource, Changelog... changelogs) {
        Objects.requireNonNull(dataSource, "dataSource");
        try (Connection connection = dataSource.getConnection()) {
            apply(connection, changelogs);
        } catch (SQLException e) {
            throw new MigrationException("cannot connect to apply migrations: " + e.getMessage(), e);
        }
    }

    /** Applies the changelogs on a connection (left open). */
    public static void apply(Connection connection, Changelog... changelogs) {
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
