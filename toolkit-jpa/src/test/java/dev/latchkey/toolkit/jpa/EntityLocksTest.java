package dev.latchkey.toolkit.jpa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.ContentionException;
import dev.latchkey.toolkit.retry.RetryPolicy;
import jakarta.persistence.EntityManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.hibernate.Session;

class EntityLocksTest {

    @DatabaseTest
    void locksManyIdsInOrderAndHandsBackTheEntitiesAsTheRowsNowAre(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 3, 4)) {
            EntityLocks<Item> items = JpaToolkit.create(jpa.emf).locks(Item.class);
            EntityManager em = jpa.begin();
            try {
                Item cached = em.find(Item.class, 2L); // in the persistence context, soon stale
                updateStockBehindTheEntityManager(jpa, 2L, 7);
                EntityLockOutcome.Locked<Item> locked = items.lock(3, 2L, 99L, 3L).execute(em).orThrow();
                assertThat(locked.entities()).extracting(Item::getId).containsExactly(2L, 3L);
                assertThat(locked.entities().get(0)).as("the cached entity is refreshed, not returned stale").isSameAs(cached);
                assertThat(cached.getStock()).isEqualTo(7);
                assertThat(locked.missing()).containsExactly(99L);
            } finally {
                Jpa.end(em);
            }
        }
    }

    private static void updateStockBehindTheEntityManager(Jpa jpa, long id, int stock) throws Exception {
        try (var c = jpa.db.connect(); Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE jpa_item SET stock = " + stock + " WHERE id = " + id);
        }
    }

    @DatabaseTest
    void noWaitOnAHeldRowAnswersNotAvailableAtOnceAndTheSameTransactionStillCommits(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 2, 4)) {
            EntityLocks<Item> items = JpaToolkit.create(jpa.emf).locks(Item.class);
            EntityManager holder = jpa.begin();
            EntityManager other = jpa.begin();
            try {
                items.lock(1L).execute(holder).orThrow();
                Item second = items.lock(2L).execute(other).orThrow().single();
                second.setStock(3);
                long start = System.nanoTime();
                EntityLockOutcome<Item> outcome = items.lock(1L).noWait().execute(other);
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                assertThat(outcome).isInstanceOfSatisfying(EntityLockOutcome.Failed.class, f -> {
                    assertThat(f.contention()).isEqualTo(Contention.LOCK_NOT_AVAILABLE);
                    assertThat(f.transactionAborted()).isFalse();
                });
                // (a bound a loaded CI machine keeps; without NOWAIT the request would wait out the lock
                // timeout, which the contention above tells apart anyway)
                assertThat(tookMs).as("NOWAIT answers at once").isLessThan(1_000);
                other.getTransaction().commit();
                assertThat(jpa.stock(2)).as("the transaction that met NOWAIT committed its work").isEqualTo(3);
            } finally {
                Jpa.end(other);
                Jpa.end(holder);
            }
        }
    }

    @DatabaseTest
    void aBoundedWaitFailsNearItsBoundAndLeavesTheSessionsLockSettingsAsTheyWere(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            EntityLocks<Item> items = JpaToolkit.create(jpa.emf).locks(Item.class);
            EntityManager holder = jpa.begin();
            EntityManager waiter = jpa.begin();
            try {
                items.lock(1L).execute(holder).orThrow();
                String before = lockSetting(waiter, db.database());
                long start = System.nanoTime();
                EntityLockOutcome<Item> outcome = items.lock(1L).waitAtMost(Duration.ofMillis(500)).execute(waiter);
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                assertThat(outcome).isInstanceOfSatisfying(EntityLockOutcome.Failed.class,
                        f -> assertThat(f.contention()).isEqualTo(Contention.LOCK_TIMEOUT));
                if (db.database() == Database.MARIADB) {
                    assertThat(tookMs).as("MariaDB waits whole seconds: 500 ms is 1 s").isBetween(900L, 2_000L);
                } else {
                    assertThat(tookMs).isBetween(450L, 1_500L);
                }
                assertThat(lockSetting(waiter, db.database())).as("lock setting restored").isEqualTo(before);
                waiter.getTransaction().commit();
            } finally {
                Jpa.end(waiter);
                Jpa.end(holder);
            }
        }
    }

    static String lockSetting(EntityManager em, Database database) {
        String query = switch (database) {
            case POSTGRESQL -> "SHOW lock_timeout";
            case MARIADB, MYSQL -> "SELECT @@SESSION.innodb_lock_wait_timeout";
            case H2 -> "SELECT LOCK_TIMEOUT()";
        };
        return em.unwrap(Session.class).doReturningWork(c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
                rs.next();
                return rs.getString(1);
            }
        });
    }

    @DatabaseTest
    void skipLockedClaimsNeverHandOneRowToTwoClaimers(TestDatabase db) throws Exception {
        int jobs = 100;
        try (Jpa jpa = Jpa.on(db, jobs, 12)) {
            JpaToolkit toolkit = JpaToolkit.create(jpa.emf);
            EntityLocks<Item> items = toolkit.locks(Item.class);
            JpaTransactor tx = toolkit.transactor(RetryPolicy.defaults());
            Map<Long, String> claims = new ConcurrentHashMap<>();
            AtomicInteger doubleClaims = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> claimers = new ArrayList<>();
                for (int w = 0; w < 8; w++) {
                    String me = "claimer-" + w;
                    claimers.add(pool.submit(() -> {
                        while (true) {
                            Item claimed = tx.execute("claim", em -> {
                                List<Long> candidates = em.createQuery(
                                        "select i.id from Item i where i.claimedBy is null order by i.id", Long.class)
                                        .setMaxResults(4).getResultList();
                                if (candidates.isEmpty()) {
                                    return null;
                                }
                                for (Item item : items.lock(candidates).skipLocked().execute(em).orThrow().entities()) {
                                    if (item.getClaimedBy() == null) { // claimed and committed since the query read it
                                        item.setClaimedBy(me);
                                        return item;
                                    }
                                }
                                return new Item(-1, "nothing this round", 0);
                            });
                            if (claimed == null) {
                                return null;
                            }
                            if (claimed.getId() > 0 && claims.putIfAbsent(claimed.getId(), me) != null) {
                                doubleClaims.incrementAndGet();
                            }
                        }
                    }));
                }
                for (Future<?> f : claimers) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(doubleClaims).hasValue(0);
            assertThat(claims).hasSize(jobs);
            try (var c = jpa.db.connect(); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM jpa_item WHERE claimed_by IS NULL")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
        }
    }

    @DatabaseTest
    void sixteenThreadsLockingShuffledOverlappingIdSetsNeverDeadlock(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 12, 20)) {
            JpaToolkit toolkit = JpaToolkit.create(jpa.emf);
            EntityLocks<Item> items = toolkit.locks(Item.class);
            JpaTransactor tx = toolkit.transactor(RetryPolicy.none());
            AtomicInteger deadlocks = new AtomicInteger();
            AtomicInteger rounds = new AtomicInteger();
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                List<Future<?>> workers = new ArrayList<>();
                for (int w = 0; w < 16; w++) {
                    workers.add(pool.submit(() -> {
                        while (System.nanoTime() < end) {
                            List<Long> ids = new ArrayList<>();
                            for (long id = 1; id <= 12; id++) {
                                ids.add(id);
                            }
                            Collections.shuffle(ids);
                            List<Long> mine = ids.subList(0, 2 + ThreadLocalRandom.current().nextInt(5));
                            try {
                                tx.execute("transfer", em -> {
                                    for (Item item : items.lock(mine).execute(em).orThrow().entities()) {
                                        item.setStock(item.getStock() + 1);
                                    }
                                    return null;
                                });
                                rounds.incrementAndGet();
                            } catch (ContentionException | jakarta.persistence.PersistenceException e) {
                                if (dev.latchkey.toolkit.failure.FailureClassifier.classify(e).orElse(null) == Contention.DEADLOCK) {
                                    deadlocks.incrementAndGet();
                                } else {
                                    throw e;
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : workers) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            System.out.printf("%s: %d shuffled multi-row lock rounds in 10 s, %d deadlocks%n", db, rounds.get(), deadlocks.get());
            assertThat(deadlocks).hasValue(0);
            assertThat(rounds.get()).isPositive();
        }
    }

    /** H2 has no shared row lock: there forShare() takes an exclusive one (docs/toolkit.md). */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB})
    void sharedLocksAdmitEachOtherAndKeepWritersOut(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            EntityLocks<Item> items = JpaToolkit.create(jpa.emf).locks(Item.class);
            EntityManager reader1 = jpa.begin();
            EntityManager reader2 = jpa.begin();
            EntityManager writer = jpa.begin();
            try {
                assertThat(items.lock(1L).forShare().noWait().execute(reader1).orThrow().single().getStock()).isEqualTo(10);
                assertThat(items.lock(1L).forShare().noWait().execute(reader2).locked()).as("a second reader").isTrue();
                assertThat(items.lock(1L).noWait().execute(writer)).isInstanceOfSatisfying(EntityLockOutcome.Failed.class,
                        f -> assertThat(f.contention()).isEqualTo(Contention.LOCK_NOT_AVAILABLE));
            } finally {
                Jpa.end(writer);
                Jpa.end(reader2);
                Jpa.end(reader1);
            }
        }
    }

    @DatabaseTest
    void locksNeedATransactionAndIdsOfOneComparableType(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 2)) {
            EntityLocks<Item> items = JpaToolkit.create(jpa.emf).locks(Item.class);
            EntityManager em = jpa.emf.createEntityManager();
            try {
                assertThatThrownBy(() -> items.lock(1L).execute(em)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("transaction");
            } finally {
                em.close();
            }
            assertThatThrownBy(() -> items.lock()).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> JpaToolkit.create(jpa.emf).locks(String.class)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not an entity");
        }
    }
}
