package dev.latchkey.toolkit.jpa;

import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import dev.latchkey.toolkit.retry.RetryPolicy;
import jakarta.persistence.EntityManagerFactory;
import java.util.Objects;
import javax.sql.DataSource;
import org.hibernate.dialect.Dialect;
import org.hibernate.dialect.MariaDBDialect;
import org.hibernate.engine.jdbc.connections.spi.ConnectionProvider;
import org.hibernate.engine.spi.SessionFactoryImplementor;
import org.hibernate.persister.entity.EntityPersister;

/**
 * Where the toolkit starts for JPA: bound to one {@link EntityManagerFactory} (Hibernate's), whose
 * database it detects once.
 *
 * <pre>{@code
 * JpaToolkit jpa = JpaToolkit.create(entityManagerFactory);
 * JpaTransactor tx = jpa.transactor(RetryPolicy.defaults());
 * EntityLocks<Item> items = jpa.locks(Item.class);
 * tx.execute("buy", em -> {
 *     Item item = items.lock(42L).waitAtMost(Duration.ofMillis(500)).execute(em).orThrow().single();
 *     item.setStock(item.getStock() - 1);
 *     return item;
 * });
 * }</pre>
 *
 * <p>Row locks are taken by the JDBC toolkit's {@link dev.latchkey.toolkit.pessimistic.RowLocker} on
 * the EntityManager's own connection, so what a lock waits for is what the SQL says, on every
 * database, rather than what a Hibernate lock hint turns into there.
 */
public final class JpaToolkit {

    private final EntityManagerFactory emf;
    private final SessionFactoryImplementor sessionFactory;
    private final Toolkit jdbc;

    private JpaToolkit(EntityManagerFactory emf, Toolkit jdbc) {
        this.emf = emf;
        this.sessionFactory = emf.unwrap(SessionFactoryImplementor.class);
        this.jdbc = jdbc;
    }

    /** A toolkit on the factory's own connections, without metrics. */
    public static JpaToolkit create(EntityManagerFactory emf) {
        return create(emf, ToolkitMetrics.NONE);
    }

    /** A toolkit on the factory's own connections that reports to the given metrics. */
    public static JpaToolkit create(EntityManagerFactory emf, ToolkitMetrics metrics) {
        Objects.requireNonNull(emf, "entityManagerFactory");
        return create(emf, connectionsOf(emf), metrics);
    }

    /**
     * A toolkit whose catalog look-ups use {@code dataSource} (the one the factory was built on, or
     * one on the same database); locks and writes always run on each EntityManager's own connection.
     */
    public static JpaToolkit create(EntityManagerFactory emf, DataSource dataSource, ToolkitMetrics metrics) {
        Objects.requireNonNull(emf, "entityManagerFactory");
        return new JpaToolkit(emf, Toolkit.create(dataSource, metrics));
    }

    public EntityManagerFactory entityManagerFactory() {
        return emf;
    }

    public DatabaseKind database() {
        return jdbc.database();
    }

    public ToolkitMetrics metrics() {
        return jdbc.metrics();
    }

    /** The JDBC toolkit on the same database, for tables that are not entities. */
    public Toolkit jdbc() {
        return jdbc;
    }

    /** Runs units of work, each attempt in a new EntityManager and transaction, retrying contention. */
    public JpaTransactor transactor(RetryPolicy policy) {
        return new JpaTransactor(emf, policy, jdbc.metrics());
    }

    /** Row locks on an entity's table, by id. */
    public <T> EntityLocks<T> locks(Class<T> entityType) {
        requireFittingDialect();
        EntityTable table = EntityTable.of(sessionFactory, entityType);
        return new EntityLocks<>(table, jdbc.rowLocks(table.spec()), jdbc.database());
    }

    /**
     * Fenced writes to an entity: a change applies only when the caller's fencing token (a
     * coordinator sequencer's generation) is not older than the newest the row has accepted.
     *
     * @param fenceColumn the column that holds the newest accepted token
     */
    public <T> FencedEntities<T> fenced(Class<T> entityType, String fenceColumn) {
        requireFittingDialect();
        EntityTable table = EntityTable.of(sessionFactory, entityType);
        TableSpec spec = table.spec().fence(fenceColumn);
        return new FencedEntities<>(table, jdbc.fenced(spec), jdbc.database());
    }

    /** Entity locks reload rows with Hibernate's locking reads, which must be rendered for the database at hand. */
    private void requireFittingDialect() {
        Dialect dialect = sessionFactory.getJdbcServices().getDialect();
        if (jdbc.database() == DatabaseKind.MARIADB && !(dialect instanceof MariaDBDialect)) {
            throw new IllegalStateException("the database is MariaDB but Hibernate runs it with " + dialect.getClass().getSimpleName()
                    + " (MySQL Connector/J reports MariaDB as MySQL, so Hibernate's detection takes it for MySQL "
                    + dialect.getVersion() + "), which renders locking SQL that MariaDB refuses (FOR UPDATE OF): set "
                    + "hibernate.dialect=org.hibernate.dialect.MariaDBDialect (Spring Boot: spring.jpa.database-platform), "
                    + "or use the MariaDB driver");
        }
    }

    /** Borrows connections from the factory's connection provider, for catalog look-ups. */
    private static DataSource connectionsOf(EntityManagerFactory emf) {
        ConnectionProvider provider = emf.unwrap(SessionFactoryImplementor.class).getServiceRegistry()
                .requireService(ConnectionProvider.class);
        if (provider.isUnwrappableAs(DataSource.class)) {
            return provider.unwrap(DataSource.class);
        }
        return new ProviderDataSource(provider);
    }

    static EntityPersister persister(SessionFactoryImplementor factory, Class<?> type) {
        return factory.getMappingMetamodel().getEntityDescriptor(type);
    }
}
