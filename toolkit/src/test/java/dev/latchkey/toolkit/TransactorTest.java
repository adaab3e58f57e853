package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.ContentionException;
import dev.latchkey.toolkit.metrics.micrometer.MicrometerToolkitMetrics;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.TransactionException;
import dev.latchkey.toolkit.retry.Transactor;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TransactorTest {

    @Test
    void backoffGrowsExponentiallyUpToItsCapWithFullJitter() {
        RetryPolicy policy = RetryPolicy.defaults().withBackoff(Duration.ofMillis(10), Duration.ofMillis(100));
        assertThat(policy.backoffCap(1)).isEqualTo(Duration.ofMillis(10));
        assertThat(policy.backoffCap(2)).isEqualTo(Duration.ofMillis(20));
        assertThat(policy.backoffCap(4)).isEqualTo(Duration.ofMillis(80));
        assertThat(policy.backoffCap(9)).isEqualTo(Duration.ofMillis(100));
        for (int i = 0; i < 1000; i++) {
            assertThat(policy.backoff(3)).isBetween(Duration.ZERO, Duration.ofMillis(40));
        }
    }

    @Test
    void aPolicyRefusesNonsense() {
        assertThatThrownBy(() -> RetryPolicy.defaults().withMaxAttempts(0)).hasMessageContaining("at least 1");
        assertThatThrownBy(() -> RetryPolicy.defaults().withBackoff(Duration.ofMillis(-1), Duration.ofMillis(5)))
                .hasMessageContaining("negative");
        assertThatThrownBy(() -> RetryPolicy.defaults().withMultiplier(0.5)).hasMessageContaining("multiplier");
    }

    @DatabaseTest
    void whenAttemptsRunOutTheLastFailureIsThrownWithTheEarlierOnesSuppressed(TestDatabase db) {
        List<Duration> pauses = new ArrayList<>();
        Transactor tx = new Transactor(db.dataSource(), RetryPolicy.defaults().withMaxAttempts(3),
                dev.latchkey.toolkit.metrics.ToolkitMetrics.NONE, pauses::add);
        AtomicInteger attempts = new AtomicInteger();
        assertThatThrownBy(() -> tx.execute("always-conflicts", c -> {
            throw new ContentionException(Contention.CONFLICT, "attempt " + attempts.incrementAndGet());
        })).isInstanceOf(ContentionException.class).hasMessage("attempt 3")
                .satisfies(e -> assertThat(e.getSuppressed()).extracting(Throwable::getMessage).containsExactly("attempt 1", "attempt 2"));
        assertThat(pauses).hasSize(2);
    }

    @DatabaseTest
    void failuresThatAreNotContentionAreNotRetriedAndRollBack(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Transactor tx = Toolkit.create(db.dataSource()).transactor(RetryPolicy.defaults());
        AtomicInteger attempts = new AtomicInteger();
        assertThatThrownBy(() -> tx.execute(c -> {
            attempts.incrementAndGet();
            try (Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO purchase (id, item_id, buyer) VALUES (1, 1, 1)");
                s.executeUpdate("INSERT INTO purchase (id, item_id, buyer) VALUES (1, 1, 1)"); // duplicate key
            }
            return null;
        })).isInstanceOf(TransactionException.class).hasCauseInstanceOf(SQLException.class);
        assertThat(attempts).hasValue(1);
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT COUNT(*) FROM purchase")).isZero();
    }

    @DatabaseTest
    void aProvokedDeadlockIsClassifiedAndRetriedToSuccess(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 0);
        Fixtures.insertItem(db.dataSource(), 2, 0);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Transactor tx = Toolkit.create(db.dataSource(), new MicrometerToolkitMetrics(registry)).transactor(RetryPolicy.defaults());
        CyclicBarrier bothHoldOneRow = new CyclicBarrier(2);
        AtomicInteger firstAttempts = new AtomicInteger();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        CompletableFuture<Void> a = CompletableFuture.runAsync(() -> tx.execute("a-then-b", c -> {
            crossUpdate(c, 1, 2, bothHoldOneRow, firstAttempts.incrementAndGet() == 1);
            return null;
        }), pool);
        AtomicInteger secondAttempts = new AtomicInteger();
        CompletableFuture<Void> b = CompletableFuture.runAsync(() -> tx.execute("b-then-a", c -> {
            crossUpdate(c, 2, 1, bothHoldOneRow, secondAttempts.incrementAndGet() == 1);
            return null;
        }), pool);
        try {
            a.get(30, TimeUnit.SECONDS);
            b.get(30, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT SUM(stock) FROM item")).isEqualTo(4);
        double deadlocks = registry.find("latchkey.contention").tag("kind", "deadlock").counters().stream()
                .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
        double retries = registry.find("latchkey.retries").counters().stream().mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
        assertThat(deadlocks).isGreaterThanOrEqualTo(1);
        assertThat(retries).isGreaterThanOrEqualTo(1);
        assertThat(firstAttempts.get() + secondAttempts.get()).isGreaterThanOrEqualTo(3);
    }

    private static void crossUpdate(Connection c, int first, int second, CyclicBarrier barrier, boolean meet) throws Exception {
        try (Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE item SET stock = stock + 1 WHERE id = " + first);
            if (meet) {
                barrier.await(10, TimeUnit.SECONDS); // both now hold one row and want the other's
            }
            s.executeUpdate("UPDATE item SET stock = stock + 1 WHERE id = " + second);
        }
    }

    @DatabaseTest
    void daosJoinTheTransactionThroughTheBoundDataSource(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Transactor tx = Toolkit.create(db.dataSource()).transactor(RetryPolicy.none());
        assertThatThrownBy(() -> tx.execute(c -> {
            try (Connection dao = tx.dataSource().getConnection(); Statement s = dao.createStatement()) {
                s.executeUpdate("INSERT INTO purchase (id, item_id, buyer) VALUES (1, 1, 1)");
            } // closing the DAO's connection must not commit or end anything
            throw new IllegalStateException("payment declined");
        })).hasMessage("payment declined");
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT COUNT(*) FROM purchase")).isZero();
        tx.execute(c -> {
            try (Connection dao = tx.dataSource().getConnection(); Statement s = dao.createStatement()) {
                s.executeUpdate("INSERT INTO purchase (id, item_id, buyer) VALUES (1, 1, 1)");
                assertThatThrownBy(dao::commit).isInstanceOf(IllegalStateException.class);
            }
            return null;
        });
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT COUNT(*) FROM purchase")).isEqualTo(1);
    }

    /** Regression: one static thread-local once made a transactor for A join B's transaction and write into B. */
    @DatabaseTest
    void aTransactorForAnotherDatabaseNeverJoinsThisDatabasesTransaction(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        org.h2.jdbcx.JdbcDataSource other = new org.h2.jdbcx.JdbcDataSource();
        other.setURL("jdbc:h2:mem:other-" + java.util.UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        try (Connection c = other.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE purchase (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL, buyer INT NOT NULL)");
        }
        Transactor onB = Toolkit.create(db.dataSource()).transactor(RetryPolicy.none());
        Transactor onA = Toolkit.create(other).transactor(RetryPolicy.none());
        onB.execute(b -> {
            try (Statement s = b.createStatement()) {
                s.executeUpdate("INSERT INTO purchase (id, item_id, buyer) VALUES (1, 1, 1)");
            }
            onA.execute(a -> {
                assertThat(a).isNotSameAs(b);
                assertThat(onA.currentConnection()).containsSame(a);
                try (Connection dao = onA.dataSource().getConnection(); Statement s = dao.createStatement()) {
                    s.executeUpdate("INSERT INTO purchase (id, item_id, buyer) VALUES (2, 2, 2)");
                }
                return null;
            });
            assertThat(onB.currentConnection()).containsSame(b);
            assertThat(onA.currentConnection()).isEmpty();
            try (Connection dao = onB.dataSource().getConnection(); Statement s = dao.createStatement()) {
                s.executeUpdate("INSERT INTO purchase (id, item_id, buyer) VALUES (3, 3, 3)");
            }
            return null;
        });
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT COUNT(*) FROM purchase WHERE id IN (1, 3)")).isEqualTo(2);
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT COUNT(*) FROM purchase WHERE id = 2")).isZero();
        assertThat(Fixtures.queryLong(other, "SELECT COUNT(*) FROM purchase WHERE id = 2")).isEqualTo(1);
        assertThat(Fixtures.queryLong(other, "SELECT COUNT(*) FROM purchase")).isEqualTo(1);
    }
}
