package dev.latchkey.shop;

import dev.latchkey.client.LatchkeyException;
import dev.latchkey.client.Lease;
import dev.latchkey.client.Sequencer;
import dev.latchkey.client.Session;
import dev.latchkey.migrations.Migrations;
import dev.latchkey.toolkit.fencing.FenceOutcome;
import dev.latchkey.toolkit.fencing.FencedTable;
import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.optimistic.CasOutcome;
import dev.latchkey.toolkit.optimistic.Guard;
import dev.latchkey.toolkit.optimistic.OptimisticTable;
import dev.latchkey.toolkit.pessimistic.LockOutcome;
import dev.latchkey.toolkit.pessimistic.RowLocker;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.Transactor;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record2;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

/** The shop's checkout: one item, one buyer, under the strategy asked for. */
public final class Shop {

    static final TableSpec ITEMS = TableSpec.table("shop_item").key("id").version("version");

    // jOOQ quotes these names, so they match the lower-case tables the migrations create on every database.
    private static final Table<?> ITEM = table(name("shop_item"));
    private static final Field<Long> ITEM_ID = field(name("id"), Long.class);
    private static final Field<Long> ITEM_STOCK = field(name("stock"), Long.class);
    private static final Field<Long> ITEM_VERSION = field(name("version"), Long.class);
    private static final Table<?> ORDER = table(name("shop_order"));
    private static final Field<Long> ORDER_ITEM = field(name("item_id"), Long.class);
    private static final Settings SETTINGS = new Settings().withExecuteLogging(false);

    private final DataSource dataSource;
    private final OptimisticTable items;
    private final RowLocker locker;
    private final Transactor transactor;
    private final Duration lockWait;
    private final Session coordinator;
    private final java.util.Map<Long, java.util.concurrent.locks.ReentrantLock> localLocks = new java.util.concurrent.ConcurrentHashMap<>();
    private final FencedTable fencedItems;
    private final SQLDialect dialect;

    /**
     * @param lockWait how long a pessimistic buyer waits for the item's row lock before being told
     *                 the item is busy
     */
    public Shop(DataSource dataSource, Duration lockWait) {
        this(dataSource, lockWait, null);
    }

