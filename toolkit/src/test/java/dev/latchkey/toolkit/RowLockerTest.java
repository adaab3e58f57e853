package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.pessimistic.LockOutcome;
import dev.latchkey.toolkit.pessimistic.RowLocker;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;

class RowLockerTest {

    private static RowLocker locker(TestDatabase db, int rows) throws Exception {
        Fixtures.createTables(db);
        for (int i = 1; i <= rows; i++) {
            Fixtures.insertItem(db.dataSource(), i, 10);
        }
        return Toolkit.create(db.dataSource()).rowLocks(Fixtures.ITEM);
    }

    private static Connection begin(DataSource ds) throws Exception {
        Connection c = ds.getConnection();
        c.setAutoCommit(false);
        return c;
    }

    @DatabaseTest
    void locksRowsInKeyOrderAndReportsMissingKeys(TestDatabase db) throws Exception {
        RowLocker locker = locker(db, 3);
        try (Connection c = begin(db.dataSource())) {
            LockOutcome.Locked locked = locker.lock(3L, 1L, 99L, 3L).columns("stock").execute(c).orThrow();
            assertThat(locked.keys("id")).containsExactly(1L, 3L);
            assertThat(locked.rows().get(0)).containsEntry("stock", 10);
            assertThat(locked.missing()).containsExactly(99L);
            c.rollback();
        }
    }

    @DatabaseTest
    void noWaitReportsLockNotAvailableAndLeavesTheTransactionUsable(TestDatabase db) throws Exception {
        RowLocker locker = locker(db, 2);
        try (Connection holder = begin(db.dataSource()); Connection other = begin(db.dataSource())) {
            locker.lock(1L).execute(holder).orThrow();
            LockOutcome outcome = locker.lock(1L).noWait().execute(other);
            assertThat(outcome).isInstanceOfSatisfying(LockOutcome.Failed.class, f -> {
                assertThat(f.contention()).isEqualTo(Contention.LOCK_NOT_AVAILABLE);
                assertThat(f.transactionAborted()).isFalse();
            });
            // the same transaction goes on: another row can still be locked and read
            assertThat(locker.lock(2L).noWait().execute(other).locked()).isTrue();
            other.commit();
            holder.commit();
        }
    }

    @DatabaseTest
    void skipLockedLeavesLockedRowsOut(TestDatabase db) throws Exception {
        RowLocker locker = locker(db, 3);
        try (Connection holder = begin(db.dataSource()); Connection other = begin(db.dataSource())) {
            locker.lock(2L).execute(holder).orThrow();
            LockOutcome.Locked locked = locker.lock(1L, 2L, 3L).skipLocked().execute(other).orThrow();
            assertThat(locked.keys("id")).containsExactly(1L, 3L);
            assertThat(locked.missing()).containsExactly(2L);
            other.rollback();
            holder.rollback();
        }
    }

    @DatabaseTest
    void aBoundedWaitGivesUpWithinItsBoundAndIsATimeout(TestDatabase db) throws Exception {
        RowLocker locker = locker(db, 1);
        try (Connection holder = begin(db.dataSource()); Connection other = begin(db.dataSource())) {
            locker.lock(1L).execute(holder).orThrow();
            Duration bound = Duration.ofMillis(db.database() == Database.MYSQL || db.database() == Database.MARIADB ? 1000 : 400);
            long start = System.nanoTime();
            LockOutcome outcome = locker.lock(1L).waitAtMost(bound).execute(other);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(outcome).isInstanceOfSatisfying(LockOutcome.Failed.class,
                    f -> assertThat(f.contention()).isEqualTo(Contention.LOCK_TIMEOUT));
            assertThat(took).isBetween(bound.minusMillis(50), bound.plusMillis(1500));
            assertThatThrownBy(outcome::orThrow).hasMessageContaining("gave up waiting");
            holder.rollback();
            other.rollback();
        }
    }

