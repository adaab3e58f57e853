package dev.latchkey.toolkit.jpa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.FailureClassifier;
import jakarta.persistence.EntityManager;
import jakarta.persistence.LockModeType;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What Hibernate's own lock hints do on each database, pinned so that a Hibernate upgrade that
 * changes them shows up here (docs/jpa-spring.md quotes these results). The toolkit does not rely on
 * any of them: its entity locks run the toolkit's SQL.
 */
class JpaPeerPinTest {

    record Observed(long tookMs, Throwable failure, Optional<Contention> classified) {
    }

    /** Locks row 1 in one transaction, then has another ask for it with Hibernate's lock timeout hint. */
    private static Observed hintedFind(Jpa jpa, int timeoutHint) {
        EntityManager holder = jpa.begin();
        EntityManager asker = jpa.begin();
        try {
            holder.find(Item.class, 1L, LockModeType.PESSIMISTIC_WRITE);
            guard(asker, jpa.database());
            long start = System.nanoTime();
            Throwable failure = null;
            try {
                asker.find(Item.class, 1L, LockModeType.PESSIMISTIC_WRITE, Map.of("jakarta.persistence.lock.timeout", timeoutHint));
            } catch (RuntimeException e) {
                failure = e;
            }
            long took = (System.nanoTime() - start) / 1_000_000;
            return new Observed(took, failure, failure == null ? Optional.empty() : FailureClassifier.classify(failure));
        } finally {
            Jpa.end(asker);
            Jpa.end(holder);
        }
    }

    /** A 3 s bound of the database's own, so that a hint that is ignored shows as a 3 s wait, not a hang. */
    private static void guard(EntityManager em, Database database) {
        String statement = switch (database) {
            case POSTGRESQL -> "SET LOCAL statement_timeout = '3s'";
            case MARIADB, MYSQL -> "SET SESSION innodb_lock_wait_timeout = 3";
            case H2 -> "SET LOCK_TIMEOUT 3000";
        };
        Jpa.sql(em, statement);
    }

    /** 0 renders NOWAIT everywhere; MariaDB and H2 answer it with their lock-timeout code, so unhinted it reads as a timeout. */
    @DatabaseTest
    void aLockTimeoutHintOfZeroIsNowait(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            Observed o = hintedFind(jpa, 0);
            assertThat(o.failure()).isInstanceOf(jakarta.persistence.LockTimeoutException.class).hasMessageContaining("nowait");
            assertThat(o.tookMs()).isLessThan(1_000);
            assertThat(o.classified()).contains(db.database() == Database.POSTGRESQL ? Contention.LOCK_NOT_AVAILABLE : Contention.LOCK_TIMEOUT);
        }
    }

    /**
     * 500 ms is honoured on PostgreSQL (a lock_timeout, set before the query); on MariaDB and H2
     * Hibernate 7.2.19 renders {@code WAIT 1}: whole seconds, rounded up.
     */
    @DatabaseTest
    void aLockTimeoutHintOf500MsIsHonouredOrRoundedUpToASecond(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            Observed o = hintedFind(jpa, 500);
            assertThat(o.failure()).isInstanceOf(jakarta.persistence.LockTimeoutException.class);
            assertThat(o.classified()).contains(Contention.LOCK_TIMEOUT);
            if (db.database() == Database.POSTGRESQL) {
                assertThat(o.tookMs()).isBetween(400L, 1_500L);
            } else {
                assertThat(o.failure()).hasMessageContaining("wait 1");
                assertThat(o.tookMs()).isBetween(900L, 2_500L);
            }
        }
    }

    /** -2 is SKIP LOCKED on PostgreSQL and H2; on MariaDB Hibernate 7.2.19 drops it and renders a plain FOR UPDATE, which waits. */
    @DatabaseTest
    void aLockTimeoutHintOfMinusTwoSkipsLockedRowsExceptOnMariaDb(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 2, 4)) {
            EntityManager holder = jpa.begin();
            EntityManager asker = jpa.begin();
            try {
                holder.find(Item.class, 1L, LockModeType.PESSIMISTIC_WRITE);
                guard(asker, jpa.database());
                long start = System.nanoTime();
                Throwable failure = null;
                List<Long> got = List.of();
                try {
                    got = asker.createQuery("select i from Item i order by i.id", Item.class)
                            .setLockMode(LockModeType.PESSIMISTIC_WRITE).setHint("jakarta.persistence.lock.timeout", -2)
                            .getResultList().stream().map(Item::getId).toList();
                } catch (RuntimeException e) {
                    failure = e;
                }
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                if (db.database() == Database.MARIADB) {
                    assertThat(failure).isInstanceOf(jakarta.persistence.LockTimeoutException.class).hasMessageNotContaining("skip locked");
                    assertThat(tookMs).as("waited for the guard's 3 s").isGreaterThan(2_500L);
                } else {
                    assertThat(failure).isNull();
                    assertThat(got).containsExactly(2L);
                }
            } finally {
                Jpa.end(asker);
                Jpa.end(holder);
            }
        }
    }

    @DatabaseTest(only = Database.MARIADB)
    void hibernateTakesMariaDbBehindConnectorJForMysqlAndTheToolkitSaysSo(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4, false)) {
            EntityManager em = jpa.begin();
            try {
                assertThatThrownBy(() -> em.find(Item.class, 1L, LockModeType.PESSIMISTIC_WRITE))
                        .hasMessageContaining("for update of");
            } finally {
                Jpa.end(em);
            }
            assertThatThrownBy(() -> JpaToolkit.create(jpa.emf).locks(Item.class)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("MariaDBDialect");
        }
    }
}
