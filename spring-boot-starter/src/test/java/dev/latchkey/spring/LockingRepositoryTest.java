package dev.latchkey.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.latchkey.spring.app.Item;
import dev.latchkey.spring.app.ItemRepository;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.FailureClassifier;
import dev.latchkey.toolkit.jpa.EntityLockOutcome;
import jakarta.persistence.EntityManager;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.springframework.context.ApplicationContext;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.orm.ObjectOptimisticLockingFailureException;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

/** The LockingRepository fragment, and failures as they come out of Spring Data repositories (exception translation on). */
class LockingRepositoryTest {

    private static TransactionTemplate tx(ApplicationContext context) {
        return new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
    }

    /** Holds row {@code id} locked in a transaction on another thread until the returned latch is counted down. */
    private static CountDownLatch holdRow(ApplicationContext context, long id) throws InterruptedException {
        ItemRepository items = context.getBean(ItemRepository.class);
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture.runAsync(() -> tx(context).executeWithoutResult(s -> {
            items.lockById(id, Duration.ZERO).orThrow();
            locked.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
        return release;
    }

    private static long millisOf(Runnable action) {
        long start = System.nanoTime();
        action.run();
        return (System.nanoTime() - start) / 1_000_000;
    }

    @DatabaseTest
    void locksByIdWithAWaitAndClaimsWhatNobodyHolds(TestDatabase db) throws Exception {
        Shop.on(db, 3).run(context -> {
            ItemRepository items = context.getBean(ItemRepository.class);
            CountDownLatch release = holdRow(context, 1);
            try {
                tx(context).executeWithoutResult(s -> {
                    EntityLockOutcome<Item>[] bounded = new EntityLockOutcome[1];
                    long took = millisOf(() -> bounded[0] = items.lockById(1L, Duration.ofMillis(500)));
                    assertThat(bounded[0]).isInstanceOfSatisfying(EntityLockOutcome.Failed.class,
                            f -> assertThat(f.contention()).isEqualTo(Contention.LOCK_TIMEOUT));
                    assertThat(took).isBetween(450L, db.database() == Database.MARIADB ? 2_000L : 1_500L);

                    EntityLockOutcome<Item> noWait = items.lockById(1L, Duration.ZERO);
                    assertThat(noWait).isInstanceOfSatisfying(EntityLockOutcome.Failed.class,
                            f -> assertThat(f.contention()).isEqualTo(Contention.LOCK_NOT_AVAILABLE));

                    assertThat(items.claim(List.of(3L, 1L, 2L))).extracting(Item::getId).containsExactly(2L, 3L);
                    assertThat(items.lockAllById(List.of(3L, 2L), Duration.ofMillis(500)).orThrow().entities())
                            .extracting(Item::getId).containsExactly(2L, 3L);
                });
            } finally {
                release.countDown();
            }
            assertThatThrownBy(() -> items.lockById(1L, Duration.ZERO)).hasMessageContaining("transaction");
        });
    }

    /**
     * Peer pin: Spring Data's {@code @Lock} with {@code @QueryHints} lock timeouts, through Spring's
     * exception translation, on each database (the same Hibernate behaviour JpaPeerPinTest pins).
     */
    @DatabaseTest
    void peerPinLockAndQueryHintsThroughSpringData(TestDatabase db) throws Exception {
        Shop.on(db, 1).run(context -> {
            ItemRepository items = context.getBean(ItemRepository.class);
            CountDownLatch release = holdRow(context, 1);
            try {
                Throwable[] noWait = new Throwable[1];
                long noWaitMs = millisOf(() -> noWait[0] = catchThrowable(() -> tx(context).executeWithoutResult(s -> items.findWithNoWaitById(1L))));
                Throwable[] bounded = new Throwable[1];
                long boundedMs = millisOf(() -> bounded[0] = catchThrowable(() -> tx(context).executeWithoutResult(s -> items.findWaitingAtMost500MsById(1L))));
                assertThat(noWait[0]).isInstanceOf(org.springframework.dao.PessimisticLockingFailureException.class);
                assertThat(noWaitMs).isLessThan(1_000);
                assertThat(FailureClassifier.classify(noWait[0]))
                        .contains(db.database() == Database.POSTGRESQL ? Contention.LOCK_NOT_AVAILABLE : Contention.LOCK_TIMEOUT);
                assertThat(bounded[0]).isInstanceOf(org.springframework.dao.PessimisticLockingFailureException.class);
                assertThat(FailureClassifier.classify(bounded[0])).contains(Contention.LOCK_TIMEOUT);
                assertThat(boundedMs).as("PostgreSQL honours 500 ms; MariaDB and H2 wait a whole second")
                        .isBetween(db.database() == Database.POSTGRESQL ? 400L : 900L, 2_500L);
            } finally {
                release.countDown();
            }
        });
    }

    @DatabaseTest
    void aStaleVersionThroughARepositoryIsAConflictAndAUniqueViolationIsNotContention(TestDatabase db) throws Exception {
        Shop.on(db, 1).run(context -> {
            ItemRepository items = context.getBean(ItemRepository.class);
            Item stale = items.findById(1L).orElseThrow();
            Shop.bumpBehindTheBack(db, 1);
            stale.setStock(0);
            Throwable conflict = catchThrowable(() -> items.saveAndFlush(stale));
            assertThat(conflict).isInstanceOf(ObjectOptimisticLockingFailureException.class);
            assertThat(FailureClassifier.classify(conflict)).contains(Contention.CONFLICT);

            Throwable duplicate = catchThrowable(() -> tx(context).executeWithoutResult(s -> items.insertRaw(1L)));
            assertThat(duplicate).isInstanceOf(DataIntegrityViolationException.class);
            assertThat(FailureClassifier.classify(duplicate)).isEmpty();
        });
    }

    @DatabaseTest
    void aDeadlockThroughRepositoriesIsADeadlock(TestDatabase db) throws Exception {
        Shop.on(db, 2).run(context -> {
            ItemRepository items = context.getBean(ItemRepository.class);
            CountDownLatch bothHoldOne = new CountDownLatch(2);
            Consumer<long[]> crossing = order -> tx(context).executeWithoutResult(s -> {
                Item first = items.findById(order[0]).orElseThrow();
                first.setStock(first.getStock() + 1);
                items.saveAndFlush(first);
                bothHoldOne.countDown();
                try {
                    bothHoldOne.await(10, TimeUnit.SECONDS);
                    Thread.sleep(order[0] == 1 ? 0 : 300); // one waits first, the other closes the cycle
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                Item second = items.findById(order[1]).orElseThrow();
                second.setStock(second.getStock() + 1);
                items.saveAndFlush(second);
            });
            ExecutorService two = Executors.newFixedThreadPool(2); // the common pool may have one thread
            Throwable failA;
            Throwable failB;
            try {
                Future<Throwable> a = two.submit(() -> catchThrowable(() -> crossing.accept(new long[] {1, 2})));
                Future<Throwable> b = two.submit(() -> catchThrowable(() -> crossing.accept(new long[] {2, 1})));
                failA = a.get(30, TimeUnit.SECONDS);
                failB = b.get(30, TimeUnit.SECONDS);
            } finally {
                two.shutdownNow();
            }
            Throwable victim = failA != null ? failA : failB;
            assertThat(victim).as("one of the two is the victim").isNotNull();
            assertThat(failA == null || failB == null).as("and only one").isTrue();
            assertThat(victim).isInstanceOf(org.springframework.dao.DataAccessException.class);
            assertThat(FailureClassifier.classify(victim)).contains(Contention.DEADLOCK);
        });
    }

    /** PostgreSQL's REPEATABLE READ and MariaDB's snapshot isolation refuse a stale update; Spring reports it as a lock failure. */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB})
    void aSnapshotConflictThroughSpringIsASerializationFailure(TestDatabase db) throws Exception {
        Shop.on(db, 1).run(context -> {
            ItemRepository items = context.getBean(ItemRepository.class);
            EntityManager em = context.getBean(EntityManager.class);
            TransactionTemplate repeatable = tx(context);
            repeatable.setIsolationLevel(TransactionDefinition.ISOLATION_REPEATABLE_READ);
            Throwable failure = catchThrowable(() -> repeatable.executeWithoutResult(s -> {
                if (db.database() == Database.MARIADB) {
                    em.createNativeQuery("SET SESSION innodb_snapshot_isolation = ON").executeUpdate();
                }
                Item item = items.findById(1L).orElseThrow(); // the snapshot is taken
                Shop.bumpBehindTheBack(db, 1);
                item.setStock(0);
                items.saveAndFlush(item);
            }));
            assertThat(failure).isInstanceOf(org.springframework.dao.DataAccessException.class);
            // what Spring makes of it differs: PostgreSQL's 40001 becomes CannotAcquireLockException, MariaDB's 1020 a bare JpaSystemException
            assertThat(failure).isInstanceOf(db.database() == Database.POSTGRESQL
                    ? org.springframework.dao.CannotAcquireLockException.class : org.springframework.orm.jpa.JpaSystemException.class);
            assertThat(FailureClassifier.classify(failure)).contains(Contention.SERIALIZATION_FAILURE);
        });
    }
}
