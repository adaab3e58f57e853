package dev.latchkey.toolkit;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.TestDatabase;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/** Tables and helpers the toolkit tests share. */
public final class Fixtures {

    public static final TableSpec ITEM = TableSpec.table("item").key("id").version("version");

    private Fixtures() {
    }

    /** Creates {@code item} (stock with an integer and a timestamp version, a fence) and {@code purchase}. */
    public static void createTables(TestDatabase db) throws SQLException {
        String ts = db.database() == Database.MARIADB || db.database() == Database.MYSQL ? "DATETIME(6)" : "TIMESTAMP(6)";
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE item (id BIGINT PRIMARY KEY, name VARCHAR(64), stock INT NOT NULL, "
                    + "version BIGINT NOT NULL, updated_at " + ts + " NOT NULL, fence BIGINT)");
            s.execute("CREATE TABLE purchase (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL, buyer INT NOT NULL)");
        }
    }

    public static void insertItem(DataSource ds, long id, int stock) throws SQLException {
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO item (id, name, stock, version, updated_at) VALUES (?, ?, ?, 0, ?)")) {
            ps.setLong(1, id);
            ps.setString(2, "item " + id);
            ps.setInt(3, stock);
            ps.setTimestamp(4, java.sql.Timestamp.valueOf("2026-01-01 00:00:00"));
            ps.executeUpdate();
        }
    }

    public static long queryLong(DataSource ds, String sql) throws SQLException {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** A data source that counts the statements its connections are asked to prepare or create. */
    public static DataSource counting(DataSource target, AtomicInteger statements) {
        return (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(), new Class<?>[] {DataSource.class},
                (p, m, args) -> {
                    Object result = invoke(target, m, args);
                    if (result instanceof Connection c) {
                        return Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                                (p2, m2, args2) -> {
                                    if (m2.getName().startsWith("prepare") || m2.getName().equals("createStatement")) {
                                        statements.incrementAndGet();
                                    }
                                    return invoke(c, m2, args2);
                                });
                    }
                    return result;
                });
    }

    private static Object invoke(Object target, java.lang.reflect.Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
