package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.optimistic.CasOutcome;
import dev.latchkey.toolkit.optimistic.Guard;
import dev.latchkey.toolkit.optimistic.OptimisticTable;
import dev.latchkey.toolkit.pessimistic.LockOutcome;
import dev.latchkey.toolkit.pessimistic.RowLocker;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.Transactor;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * 64 buyers race for one item with stock 1 under each strategy: exactly one buys, stock never
 * goes below zero, and every other buyer gets a clear answer (sold out, or busy).
 */
class LastItemContractTest {

    enum Answer { BOUGHT, SOLD_OUT, BUSY }

    interface Strategy {
        Answer buy(Connection c, int buyer) throws Exception;
    }

    private static final int BUYERS = 64;
    private static final AtomicLong PURCHASE_IDS = new AtomicLong();

    private static void recordPurchase(Connection c, int buyer) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO purchase (id, item_id, buyer) VALUES (?, 1, ?)")) {
            ps.setLong(1, PURCHASE_IDS.incrementAndGet());
            ps.setInt(2, buyer);
            ps.executeUpdate();
        }
    }

    /** With the item's row locked: sold out, or take one unit and record the purchase. */
    private static Answer sellUnderLock(Connection c, LockOutcome.Locked locked, int buyer) throws Exception {
        int stock = ((Number) locked.rows().get(0).get("stock")).intValue();
        if (stock == 0) {
            return Answer.SOLD_OUT;
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE item SET stock = stock - 1 WHERE id = 1")) {
            ps.executeUpdate();
        }
        recordPurchase(c, buyer);
        return Answer.BOUGHT;
    }

    private static Map<Answer, Integer> race(TestDatabase db, Strategy strategy, RetryPolicy policy) throws Exception {
        Transactor tx = Toolkit.create(db.dataSource()).transactor(policy);
        ExecutorService pool = Executors.newFixedThreadPool(BUYERS);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Answer>> answers = new ArrayList<>();
            for (int i = 0; i < BUYERS; i++) {
                int buyer = i;
                answers.add(pool.submit(() -> {
                    start.await();
                    return tx.execute("buy", c -> strategy.buy(c, buyer));
                }));
            }
            start.countDown();
            Map<Answer, Integer> counts = new EnumMap<>(Answer.class);
            for (Future<Answer> f : answers) {
                counts.merge(f.get(), 1, Integer::sum);
            }
            return counts;
        } finally {
            pool.shutdownNow();
        }
    }

    private static void assertExactlyOneSale(TestDatabase db, Map<Answer, Integer> answers) throws Exception {
        assertThat(answers.get(Answer.BOUGHT)).as("buyers who bought").isEqualTo(1);
        assertThat(answers.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(BUYERS);
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT stock FROM item WHERE id = 1")).isZero();
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT COUNT(*) FROM purchase")).isEqualTo(1);
    }

    private static void setUp(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 1);
    }

    @DatabaseTest
    void optimisticVersionCompareAndSet(TestDatabase db) throws Exception {
        setUp(db);
        OptimisticTable items = Toolkit.create(db.dataSource()).optimistic(Fixtures.ITEM);
        Map<Answer, Integer> answers = race(db, (c, buyer) -> {
            long stock;
            long version;
            try (PreparedStatement ps = c.prepareStatement("SELECT stock, version FROM item WHERE id = 1");
                    ResultSet rs = ps.executeQuery()) {
                rs.next();
                stock = rs.getLong(1);
                version = rs.getLong(2);
            }
            if (stock == 0) {
                return Answer.SOLD_OUT;
            }
            items.update(1L).expectVersion(version).set("stock", stock - 1).execute(c).orThrow(); // stale: retried
            recordPurchase(c, buyer);
            return Answer.BOUGHT;
        }, RetryPolicy.defaults().withMaxAttempts(200).withBackoff(Duration.ofMillis(1), Duration.ofMillis(50)));
        assertExactlyOneSale(db, answers);
        assertThat(answers.get(Answer.SOLD_OUT)).isEqualTo(BUYERS - 1);
    }

    @DatabaseTest
    void atomicConditionalUpdate(TestDatabase db) throws Exception {
        setUp(db);
        OptimisticTable items = Toolkit.create(db.dataSource()).optimistic(Fixtures.ITEM);
        Map<Answer, Integer> answers = race(db, (c, buyer) -> {
            CasOutcome outcome = items.update(1L).add("stock", -1).when(Guard.greaterThan("stock", 0)).execute(c);
            if (!outcome.applied()) {
                return Answer.SOLD_OUT;
            }
            recordPurchase(c, buyer);
            return Answer.BOUGHT;
        }, RetryPolicy.defaults().withMaxAttempts(50));
        assertExactlyOneSale(db, answers);
    }

    @DatabaseTest
    void pessimisticWait(TestDatabase db) throws Exception {
        setUp(db);
        RowLocker locker = Toolkit.create(db.dataSource()).rowLocks(Fixtures.ITEM);
        Map<Answer, Integer> answers = race(db, (c, buyer) -> {
            LockOutcome.Locked locked = locker.lock(1L).waitAtMost(Duration.ofSeconds(30)).columns("stock").execute(c).orThrow();
            return sellUnderLock(c, locked, buyer);
        }, RetryPolicy.defaults().withMaxAttempts(20));
        assertExactlyOneSale(db, answers);
        assertThat(answers.get(Answer.SOLD_OUT)).isEqualTo(BUYERS - 1);
    }

    @DatabaseTest
    void pessimisticNoWait(TestDatabase db) throws Exception {
        setUp(db);
        RowLocker locker = Toolkit.create(db.dataSource()).rowLocks(Fixtures.ITEM);
        Map<Answer, Integer> answers = race(db, (c, buyer) -> {
            LockOutcome outcome = locker.lock(1L).noWait().columns("stock").execute(c);
            if (!(outcome instanceof LockOutcome.Locked locked)) {
                return Answer.BUSY; // "someone else is buying this, try again"
            }
            return sellUnderLock(c, locked, buyer);
        }, RetryPolicy.none());
        assertExactlyOneSale(db, answers);
    }

    @DatabaseTest
    void counterWithOptimisticRetryAddsUpExactly(TestDatabase db) throws Exception {
        setUp(db);
        OptimisticTable items = Toolkit.create(db.dataSource()).optimistic(Fixtures.ITEM);
        runCounter(db, RetryPolicy.defaults().withMaxAttempts(500).withBackoff(Duration.ofMillis(1), Duration.ofMillis(20)), c -> {
            long version = items.currentVersion(c, 1L).map(v -> (Long) v).orElseThrow();
            items.update(1L).expectVersion(version).add("stock", 1).execute(c).orThrow();
        });
    }

    @DatabaseTest
    void counterWithRowLocksAddsUpExactly(TestDatabase db) throws Exception {
        setUp(db);
        RowLocker locker = Toolkit.create(db.dataSource()).rowLocks(Fixtures.ITEM);
        runCounter(db, RetryPolicy.defaults().withMaxAttempts(20), c -> {
            locker.lock(1L).waitAtMost(Duration.ofSeconds(30)).execute(c).orThrow();
            try (PreparedStatement ps = c.prepareStatement("UPDATE item SET stock = stock + 1 WHERE id = 1")) {
                ps.executeUpdate();
            }
        });
    }

    interface Increment {
        void run(Connection c) throws Exception;
    }

    private static void runCounter(TestDatabase db, RetryPolicy policy, Increment increment) throws Exception {
        Transactor tx = Toolkit.create(db.dataSource()).transactor(policy);
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 200; i++) {
                        tx.execute("increment", c -> {
                            increment.run(c);
                            return null;
                        });
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT stock FROM item WHERE id = 1")).isEqualTo(1 + 3200);
    }
}
