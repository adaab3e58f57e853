package dev.latchkey.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import org.awaitility.Awaitility;

/**
 * Whether a transaction waits for a row lock another holds, for tests that must order two
 * transactions ("T1 waits, then T2 closes the cycle") without guessing how long a loaded machine
 * takes to get T1 there. Each database is asked the way it answers reliably:
 * <ul>
 *   <li>PostgreSQL: {@code pg_locks} (a lock the backend asked for and was not granted);</li>
 *   <li>MariaDB/MySQL: {@code information_schema.INNODB_TRX} in state {@code LOCK WAIT}, polled
 *       every 200 ms: InnoDB refreshes that table from a cache only once nobody has read it for
 *       100 ms, so a faster poll keeps reading the snapshot taken before the wait began;</li>
 *   <li>H2 (in this JVM): the thread running the statement parked in H2's transaction wait.
 *       H2 locks the rows of a {@code SELECT … FOR UPDATE} while it fetches the result, after the
 *       statement's command has returned, so its {@code INFORMATION_SCHEMA.SESSIONS} shows the
 *       waiting session as idle.</li>
 * </ul>
 */
public final class LockWaits {

    private final TestDatabase db;
    private final long sessionId;

    private LockWaits(TestDatabase db, long sessionId) {
        this.db = db;
        this.sessionId = sessionId;
    }

    /** The transaction on {@code connection}; call this before the connection blocks. */
    public static LockWaits of(TestDatabase db, Connection connection) throws SQLException {
        String query = switch (db.database()) {
            case POSTGRESQL -> "SELECT pg_backend_pid()";
            case MARIADB, MYSQL -> "SELECT CONNECTION_ID()";
            case H2 -> "SELECT SESSION_ID()";
        };
        try (PreparedStatement s = connection.prepareStatement(query); ResultSet rs = s.executeQuery()) {
            rs.next();
            return new LockWaits(db, rs.getLong(1));
        }
    }

    /** Whether the transaction waits for a lock now; {@code thread} runs its statement (used on H2). */
    public boolean blocked(Thread thread) throws SQLException {
        if (db.database() == Database.H2) {
            Thread.State state = thread.getState();
            if (state != Thread.State.WAITING && state != Thread.State.TIMED_WAITING) {
                return false;
            }
            for (StackTraceElement frame : thread.getStackTrace()) {
                if (frame.getClassName().equals("org.h2.mvstore.tx.Transaction") && frame.getMethodName().startsWith("waitFor")) {
                    return true;
                }
            }
            return false;
        }
        String query = db.database() == Database.POSTGRESQL
                ? "SELECT count(*) FROM pg_locks WHERE pid = ? AND NOT granted"
                : "SELECT count(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'";
        try (Connection c = db.connect(); PreparedStatement s = c.prepareStatement(query)) {
            s.setLong(1, sessionId);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1) > 0;
            }
        }
    }

    /**
     * Waits until the transaction waits for a lock; fails the test if it does not within {@code
     * atMost}, or at once if {@code thread} ended (its statement did not wait).
     */
    public void awaitBlocked(Thread thread, Duration atMost) {
        boolean innoDb = db.database() == Database.MARIADB || db.database() == Database.MYSQL;
        Awaitility.await("session " + sessionId + " on " + db.database().displayName() + " waits for a lock")
                .atMost(atMost)
                .pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(innoDb ? 200 : 10))
                .failFast("its statement ended without waiting", () -> thread.getState() == Thread.State.TERMINATED)
                .until(() -> blocked(thread));
    }
}
