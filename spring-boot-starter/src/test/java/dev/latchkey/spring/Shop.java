package dev.latchkey.spring;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.spring.app.ShopTestApp;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;

/** The test application on a test database: its table, and a context runner with Boot's JPA auto-configuration and ours. */
final class Shop {

    private Shop() {
    }

    static ApplicationContextRunner on(TestDatabase db, int items) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE shop_item (id BIGINT PRIMARY KEY, name VARCHAR(64), stock INT NOT NULL, "
                    + "version BIGINT NOT NULL, claimed_by VARCHAR(64))");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO shop_item (id, name, stock, version) VALUES (?, ?, 10, 0)")) {
                for (int i = 1; i <= items; i++) {
                    ps.setLong(1, i);
                    ps.setString(2, "item " + i);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        List<String> properties = new ArrayList<>(List.of(
                "spring.datasource.url=" + db.jdbcUrl(),
                "spring.datasource.username=" + db.user(),
                "spring.datasource.password=" + (db.password() == null ? "" : db.password()),
                "spring.datasource.hikari.maximum-pool-size=16",
                "spring.jpa.hibernate.ddl-auto=none",
                "spring.jpa.open-in-view=false",
                "latchkey.retry.policies.checkout.max-attempts=500",
                "latchkey.retry.policies.checkout.initial-backoff=1ms",
                "latchkey.retry.policies.checkout.max-backoff=40ms"));
        if (db.database() == Database.MARIADB) {
            // MySQL Connector/J reports MariaDB as MySQL; Hibernate then picks MySQLDialect (docs/jpa-spring.md)
            properties.add("spring.jpa.database-platform=org.hibernate.dialect.MariaDBDialect");
        }
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, HibernateJpaAutoConfiguration.class,
                        TransactionAutoConfiguration.class, LatchkeyAutoConfiguration.class))
                .withUserConfiguration(ShopTestApp.class)
                .withPropertyValues(properties.toArray(String[]::new));
    }

    static long stock(TestDatabase db, long id) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT stock FROM shop_item WHERE id = " + id)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Adds one to the stock from another connection, committed at once. */
    static void bumpBehindTheBack(TestDatabase db, long id) {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE shop_item SET stock = stock + 1, version = version + 1 WHERE id = " + id);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
