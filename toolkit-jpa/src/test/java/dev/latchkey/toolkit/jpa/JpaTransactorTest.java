package dev.latchkey.toolkit.jpa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import dev.latchkey.toolkit.retry.RetryPolicy;
import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityNotFoundException;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.ArrayList;
import java.util.List;

class JpaTransactorTest {

    /** Plenty of attempts with short pauses: 64 writers on one row lose often, and each must get through. */
    static final RetryPolicy PATIENT = RetryPolicy.defaults().withMaxAttempts(500).withBackoff(Duration.ofMillis(1), Duration.ofMillis(40));

    @DatabaseTest
    void sixtyFourThreadsIncrementOneVersionedEntityEachAttemptInANewTransaction(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 16)) {
            AtomicInteger attempts = new AtomicInteger();
            AtomicInteger conflicts = new AtomicInteger();
            ToolkitMetrics metrics = new ToolkitMetrics() {
                @Override
                public void attempt(String operation) {
                    attempts.incrementAndGet();
                }

                @Override
                public void contention(String operation, Contention kind) {
                    conflicts.incrementAndGet();
                }
            };
            JpaTransactor tx = JpaToolkit.create(jpa.emf, metrics).transactor(PATIENT);
            Set<EntityManager> managers = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
            AtomicInteger runs = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(64);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    futures.add(pool.submit(() -> tx.execute("increment", em -> {
                        runs.incrementAndGet();
                        managers.add(em);
                        Item item = em.find(Item.class, 1L);
                        item.setStock(item.getStock() + 1);
                        return item;
                    })));
                }
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(jpa.stock(1)).isEqualTo(10 + 64);
            assertThat(runs.get()).as("every attempt ran the work once").isEqualTo(attempts.get());
            assertThat(managers).as("every attempt had its own EntityManager").hasSize(runs.get());
            assertThat(attempts.get()).isEqualTo(64 + conflicts.get());
            System.out.printf("%s: 64 increments took %d attempts (%d contentions)%n", db, attempts.get(), conflicts.get());
        }
    }

    @DatabaseTest
    void modifyReadsTheEntityAgainAfterAStaleVersion(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            JpaTransactor tx = JpaToolkit.create(jpa.emf).transactor(PATIENT);
            AtomicInteger calls = new AtomicInteger();
            Item done = tx.modify("restock", Item.class, 1L, item -> {
                if (calls.incrementAndGet() == 1) {
                    // someone else writes between our read and our commit
                    writeBehindOurBack(jpa);
                }
                item.setStock(item.getStock() + 5);
            });
            assertThat(calls).hasValue(2);
            assertThat(done.getStock()).isEqualTo(10 + 1 + 5);
            assertThat(jpa.stock(1)).isEqualTo(16);
            assertThatThrownBy(() -> tx.modify("restock", Item.class, 99L, item -> { }))
                    .isInstanceOf(EntityNotFoundException.class).hasMessageContaining("99");
        }
    }

    private static void writeBehindOurBack(Jpa jpa) {
        Thread other = new Thread(() -> {
            EntityManager em = jpa.begin();
            try {
                Item item = em.find(Item.class, 1L);
                item.setStock(item.getStock() + 1);
                em.getTransaction().commit();
            } finally {
                Jpa.end(em);
            }
        });
        other.start();
        try {
            other.join();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @DatabaseTest
    void aNestedCallJoinsTheOuterTransactionAndDoesNotRetryOnItsOwn(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            JpaTransactor tx = JpaToolkit.create(jpa.emf).transactor(PATIENT);
            AtomicInteger inner = new AtomicInteger();
            assertThatThrownBy(() -> tx.execute("outer", outer -> tx.execute("inner", em -> {
                assertThat(em).isSameAs(outer);
                inner.incrementAndGet();
                throw new IllegalStateException("not contention");
            }))).isInstanceOf(IllegalStateException.class);
            assertThat(inner).hasValue(1);
            assertThat(tx.currentEntityManager()).isEmpty();
        }
    }
}
