package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.advisory.AdvisoryLock;
import dev.latchkey.toolkit.advisory.AdvisoryLocks;
import dev.latchkey.toolkit.dialect.UnsupportedDatabaseException;
import java.sql.Connection;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AdvisoryLocksTest {

    @Test
    void theKeyOfANameIsStableAcrossRunsAndMachines() {
        assertThat(AdvisoryLocks.key("latchkey")).isEqualTo(AdvisoryLocks.key("latchkey"));
        assertThat(AdvisoryLocks.key("job:nightly-report")).isEqualTo(-5162051459046483734L);
        assertThat(AdvisoryLocks.key("a")).isNotEqualTo(AdvisoryLocks.key("b"));
    }

    @Test
    void longNamesAreShortenedWithinMysqlsLimitAndStayDistinct() {
        String a = "x".repeat(100) + "a";
        String b = "x".repeat(100) + "b";
        assertThat(AdvisoryLocks.mysqlName(a)).hasSizeLessThanOrEqualTo(64).isNotEqualTo(AdvisoryLocks.mysqlName(b));
        assertThat(AdvisoryLocks.mysqlName("short")).isEqualTo("short");
    }

    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB, Database.MYSQL})
    void aSessionLockExcludesOtherSessionsUntilReleased(TestDatabase db) throws Exception {
        AdvisoryLocks locks = Toolkit.create(db.dataSource()).advisory();
        String name = "job:" + "nightly".repeat(12); // longer than MySQL's 64-character limit
        try (Connection a = db.dataSource().getConnection(); Connection b = db.dataSource().getConnection()) {
            Optional<AdvisoryLock> held = locks.tryAcquire(a, name, Duration.ZERO);
            assertThat(held).isPresent();
            assertThat(locks.tryAcquire(b, name, Duration.ZERO)).isEmpty();
            long start = System.nanoTime();
            assertThat(locks.tryAcquire(b, name, Duration.ofMillis(800))).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(700));
            assertThat(held.get().release()).isTrue();
            try (AdvisoryLock second = locks.tryAcquire(b, name, Duration.ZERO).orElseThrow()) {
                assertThat(second.name()).isEqualTo(name);
                assertThat(locks.tryAcquire(a, name, Duration.ZERO)).isEmpty();
            }
            assertThat(locks.tryAcquire(a, name, Duration.ZERO)).isPresent();
        }
    }

    @DatabaseTest(only = Database.POSTGRESQL)
    void aTransactionLockIsReleasedAtCommitAndABoundedWaitKeepsTheTransactionUsable(TestDatabase db) throws Exception {
        AdvisoryLocks locks = Toolkit.create(db.dataSource()).advisory();
        try (Connection a = db.dataSource().getConnection(); Connection b = db.dataSource().getConnection()) {
            a.setAutoCommit(false);
            b.setAutoCommit(false);
            assertThat(locks.tryAcquireForTransaction(a, "restock", Duration.ZERO)).isTrue();
            assertThat(locks.tryAcquireForTransaction(b, "restock", Duration.ofMillis(300))).isFalse();
            try (var s = b.createStatement()) {
                s.executeQuery("SELECT 1").close(); // still usable after the timeout
            }
            a.commit();
            assertThat(locks.tryAcquireForTransaction(b, "restock", Duration.ofMillis(300))).isTrue();
            b.commit();
        }
    }

    @DatabaseTest(only = {Database.MARIADB, Database.MYSQL})
    void transactionScopedLocksAreRefusedWhereLocksBelongToTheSession(TestDatabase db) throws Exception {
        AdvisoryLocks locks = Toolkit.create(db.dataSource()).advisory();
        try (Connection c = db.dataSource().getConnection()) {
            c.setAutoCommit(false);
            assertThatThrownBy(() -> locks.tryAcquireForTransaction(c, "x", Duration.ZERO))
                    .isInstanceOf(UnsupportedDatabaseException.class).hasMessageContaining("session");
        }
    }

    @DatabaseTest(only = Database.H2)
    void h2RefusesAdvisoryLocksClearly(TestDatabase db) throws Exception {
        AdvisoryLocks locks = Toolkit.create(db.dataSource()).advisory();
        try (Connection c = db.dataSource().getConnection()) {
            assertThatThrownBy(() -> locks.tryAcquire(c, "x", Duration.ZERO))
                    .isInstanceOf(UnsupportedDatabaseException.class).hasMessageContaining("H2 has no session advisory locks");
        }
    }

    @DatabaseTest(only = Database.H2)
    void badArgumentsAreRefusedBeforeAnything(TestDatabase db) throws Exception {
        AdvisoryLocks locks = Toolkit.create(db.dataSource()).advisory();
        try (Connection c = db.dataSource().getConnection()) {
            assertThatThrownBy(() -> locks.tryAcquire(c, "", Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> locks.tryAcquire(c, "x", Duration.ofMillis(-1))).hasMessageContaining("negative");
        }
    }
}