    /**
     * @param coordinator a coordinator session for the coordinator-lock strategy (null: that strategy
     *                    is unavailable)
     */
    public Shop(DataSource dataSource, Duration lockWait, Session coordinator) {
        Migrations.apply(dataSource, Migrations.Changelog.SHOP);
        this.coordinator = coordinator;
        this.dataSource = dataSource;
        Toolkit toolkit = Toolkit.create(dataSource);
        this.dialect = toolkit.database().jooqDialect();
        this.items = toolkit.optimistic(ITEMS);
        this.locker = toolkit.rowLocks(ITEMS);
        this.fencedItems = toolkit.fenced(TableSpec.table("shop_item").key("id").fence("fence_token"));
        this.transactor = toolkit.transactor(
                RetryPolicy.defaults().withMaxAttempts(1000).withBackoff(Duration.ofMillis(1), Duration.ofMillis(50)));
        this.lockWait = lockWait;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /** Puts an item in the catalog (or resets it) with the given stock and no orders. */
    public void stockItem(long id, String name, long priceCents, int stock) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            DSLContext dsl = dsl(c);
            dsl.deleteFrom(ORDER).where(ORDER_ITEM.eq(id)).execute();
            dsl.deleteFrom(ITEM).where(ITEM_ID.eq(id)).execute();
            dsl.insertInto(ITEM).columns(ITEM_ID, field(name("sku"), String.class), field(name("name"), String.class),
                            field(name("price_cents"), Long.class), ITEM_STOCK, ITEM_VERSION, field(name("updated_at"), Timestamp.class))
                    .values(id, "LK-" + id, name, priceCents, (long) stock, 0L, Timestamp.from(Instant.now()))
                    .execute();
            c.commit();
        }
    }

    /** Buys one unit of the item for the buyer; {@code payment} is how long paying takes. */
    public Purchase checkout(long itemId, String buyer, Duration payment, Strategy strategy) {
        long start = System.nanoTime();
        AtomicInteger attempts = new AtomicInteger();
        Purchase.Outcome outcome = switch (strategy) {
            case OPTIMISTIC -> transactor.execute("checkout-optimistic", c -> {
                attempts.incrementAndGet();
                long[] stockAndVersion = readStock(c, itemId);
                if (stockAndVersion[0] <= 0) {
                    return Purchase.Outcome.SOLD_OUT;
                }
                pay(payment);
                // a stale version throws a conflict, which the transactor retries from the top
                items.update(itemId).expectVersion(stockAndVersion[1]).set("stock", stockAndVersion[0] - 1).execute(c).orThrow();
                insertOrder(c, itemId, buyer, strategy, null);
                return Purchase.Outcome.PURCHASED;
            });
            case PESSIMISTIC_WAIT, PESSIMISTIC_NOWAIT -> transactor.execute("checkout-" + strategy.id(), c -> {
                attempts.incrementAndGet();
                var request = locker.lock(itemId).columns("stock").operation("checkout-" + strategy.id());
                LockOutcome lock = strategy == Strategy.PESSIMISTIC_NOWAIT
                        ? request.noWait().execute(c) : request.waitAtMost(lockWait).execute(c);
                if (!(lock instanceof LockOutcome.Locked locked)) {
                    return Purchase.Outcome.BUSY;
                }
                if (locked.rows().isEmpty() || ((Number) locked.rows().get(0).get("stock")).intValue() <= 0) {
                    return Purchase.Outcome.SOLD_OUT;
                }
                pay(payment); // while holding the row lock: everyone else waits or is turned away
                items.update(itemId).add("stock", -1).execute(c).orThrow();
                insertOrder(c, itemId, buyer, strategy, null);
                return Purchase.Outcome.PURCHASED;
            });
            case CONDITIONAL_UPDATE -> {
                Purchase.Outcome reserved = transactor.execute("checkout-conditional", c -> {
                    attempts.incrementAndGet();
                    CasOutcome taken = items.update(itemId).add("stock", -1).when(Guard.greaterThan("stock", 0)).execute(c);
                    if (!taken.applied()) {
                        return Purchase.Outcome.SOLD_OUT;
                    }
                    insertOrder(c, itemId, buyer, strategy, null);
                    return Purchase.Outcome.PURCHASED;
                });
                if (reserved == Purchase.Outcome.PURCHASED) {
                    pay(payment); // after commit: the unit is reserved and no lock is held while paying
                }
                yield reserved;
            }
            case COORDINATOR_LOCK -> coordinatorCheckout(itemId, attempts, lease -> fencedCheckout(lease, itemId, buyer, payment, attempts));
        };
        return new Purchase(outcome, attempts.get(), Duration.ofNanos(System.nanoTime() - start));
    }

    /**
     * The coordinator-lock strategy's queueing, shared by the JDBC and JPA checkouts: buyers of this
     * process queue locally, and the head of the queue holds the coordinator lock while {@code underLock}
     * runs (its writes fenced by the lease's sequencer).
     */
    Purchase.Outcome coordinatorCheckout(long itemId, AtomicInteger attempts, java.util.function.Function<Lease, Purchase.Outcome> underLock) {
        if (coordinator == null) {
            throw new IllegalStateException("the coordinator-lock strategy needs a coordinator session");
        }
        // Taking a distributed lock only to learn that the item sold out wastes two round trips:
        // stock only falls between restocks, so a buyer who reads 0 is answered at once.
        if (soldOut(itemId, attempts)) {
            return Purchase.Outcome.SOLD_OUT;
        }
        // A coordinator lock belongs to a session, and this instance's buyers share one session: the
        // session re-acquiring a lock it holds just gets it again. So buyers in this process queue on a
        // local lock first, and only its holder takes (and releases) the coordinator's lock.
        java.util.concurrent.locks.ReentrantLock local = localLocks.computeIfAbsent(itemId, id -> new java.util.concurrent.locks.ReentrantLock(true));
        long start = System.nanoTime();
        try {
            if (!local.tryLock(lockWait.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS)) {
                return Purchase.Outcome.BUSY;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Purchase.Outcome.BUSY;
        }
        try {
            if (soldOut(itemId, attempts)) { // the buyer ahead in this process may just have bought it
                return Purchase.Outcome.SOLD_OUT;
            }
            Duration left = lockWait.minusNanos(System.nanoTime() - start);
            return underCoordinatorLock(itemId, left.isNegative() ? Duration.ZERO : left, underLock);
        } finally {
            local.unlock();
        }
    }

    private boolean soldOut(long itemId, AtomicInteger attempts) {
        try (Connection c = dataSource.getConnection()) {
            if (readStock(c, itemId)[0] <= 0) {
                attempts.incrementAndGet();
                return true;
            }
            return false;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private Purchase.Outcome underCoordinatorLock(long itemId, Duration wait, java.util.function.Function<Lease, Purchase.Outcome> underLock) {
        Lease lease;
        try {
            lease = coordinator.acquire("/shop/locks/item-" + itemId, Sequencer.Mode.EXCLUSIVE, wait, Duration.ZERO);
        } catch (LatchkeyException e) {
            if (e.is("lock-busy")) {
                return Purchase.Outcome.BUSY;
            }
            throw e;
        }
        try (lease) {
            return underLock.apply(lease);
        }
    }

    private Purchase.Outcome fencedCheckout(Lease lease, long itemId, String buyer, Duration payment, AtomicInteger attempts) {
        return transactor.execute("checkout-coordinator-lock", c -> {
            attempts.incrementAndGet();
            long[] stockAndVersion = readStock(c, itemId);
            if (stockAndVersion[0] <= 0) {
                return Purchase.Outcome.SOLD_OUT;
            }
            pay(payment);
            // refused if a newer holder of the lock has written since: this lease was lost meanwhile
            FenceOutcome written = fencedItems.update(itemId, lease.sequencer()::generation)
                    .set("stock", stockAndVersion[0] - 1).set("version", stockAndVersion[1] + 1).execute(c);
            if (!written.accepted()) {
                return Purchase.Outcome.BUSY;
            }
            insertOrder(c, itemId, buyer, Strategy.COORDINATOR_LOCK, lease.sequencer().generation());
            return Purchase.Outcome.PURCHASED;
        });
    }

    /** Units in stock and orders placed for an item: {stock, orders}. */
    public long[] stockAndOrders(long itemId) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            return new long[] {readStock(c, itemId)[0], dsl(c).fetchCount(ORDER, ORDER_ITEM.eq(itemId))};
        }
    }

    private long[] readStock(Connection c, long itemId) {
        Record2<Long, Long> row = dsl(c).select(ITEM_STOCK, ITEM_VERSION).from(ITEM).where(ITEM_ID.eq(itemId)).fetchOne();
        if (row == null) {
            throw new IllegalArgumentException("no item " + itemId);
        }
        return new long[] {row.value1(), row.value2()};
    }

    private void insertOrder(Connection c, long itemId, String buyer, Strategy strategy, Long fenceToken) {
        dsl(c).insertInto(ORDER).columns(ORDER_ITEM, field(name("quantity"), Integer.class), field(name("strategy"), String.class),
                        field(name("buyer"), String.class), field(name("fence_token"), Long.class), field(name("created_at"), Timestamp.class))
                .values(itemId, 1, strategy.id(), buyer, fenceToken, Timestamp.from(Instant.now()))
                .execute();
    }

    private DSLContext dsl(Connection c) {
        return DSL.using(c, dialect, SETTINGS);
    }

    static void pay(Duration payment) {
        long start = System.nanoTime();
        if (payment.isZero()) {
            BuyerTrace.paid(start);
            return;
        }
        try {
            Thread.sleep(payment); // stands in for the payment provider's round trip
            BuyerTrace.paid(start);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("checkout interrupted during payment", e);
        }
    }
}
