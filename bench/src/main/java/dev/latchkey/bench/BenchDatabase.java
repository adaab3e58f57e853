package dev.latchkey.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * A fresh schema on the benchmark's PostgreSQL server ({@code LATCHKEY_BENCH_PG_URL}, {@code _USER},
 * {@code _PASSWORD}; default the local server's {@code test} database as {@code postgres}), dropped on close.
 * A MySQL or MariaDB URL there ({@code jdbc:mysql://host:port/}) gets a fresh database instead: only the
 * Latchkey contender runs on it (the others are written for PostgreSQL).
 */
public final class BenchDatabase implements AutoCloseable {

    private final String url;
    private final String user;
    private final String password;
    private final String schema;

    private BenchDatabase(String url, String user, String password, String schema) {
        this.url = url;
        this.user = user;
        this.password = password;
        this.schema = schema;
    }

    public static BenchDatabase create() throws SQLException {
        String url = env("LATCHKEY_BENCH_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
        String user = env("LATCHKEY_BENCH_PG_USER", "postgres");
        String password = env("LATCHKEY_BENCH_PG_PASSWORD", "");
        String schema = "lk_bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
            s.execute((mySqlFamily(url) ? "CREATE DATABASE " : "CREATE SCHEMA ") + schema);
        }
        return new BenchDatabase(url, user, password, schema);
    }

    /**
     * A pool into the schema. Commits do not wait for the WAL flush ({@code synchronous_commit = off}),
     * so that the fsync, the same for every contender, does not drown the differences being measured.
     */
    public HikariDataSource pool(int size) {
        return pool(size, false);
    }

    /**
     * A pool into the schema, whose commits wait for the WAL flush when {@code durable} (the server's
     * default, and what a lock service's users get) and do not otherwise.
     */
    public HikariDataSource pool(int size, boolean durable) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url());
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(size);
        if (!durable) {
            config.setConnectionInitSql("SET synchronous_commit = off");
        }
        config.setPoolName("bench");
        return new HikariDataSource(config);
    }

    /** A JDBC URL into the schema. */
    public String url() {
        if (mySqlFamily(url)) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(jdbc:[a-z]+://[^/?]+)/?[^?]*(\\?.*)?$").matcher(url);
            if (!m.matches()) {
                throw new IllegalArgumentException("not a MySQL/MariaDB JDBC URL: " + url);
            }
            return m.group(1) + "/" + schema + (m.group(2) == null ? "" : m.group(2));
        }
        return url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    private static boolean mySqlFamily(String url) {
        return url.startsWith("jdbc:mysql:") || url.startsWith("jdbc:mariadb:");
    }

    public String user() {
        return user;
    }

    public String password() {
        return password;
    }

    @Override
    public void close() {
        try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
            s.execute(mySqlFamily(url) ? "DROP DATABASE IF EXISTS " + schema : "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        } catch (SQLException e) {
            throw new IllegalStateException("could not drop benchmark schema " + schema + ": " + e.getMessage(), e);
        }
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
