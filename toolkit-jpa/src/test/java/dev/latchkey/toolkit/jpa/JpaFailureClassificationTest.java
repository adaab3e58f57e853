package dev.latchkey.toolkit.jpa;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.LockWaits;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.FailureClassifier;
import jakarta.persistence.EntityManager;
import jakarta.persistence.LockModeType;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

/**
 * Each kind of failure provoked through Hibernate, as an application meets it (wrapped in
 * Hibernate's and JPA's exceptions, often at commit), and classified.
 */
class JpaFailureClassificationTest {

    private static Throwable failureOf(Runnable action) {
        try {
            action.run();
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    @DatabaseTest
    void aStaleVersionAtCommitIsAConflict(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            EntityManager first = jpa.begin();
            EntityManager second = jpa.begin();
            try {
                Item mine = first.find(Item.class, 1L);
                Item theirs = second.find(Item.class, 1L);
                theirs.setStock(1);
                second.getTransaction().commit();
                mine.setStock(2);
                Throwable failure = failureOf(() -> first.getTransaction().commit());
                assertThat(failure).isInstanceOf(jakarta.persistence.RollbackException.class);
                assertThat(FailureClassifier.classify(failure)).contains(Contention.CONFLICT);
            } finally {
                Jpa.end(first);
                Jpa.end(second);
            }
        }
    }

    @DatabaseTest
    void aLockWaitThatRunsOutIsALockTimeout(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            EntityManager holder = jpa.begin();
            EntityManager waiter = jpa.begin();
            try {
                holder.find(Item.class, 1L, LockModeType.PESSIMISTIC_WRITE);
                Jpa.sql(waiter, switch (db.database()) {
                    case POSTGRESQL -> "SET LOCAL lock_timeout = '300ms'";
                    case MARIADB, MYSQL -> "SET SESSION innodb_lock_wait_timeout = 1";
                    case H2 -> "SET LOCK_TIMEOUT 300";
                });
                Throwable failure = failureOf(() -> waiter.find(Item.class, 1L, LockModeType.PESSIMISTIC_WRITE));
                assertThat(failure).isInstanceOf(jakarta.persistence.PersistenceException.class);
                assertThat(FailureClassifier.classify(failure)).contains(Contention.LOCK_TIMEOUT);
            } finally {
                Jpa.end(waiter);
                Jpa.end(holder);
            }
        }
    }

    @DatabaseTest
    void aDeadlockBetweenTwoFlushesIsADeadlock(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 2, 4)) {
            EntityManager t1 = jpa.begin();
            EntityManager t2 = jpa.begin();
            try {
                t1.find(Item.class, 1L).setStock(1);
                t1.flush();
                t2.find(Item.class, 2L).setStock(2);
                t2.flush();
                LockWaits t1Waits = t1.unwrap(org.hibernate.Session.class).doReturningWork(c -> LockWaits.of(db, c));
                FutureTask<Throwable> first = new FutureTask<>(() -> failureOf(() -> {
                    t1.find(Item.class, 2L).setStock(1);
                    t1.flush();
                }));
                Thread t1Thread = Thread.ofPlatform().name("t1").start(first);
                t1Waits.awaitBlocked(t1Thread, java.time.Duration.ofSeconds(20)); // T1 waits for row 2 before T2 closes the cycle
                Throwable second = failureOf(() -> {
                    t2.find(Item.class, 1L).setStock(2);
                    t2.flush();
                });
                if (second != null) {
                    t2.getTransaction().rollback();
                }
                Throwable firstFailure = first.get(20, TimeUnit.SECONDS);
                Throwable victim = second != null ? second : firstFailure;
                assertThat(victim).as("one side is the victim").isNotNull();
                assertThat(FailureClassifier.classify(victim)).contains(Contention.DEADLOCK);
            } finally {
                Jpa.end(t1);
                Jpa.end(t2);
            }
        }
    }

    /**
     * PostgreSQL's REPEATABLE READ and MariaDB's with {@code innodb_snapshot_isolation} refuse to
     * update a row changed since the snapshot; Hibernate reports it as an optimistic-lock failure,
     * and it is a serialization failure (spring-framework#31274).
     */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB})
    void anUpdateOfARowChangedSinceTheSnapshotIsASerializationFailure(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            EntityManager mine = jpa.begin();
            EntityManager theirs = jpa.begin();
            try {
                Jpa.sql(mine, db.database() == Database.POSTGRESQL ? "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"
                        : "SET SESSION innodb_snapshot_isolation = ON");
                Item item = mine.find(Item.class, 1L); // takes the snapshot
                Item other = theirs.find(Item.class, 1L);
                other.setName("renamed");
                theirs.getTransaction().commit();
                item.setStock(0);
                Throwable failure = failureOf(() -> mine.getTransaction().commit());
                assertThat(failure).isNotNull();
                assertThat(FailureClassifier.classify(failure)).contains(Contention.SERIALIZATION_FAILURE);
                if (db.database() == Database.MARIADB) {
                    Jpa.sql(mine, "SET SESSION innodb_snapshot_isolation = OFF");
                }
            } finally {
                Jpa.end(mine);
                Jpa.end(theirs);
            }
        }
    }

    @DatabaseTest
    void aUniqueViolationIsTroubleNotContention(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            EntityManager em = jpa.begin();
            try {
                em.persist(new Item(1L, "duplicate", 1));
                Throwable failure = failureOf(() -> em.getTransaction().commit());
                assertThat(failure).isNotNull();
                assertThat(FailureClassifier.classify(failure)).isEmpty();
            } finally {
                Jpa.end(em);
            }
        }
    }
}
