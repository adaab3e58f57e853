package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.LockWaits;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.FailureClassifier;
import dev.latchkey.toolkit.failure.FailureClassifier.Hint;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jooq.tools.jdbc.JDBCUtils;
import org.junit.jupiter.api.Test;

/** The classification traps seen on these very servers, each pinned by a test. */
class FailureClassificationTest {

    private static Connection begin(DataSource ds) throws SQLException {
        Connection c = ds.getConnection();
        c.setAutoCommit(false);
        return c;
    }

    private static void lockRow(Connection c, long id) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeQuery("SELECT id FROM item WHERE id = " + id + " FOR UPDATE").close();
        }
    }

    @DatabaseTest(only = Database.MARIADB)
    void mariaDbAnswersNowaitWith1205LabelledSerializationFailureYetOnlyTheStatementIsRolledBack(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 1);
        Fixtures.insertItem(db.dataSource(), 2, 1);
        try (Connection holder = begin(db.dataSource()); Connection other = begin(db.dataSource())) {
            lockRow(holder, 1);
            try (Statement s = other.createStatement()) {
                s.executeUpdate("UPDATE item SET stock = 7 WHERE id = 2"); // work done before the failure
            }
            SQLException e = catchThrowableOfType(SQLException.class, () -> {
                try (Statement s = other.createStatement()) {
                    s.executeQuery("SELECT id FROM item WHERE id = 1 FOR UPDATE NOWAIT");
                }
            });
            assertThat(e.getErrorCode()).isEqualTo(1205);
            assertThat(e.getSQLState()).isEqualTo("40001"); // the trap: a SQLSTATE-only reading says "rolled back"
            assertThat(FailureClassifier.classify(e, Hint.NO_WAIT)).contains(Contention.LOCK_NOT_AVAILABLE);
            assertThat(FailureClassifier.classify(e)).contains(Contention.LOCK_TIMEOUT);
            // only the statement was rolled back: the earlier update is still there and commits
            other.commit();
            holder.commit();
        }
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT stock FROM item WHERE id = 2")).isEqualTo(7);
    }

    @DatabaseTest(only = Database.POSTGRESQL)
    void postgresReportsNowaitAndLockTimeoutWithOneSqlState(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 1);
        try (Connection holder = begin(db.dataSource()); Connection other = begin(db.dataSource())) {
            lockRow(holder, 1);
            SQLException nowait = catchThrowableOfType(SQLException.class, () -> {
                try (Statement s = other.createStatement()) {
                    s.executeQuery("SELECT id FROM item WHERE id = 1 FOR UPDATE NOWAIT");
                }
            });
            other.rollback();
            SQLException timeout = catchThrowableOfType(SQLException.class, () -> {
                try (Statement s = other.createStatement()) {
                    s.execute("SET LOCAL lock_timeout = '100ms'");
                    s.executeQuery("SELECT id FROM item WHERE id = 1 FOR UPDATE");
                }
            });
            other.rollback();
            assertThat(nowait.getSQLState()).isEqualTo("55P03");
            assertThat(timeout.getSQLState()).isEqualTo("55P03");
            assertThat(FailureClassifier.classify(nowait)).contains(Contention.LOCK_NOT_AVAILABLE);
            assertThat(FailureClassifier.classify(timeout)).contains(Contention.LOCK_TIMEOUT);
            holder.rollback();
        }
    }

    /**
     * T1 locks row 1, T2 locks row 2, T1 waits for row 2, then T2 closes the cycle by asking for row 1.
     * PostgreSQL aborts the first waiter (T1) once its deadlock_timeout (1 s) runs out; MariaDB and H2
     * abort the transaction that closes the cycle (T2) at once.
     */
    @DatabaseTest
    void theDeadlockVictimDependsOnTheDatabaseAndIsClassifiedAsDeadlock(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 1);
        Fixtures.insertItem(db.dataSource(), 2, 1);
        try (Connection t1 = begin(db.dataSource()); Connection t2 = begin(db.dataSource())) {
            lockRow(t1, 1);
            lockRow(t2, 2);
            LockWaits t1Waits = LockWaits.of(db, t1);
            assertThat(t1Waits.blocked(Thread.currentThread())).as("T1 holds row 1 and waits for nothing yet").isFalse();
            FutureTask<Throwable> first = new FutureTask<>(() -> failureOf(() -> lockRow(t1, 2)));
            Thread t1Thread = Thread.ofPlatform().name("t1").start(first); // (its own thread: the common pool may have one, and be busy)
            t1Waits.awaitBlocked(t1Thread, Duration.ofSeconds(20)); // T1 waits for row 2 before T2 closes the cycle
            Throwable second = failureOf(() -> lockRow(t2, 1));
            Throwable firstFailure;
            if (second != null) {
                t2.rollback(); // the victim gives way, so T1 gets row 2
                firstFailure = first.get(10, TimeUnit.SECONDS);
            } else {
                firstFailure = first.get(10, TimeUnit.SECONDS);
            }
            Throwable victim = db.database() == Database.POSTGRESQL ? firstFailure : second;
            Throwable survivor = db.database() == Database.POSTGRESQL ? second : firstFailure;
            assertThat(victim).as("the deadlock victim on " + db.database()).isInstanceOf(SQLException.class);
            assertThat(survivor).as("the other transaction").isNull();
            assertThat(FailureClassifier.classify(victim)).contains(Contention.DEADLOCK);
            assertThat(Contention.DEADLOCK.abortsTransaction()).isTrue();
            t1.rollback();
            t2.rollback();
        }
    }

    @DatabaseTest(only = Database.MARIADB)
    void jooqTakesMariaDbBehindConnectorJForMysqlSoTheToolkitDetectsItItself(TestDatabase db) throws Exception {
        try (Connection c = db.connect()) {
            assertThat(JDBCUtils.dialect(c).family()).isEqualTo(org.jooq.SQLDialect.MYSQL);
            assertThat(DatabaseKind.detect(c)).isEqualTo(DatabaseKind.MARIADB);
        }
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 1);
        // FOR SHARE and WAIT render the MariaDB way and are accepted
        var locker = Toolkit.create(db.dataSource()).rowLocks(Fixtures.ITEM);
        try (Connection c = begin(db.dataSource())) {
            assertThat(locker.lock(1L).forShare().waitAtMost(Duration.ofSeconds(1)).execute(c).locked()).isTrue();
            c.rollback();
        }
    }

    @Test
    void vendorCodeWinsOverSqlStateAcrossTheWholeCauseChain() {
        SQLException mariaTimeout = new SQLException("Lock wait timeout exceeded", "40001", 1205);
        RuntimeException wrapped = new RuntimeException("dao failed", new IllegalStateException("inner", mariaTimeout));
        assertThat(FailureClassifier.classify(wrapped)).contains(Contention.LOCK_TIMEOUT);

        SQLException chained = new SQLException("batch failed", "HY000", 0);
        chained.setNextException(new SQLException("deadlock detected", "40P01"));
        assertThat(FailureClassifier.classify(chained)).contains(Contention.DEADLOCK);

        assertThat(FailureClassifier.classify(new SQLException("could not serialize", "40001"))).contains(Contention.SERIALIZATION_FAILURE);
        assertThat(FailureClassifier.classify(new SQLException("Deadlock found", "40001", 1213))).contains(Contention.DEADLOCK);
        assertThat(FailureClassifier.classify(new SQLException("NOWAIT", "HY000", 3572))).contains(Contention.LOCK_NOT_AVAILABLE);
        assertThat(FailureClassifier.classify(new SQLException("duplicate key", "23505"))).isEmpty();
        assertThat(FailureClassifier.classify(new IllegalArgumentException("bug"))).isEmpty();
    }

    @Test
    void frameworkOptimisticLockExceptionsAreConflicts() {
        class OptimisticLockException extends RuntimeException {
        }
        assertThat(FailureClassifier.classify(new RuntimeException(new OptimisticLockException()))).contains(Contention.CONFLICT);
    }

    @Test
    void aDatabaseCodeAnywhereInTheChainWinsOverAWrappersClassName() {
        // Hibernate and Spring report PostgreSQL's 40001 as an optimistic-lock failure (spring-framework#31274)
        class OptimisticLockException extends RuntimeException {
            OptimisticLockException(Throwable cause) {
                super(cause);
            }
        }
        class ObjectOptimisticLockingFailureException extends RuntimeException {
            ObjectOptimisticLockingFailureException(Throwable cause) {
                super(cause);
            }
        }
        SQLException serialization = new SQLException("could not serialize access", "40001");
        SQLException deadlock = new SQLException("deadlock detected", "40P01");
        assertThat(FailureClassifier.classify(new ObjectOptimisticLockingFailureException(new OptimisticLockException(serialization))))
                .contains(Contention.SERIALIZATION_FAILURE);
        assertThat(FailureClassifier.classify(new OptimisticLockException(new RuntimeException("commit failed", deadlock))))
                .contains(Contention.DEADLOCK);
        // a wrapper with no database code under it is still a conflict
        assertThat(FailureClassifier.classify(new ObjectOptimisticLockingFailureException(new OptimisticLockException(null))))
                .contains(Contention.CONFLICT);
    }

    @Test
    void aCauseCycleDoesNotLoopForever() {
        RuntimeException a = new RuntimeException("a");
        RuntimeException b = new RuntimeException("b", a);
        a.initCause(b);
        assertThat(FailureClassifier.classify(a)).isEmpty();
    }

    private interface SqlAction {
        void run() throws SQLException;
    }

    private static Throwable failureOf(SqlAction action) {
        try {
            action.run();
            return null;
        } catch (SQLException e) {
            return e;
        }
    }

    @Test
    void everyContentionKindIsRetryable() {
        for (Contention c : Contention.values()) {
            assertThat(c.retryable()).as(c.name()).isTrue();
        }
    }
}
