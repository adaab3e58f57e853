package dev.latchkey.testing;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * One fresh, empty database (a schema on PostgreSQL, a database on MariaDB/MySQL, an in-memory
 * database on H2) created for a single test run and dropped after it.
 */
public final class TestDatabase implements AutoCloseable {

    private final Database database;
    private final String name;
    private final String jdbcUrl;
    private final String user;
    private final String password;
    private final Runnable dropper;
    private final List<HikariDataSource> pools = new ArrayList<>();
    private HikariDataSource defaultPool;

    TestDatabase(Database database, String name, String jdbcUrl, String user, String password, Runnable dropper) {
        this.database = database;
        this.name = name;
        this.jdbcUrl = jdbcUrl;
        this.user = user;
        this.password = password;
        this.dropper = dropper;
    }

    /**
     * A fresh database on {@code database}'s server, for tests that do not run under
     * {@link DatabaseTest} (property-based tests, say); the caller closes it. Empty when the server
     * cannot be reached outside CI (the reason is printed); under {@code CI=true} that fails.
     */
    public static java.util.Optional<TestDatabase> fresh(Database database) {
        TestSettings settings = TestSettings.fromEnvironment();
        Servers.Server server = Servers.server(database, settings);
        if (server instanceof Servers.Unreachable u) {
            if (settings.ci()) {
                throw new IllegalStateException(database.displayName() + " is unreachable and CI=true requires it: " + u.reason());
            }
            System.out.println(database.displayName() + " skipped: " + u.reason() + " (under CI=true this fails)");
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(Servers.provision((Servers.Reachable) server));
    }

    public Database database() {
        return database;
    }

    /** The name of the fresh schema or database. */
    public String name() {
        return name;
    }

    /** A JDBC URL that connects straight into the fresh schema or database. */
    /** The URLs of databases reached through a transaction-mode pooler (see {@link TestSettings#pgBouncer}). */
    private static final java.util.Set<String> POOLED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static void markPooled(String jdbcUrl) {
        POOLED.add(jdbcUrl);
    }

    /** Whether this URL (of a test database) goes through a transaction-mode pooler: then nothing may rest on a server session. */
    public static boolean pooled(String jdbcUrl) {
        return POOLED.contains(jdbcUrl);
    }

    public String jdbcUrl() {
        return jdbcUrl;
    }

    public String user() {
        return user;
    }

    public String password() {
        return password;
    }

    /** A pooled data source (up to 80 connections, created lazily) closed when the test ends. */
    public synchronized DataSource dataSource() {
        if (defaultPool == null) {
            defaultPool = newPool(80);
        }
        return defaultPool;
    }

    /** A further pool of the given size, closed when the test ends. */
    public synchronized HikariDataSource newPool(int maximumSize) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(maximumSize);
        config.setMinimumIdle(0);
        config.setPoolName("test-" + database.name().toLowerCase() + "-" + pools.size());
        config.setConnectionTimeout(30_000);
        HikariDataSource pool = new HikariDataSource(config);
        pools.add(pool);
        return pool;
    }

    /** A plain, unpooled connection; the caller closes it. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl, user, password);
    }

    @Override
    public synchronized void close() {
        pools.forEach(HikariDataSource::close);
        pools.clear();
        dropper.run();
    }

    @Override
    public String toString() {
        return database.displayName() + " " + name;
    }
}
