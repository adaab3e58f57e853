package dev.latchkey.toolkit.jpa;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.TestDatabase;
import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityManagerFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import org.hibernate.jpa.HibernatePersistenceConfiguration;

/** A Hibernate entity manager factory on a test database, with the {@code jpa_item} table. */
final class Jpa implements AutoCloseable {

    final TestDatabase db;
    final EntityManagerFactory emf;

    private Jpa(TestDatabase db, EntityManagerFactory emf) {
        this.db = db;
        this.emf = emf;
    }

    /** Creates the table, {@code items} rows (id 1.., stock 10), and a factory on a pool of {@code poolSize}. */
    static Jpa on(TestDatabase db, int items, int poolSize) throws SQLException {
        return on(db, items, poolSize, true);
    }

    /**
     * @param mariaDbDialect name Hibernate's MariaDB dialect on MariaDB: through MySQL Connector/J,
     *                       Hibernate's detection takes MariaDB for MySQL (see JpaPeerPinTest)
     */
    static Jpa on(TestDatabase db, int items, int poolSize, boolean mariaDbDialect) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE jpa_item (id BIGINT PRIMARY KEY, name VARCHAR(64), stock INT NOT NULL, "
                    + "version BIGINT NOT NULL, fence BIGINT, claimed_by VARCHAR(64))");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO jpa_item (id, name, stock, version) VALUES (?, ?, 10, 0)")) {
                for (int i = 1; i <= items; i++) {
                    ps.setLong(1, i);
                    ps.setString(2, "item " + i);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        HibernatePersistenceConfiguration config = new HibernatePersistenceConfiguration("latchkey-test")
                .managedClass(Item.class)
                .property("hibernate.connection.datasource", db.newPool(poolSize))
                .property("hibernate.hbm2ddl.auto", "none");
        if (mariaDbDialect && db.database() == Database.MARIADB) {
            config.property("hibernate.dialect", "org.hibernate.dialect.MariaDBDialect");
        }
        EntityManagerFactory emf = config.createEntityManagerFactory();
        return new Jpa(db, emf);
    }

    Database database() {
        return db.database();
    }

    /** An EntityManager with its transaction begun. */
    EntityManager begin() {
        EntityManager em = emf.createEntityManager();
        em.getTransaction().begin();
        return em;
    }

    static void end(EntityManager em) {
        if (em.getTransaction().isActive()) {
            em.getTransaction().rollback();
        }
        em.close();
    }

    /** Runs one statement on the EntityManager's own connection, in its transaction. */
    static void sql(EntityManager em, String statement) {
        em.unwrap(org.hibernate.Session.class).doWork(c -> {
            try (Statement s = c.createStatement()) {
                s.execute(statement);
            }
        });
    }

    long stock(long id) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement();
                var rs = s.executeQuery("SELECT stock FROM jpa_item WHERE id = " + id)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Override
    public void close() {
        emf.close();
    }
}