    @DatabaseTest(only = {Database.POSTGRESQL, Database.MYSQL})
    void aBoundedWaitLeavesTheSessionsLockSettingAsItWas(TestDatabase db) throws Exception {
        RowLocker locker = locker(db, 1);
        boolean pg = db.database() == Database.POSTGRESQL;
        String set = pg ? "SET LOCAL lock_timeout = '7s'" : "SET SESSION innodb_lock_wait_timeout = 7";
        String read = pg ? "SELECT current_setting('lock_timeout')" : "SELECT @@SESSION.innodb_lock_wait_timeout";
        try (Connection holder = begin(db.dataSource()); Connection other = begin(db.dataSource())) {
            try (Statement s = other.createStatement()) {
                s.execute(set);
            }
            assertThat(locker.lock(1L).waitAtMost(Duration.ofMillis(300)).execute(other).locked()).isTrue();
            assertThat(readSetting(other, read)).isEqualTo(pg ? "7s" : "7");
            locker.lock(1L).execute(other).orThrow();
            other.commit();
            assertThat(locker.lock(1L).waitAtMost(Duration.ofMillis(300)).execute(holder).locked()).isTrue();
            locker.lock(1L).execute(holder);
            holder.rollback();
            try (Connection c = begin(db.dataSource())) {
                locker.lock(1L).execute(c).orThrow();
                try (Connection waiter = begin(db.dataSource())) {
                    try (Statement s = waiter.createStatement()) {
                        s.execute(set);
                    }
                    assertThat(locker.lock(1L).waitAtMost(Duration.ofMillis(300)).execute(waiter).locked()).isFalse();
                    assertThat(readSetting(waiter, read)).isEqualTo(pg ? "7s" : "7");
                    waiter.rollback();
                }
                c.rollback();
            }
        }
    }

    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB, Database.MYSQL})
    void shareLocksLetOtherSharersInButKeepWritersOut(TestDatabase db) throws Exception {
        RowLocker locker = locker(db, 1);
        try (Connection a = begin(db.dataSource()); Connection b = begin(db.dataSource()); Connection w = begin(db.dataSource())) {
            assertThat(locker.lock(1L).forShare().noWait().execute(a).locked()).isTrue();
            assertThat(locker.lock(1L).forShare().noWait().execute(b).locked()).isTrue();
            LockOutcome writer = locker.lock(1L).noWait().execute(w);
            assertThat(writer).isInstanceOfSatisfying(LockOutcome.Failed.class,
                    f -> assertThat(f.contention()).isEqualTo(Contention.LOCK_NOT_AVAILABLE));
            a.rollback();
            b.rollback();
            w.rollback();
        }
    }

    @DatabaseTest(only = Database.H2)
    void onH2AShareRequestTakesAnExclusiveLock(TestDatabase db) throws Exception {
        RowLocker locker = locker(db, 1);
        try (Connection a = begin(db.dataSource()); Connection b = begin(db.dataSource())) {
            assertThat(locker.lock(1L).forShare().noWait().execute(a).locked()).isTrue();
            assertThat(locker.lock(1L).forShare().noWait().execute(b).locked()).isFalse();
            a.rollback();
            b.rollback();
        }
    }

    @DatabaseTest
    void callersLockingTheSameRowsInAnyOrderNeverDeadlock(TestDatabase db) throws Exception {
        RowLocker locker = locker(db, 6);
        DataSource ds = db.dataSource();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    java.util.Random random = new java.util.Random(seed);
                    int done = 0;
                    for (int i = 0; i < 25; i++) {
                        List<Object> keys = new ArrayList<>(List.of(1L, 2L, 3L, 4L, 5L, 6L));
                        Collections.shuffle(keys, random);
                        try (Connection c = begin(ds)) {
                            LockOutcome.Locked locked = locker.lock(keys.subList(0, 4)).execute(c).orThrow();
                            try (Statement s = c.createStatement()) {
                                for (Map<String, Object> row : locked.rows()) {
                                    s.executeUpdate("UPDATE item SET stock = stock + 1 WHERE id = " + row.get("id"));
                                }
                            }
                            c.commit();
                            done++;
                        }
                    }
                    return done;
                }));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get();
            }
            assertThat(total).isEqualTo(200);
            assertThat(Fixtures.queryLong(ds, "SELECT SUM(stock) FROM item")).isEqualTo(60 + 200 * 4);
        } finally {
            pool.shutdownNow();
        }
    }

    @DatabaseTest
    void aConnectionInAutoCommitModeIsRefused(TestDatabase db) throws Exception {
        RowLocker locker = locker(db, 1);
        try (Connection c = db.dataSource().getConnection()) {
            assertThatThrownBy(() -> locker.lock(1L).execute(c)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("auto-commit");
        }
    }

    private static String readSetting(Connection c, String sql) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
