package dev.latchkey.shop;

import dev.latchkey.shop.jpa.ShopItem;
import dev.latchkey.shop.jpa.ShopOrder;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.jpa.EntityLockOutcome;
import dev.latchkey.toolkit.jpa.EntityLocks;
import dev.latchkey.toolkit.jpa.FencedEntities;
import dev.latchkey.toolkit.jpa.FencedEntityOutcome;
import dev.latchkey.toolkit.jpa.JpaToolkit;
import dev.latchkey.toolkit.jpa.JpaTransactor;
import dev.latchkey.toolkit.retry.RetryPolicy;
import jakarta.persistence.EntityManagerFactory;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.hibernate.jpa.HibernatePersistenceConfiguration;

/**
 * The shop's checkout written the way a JPA application would write it: entities, a {@code @Version},
 * JPQL, and the JPA toolkit for retries, row locks and fenced writes. It sells from the same tables
 * as the JDBC checkout ({@link Shop}), so the arena can run both side by side.
 */
public final class JpaCheckout implements AutoCloseable {

    private final Shop shop;
    private final EntityManagerFactory emf;
    private final JpaTransactor transactor;
    private final EntityLocks<ShopItem> items;
    private final FencedEntities<ShopItem> fencedItems;
    private final Duration lockWait;

    /** A checkout on the shop's database; {@code shop} provides the catalog and the coordinator lock's queueing. */
    public JpaCheckout(Shop shop, Duration lockWait) {
        this.shop = shop;
        this.lockWait = lockWait;
        DataSource dataSource = shop.dataSource();
        HibernatePersistenceConfiguration config = new HibernatePersistenceConfiguration("latchkey-shop")
                .managedClass(ShopItem.class)
                .managedClass(ShopOrder.class)
                .property("hibernate.connection.datasource", dataSource)
                .property("hibernate.hbm2ddl.auto", "none")
                // the migrations quote every name (lower case on H2 too), so Hibernate must quote them as well
                .property("hibernate.globally_quoted_identifiers", "true");
        if (dev.latchkey.toolkit.Toolkit.create(dataSource).database() == DatabaseKind.MARIADB) {
            // MySQL Connector/J reports MariaDB as MySQL, and Hibernate would render MySQL's locking SQL
            config.property("hibernate.dialect", "org.hibernate.dialect.MariaDBDialect");
        }
        this.emf = config.createEntityManagerFactory();
        JpaToolkit jpa = JpaToolkit.create(emf, dataSource, dev.latchkey.toolkit.metrics.ToolkitMetrics.NONE);
        this.transactor = jpa.transactor(RetryPolicy.defaults().withMaxAttempts(1000).withBackoff(Duration.ofMillis(1), Duration.ofMillis(50)));
        this.items = jpa.locks(ShopItem.class);
        this.fencedItems = jpa.fenced(ShopItem.class, "fence_token");
    }

    /** Buys one unit of the item for the buyer; {@code payment} is how long paying takes. */
    public Purchase checkout(long itemId, String buyer, Duration payment, Strategy strategy) {
        long start = System.nanoTime();
        AtomicInteger attempts = new AtomicInteger();
        Purchase.Outcome outcome = switch (strategy) {
            case OPTIMISTIC -> transactor.execute("jpa-checkout-optimistic", em -> {
                attempts.incrementAndGet();
                ShopItem item = em.find(ShopItem.class, itemId);
                if (item.getStock() <= 0) {
                    return Purchase.Outcome.SOLD_OUT;
                }
                Shop.pay(payment);
                item.takeOne(); // @Version: a concurrent buyer's commit makes this one's commit fail, and it starts over
                em.persist(new ShopOrder(itemId, strategy.id(), buyer, null));
                return Purchase.Outcome.PURCHASED;
            });
            case PESSIMISTIC_WAIT, PESSIMISTIC_NOWAIT -> transactor.execute("jpa-checkout-" + strategy.id(), em -> {
                attempts.incrementAndGet();
                EntityLocks<ShopItem>.Request request = items.lock(itemId).operation("jpa-checkout-" + strategy.id());
                EntityLockOutcome<ShopItem> lock = strategy == Strategy.PESSIMISTIC_NOWAIT
                        ? request.noWait().execute(em) : request.waitAtMost(lockWait).execute(em);
                if (!(lock instanceof EntityLockOutcome.Locked<ShopItem> locked)) {
                    return Purchase.Outcome.BUSY;
                }
                if (locked.entities().isEmpty() || locked.single().getStock() <= 0) {
                    return Purchase.Outcome.SOLD_OUT;
                }
                Shop.pay(payment); // while holding the row lock
                locked.single().takeOne();
                em.persist(new ShopOrder(itemId, strategy.id(), buyer, null));
                return Purchase.Outcome.PURCHASED;
            });
            case CONDITIONAL_UPDATE -> {
                Purchase.Outcome reserved = transactor.execute("jpa-checkout-conditional", em -> {
                    attempts.incrementAndGet();
                    int taken = em.createQuery("update ShopItem i set i.stock = i.stock - 1, i.version = i.version + 1 "
                            + "where i.id = :id and i.stock > 0").setParameter("id", itemId).executeUpdate();
                    if (taken == 0) {
                        return Purchase.Outcome.SOLD_OUT;
                    }
                    em.persist(new ShopOrder(itemId, strategy.id(), buyer, null));
                    return Purchase.Outcome.PURCHASED;
                });
                if (reserved == Purchase.Outcome.PURCHASED) {
                    Shop.pay(payment); // after commit: the unit is reserved and nothing is held while paying
                }
                yield reserved;
            }
            case COORDINATOR_LOCK -> shop.coordinatorCheckout(itemId, attempts, lease -> transactor.execute("jpa-checkout-coordinator-lock", em -> {
                attempts.incrementAndGet();
                if (em.find(ShopItem.class, itemId).getStock() <= 0) {
                    return Purchase.Outcome.SOLD_OUT;
                }
                Shop.pay(payment);
                long token = lease.sequencer().generation();
                boolean[] took = new boolean[1];
                FencedEntityOutcome<ShopItem> written = fencedItems.write(em, itemId, () -> token, item -> {
                    if (item.getStock() > 0) {
                        item.takeOne();
                        took[0] = true;
                    }
                });
                if (!written.accepted()) {
                    return Purchase.Outcome.BUSY; // a newer holder of the lock has written: this lease was lost
                }
                if (!took[0]) {
                    return Purchase.Outcome.SOLD_OUT;
                }
                em.persist(new ShopOrder(itemId, Strategy.COORDINATOR_LOCK.id(), buyer, token));
                return Purchase.Outcome.PURCHASED;
            }));
        };
        return new Purchase(outcome, attempts.get(), Duration.ofNanos(System.nanoTime() - start));
    }

    @Override
    public void close() {
        emf.close();
    }
}
