package dev.latchkey.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds a server for each database once per JVM: the configured one when it answers, else one
 * started by Testcontainers when Docker is present, else the reason there is none.
 */
final class Servers {

    private static final Logger LOG = LoggerFactory.getLogger(Servers.class);
    private static final Pattern MYSQL_URL = Pattern.compile("^(jdbc:(?:mysql|mariadb)://[^/?]+)/?([^?]*)(\\?.*)?$");
    private static final Map<String, Server> SERVERS = new HashMap<>();
    private static Boolean dockerAvailable;

    private Servers() {
    }

    /** A server that can hand out fresh databases, or why there is none. */
    sealed interface Server permits Reachable, Unreachable {
    }

    record Reachable(Database database, TestSettings.ServerAddress admin) implements Server {
    }

    record Unreachable(Database database, String reason) implements Server {
    }

    static synchronized Server server(Database database, TestSettings settings) {
        TestSettings.ServerAddress address = settings.configured(database);
        String key = database + "|" + (address == null ? "" : address.url() + "|" + address.user());
        return SERVERS.computeIfAbsent(key, k -> locate(database, settings));
    }

    static synchronized boolean dockerAvailable() {
        if (dockerAvailable == null) {
            if (!dockerMayBeThere()) {
                return dockerAvailable = false;
            }
            try {
                dockerAvailable = org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
            } catch (Throwable e) {
                dockerAvailable = false;
            }
        }
        return dockerAvailable;
    }

    /** Cheap look for any sign of a Docker engine before asking Testcontainers, which logs loudly when there is none. */
    private static boolean dockerMayBeThere() {
        String home = System.getProperty("user.home");
        return System.getenv("DOCKER_HOST") != null
                || java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/docker.sock"))
                || java.nio.file.Files.exists(java.nio.file.Path.of(home, ".testcontainers.properties"))
                || java.nio.file.Files.exists(java.nio.file.Path.of(home, ".docker", "run", "docker.sock"));
    }

    private static Server locate(Database database, TestSettings settings) {
        TestSettings.ServerAddress address = settings.configured(database);
        if (database == Database.H2) {
            return new Reachable(database, address);
        }
        String problem;
        if (address == null) {
            problem = "no server configured (set LATCHKEY_TEST_MYSQL_URL)";
        } else {
            try (Connection ignored = DriverManager.getConnection(address.url(), address.user(), address.password())) {
                return new Reachable(database, address);
            } catch (SQLException e) {
                problem = "cannot connect to " + address.url() + " as " + address.user() + ": " + e.getMessage();
            }
        }
        if (dockerAvailable()) {
            LOG.info("{}: {}; starting one with Testcontainers", database.displayName(), problem);
            return startContainer(database);
        }
        return new Unreachable(database, problem + "; no Docker for Testcontainers either");
    }

    private static Server startContainer(Database database) {
        org.testcontainers.containers.JdbcDatabaseContainer<?> container = switch (database) {
            case POSTGRESQL -> new org.testcontainers.containers.PostgreSQLContainer<>("postgres:15");
            case MARIADB -> new org.testcontainers.containers.MariaDBContainer<>("mariadb:10.11").withUsername("root");
            case MYSQL -> new org.testcontainers.containers.MySQLContainer<>("mysql:8.4").withUsername("root");
            case H2 -> throw new IllegalStateException("H2 runs in-process");
        };
        try {
            container.start();
        } catch (RuntimeException e) {
            return new Unreachable(database, "Testcontainers could not start it: " + e.getMessage());
        }
        String url = container.getJdbcUrl();
        if (database != Database.POSTGRESQL) {
            url = url.replace("jdbc:mariadb:", "jdbc:mysql:");
        }
        return new Reachable(database, new TestSettings.ServerAddress(url, container.getUsername(), container.getPassword()));
    }

    /** Creates a fresh schema or database on a reachable server. */
    static TestDatabase provision(Reachable server) {
        String name = "lk_t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        TestSettings.ServerAddress admin = server.admin();
        return switch (server.database()) {
            case POSTGRESQL -> {
                if (TestSettings.fromEnvironment().pgBouncer()) {
                    // a database of its own (PgBouncer cannot pass currentSchema's search_path on), reached through PgBouncer
                    execute(admin, "CREATE DATABASE \"" + name + "\"");
                    String url = "jdbc:postgresql://127.0.0.1:" + PgBouncer.port() + "/" + name + "?prepareThreshold=0";
                    TestDatabase.markPooled(url);
                    yield new TestDatabase(server.database(), name, url, admin.user(), admin.password(),
                            () -> execute(admin, "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)"));
                }
                execute(admin, "CREATE SCHEMA \"" + name + "\"");
                String url = admin.url() + (admin.url().contains("?") ? "&" : "?") + "currentSchema=" + name;
                yield new TestDatabase(server.database(), name, url, admin.user(), admin.password(),
                        () -> execute(admin, "DROP SCHEMA IF EXISTS \"" + name + "\" CASCADE"));
            }
            case MARIADB, MYSQL -> {
                execute(admin, "CREATE DATABASE `" + name + "`");
                yield new TestDatabase(server.database(), name, mysqlUrl(admin.url(), name), admin.user(), admin.password(),
                        () -> execute(admin, "DROP DATABASE IF EXISTS `" + name + "`"));
            }
            case H2 -> {
                String url = "jdbc:h2:mem:" + name + ";DB_CLOSE_DELAY=-1";
                TestSettings.ServerAddress h2 = new TestSettings.ServerAddress(url, admin.user(), admin.password());
                yield new TestDatabase(server.database(), name, url, admin.user(), admin.password(),
                        () -> execute(h2, "SHUTDOWN"));
            }
        };
    }

    /** Points a MySQL/MariaDB URL at another database, keeping its parameters. */
    static String mysqlUrl(String url, String database) {
        Matcher m = MYSQL_URL.matcher(url);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a MySQL/MariaDB JDBC URL: " + url);
        }
        String params = m.group(3) == null ? "" : m.group(3);
        return m.group(1) + "/" + database + params;
    }

    private static void execute(TestSettings.ServerAddress address, String sql) {
        try (Connection c = DriverManager.getConnection(address.url(), address.user(), address.password());
                Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("'" + sql + "' failed on " + address.url() + ": " + e.getMessage(), e);
        }
    }
}
