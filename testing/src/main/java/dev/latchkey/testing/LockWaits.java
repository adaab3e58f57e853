package dev.latchkey.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Whether a session waits for a lock another holds, as the database itself reports it: for tests
 * that must order two transactions ("T1 waits, then T2 closes the cycle") without guessing how long
 * a loaded machine takes to get T1 there.
 */
public final class LockWaits {

    private LockWaits() {
    }

    /** The database's id for the connection's session; ask it before the connection blocks. */
    public static long sessionId(Connection connection, Database database) throws SQLException {
        String query = switch (database) {
            case POSTGRESQL -> "SELECT pg_backend_pid()";
            case MARIADB, MYSQL -> "SELECT CONNECTION_ID()";
            case H2 -> "SELECT SESSION_ID()";
        };
        return single(connection, query, null);
    }

    /** Whether that session is waiting for a lock right now. */
    public static boolean blocked(TestDatabase db, long sessionId) throws SQLException {
        String query = switch (db.database()) {
            case POSTGRESQL -> "SELECT count(*) FROM pg_locks WHERE pid = ? AND NOT granted";
            case MARIADB, MYSQL -> "SELECT count(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'";
            case H2 -> "SELECT count(*) FROM INFORMATION_SCHEMA.SESSIONS WHERE SESSION_ID = ? AND BLOCKER_ID IS NOT NULL";
        };
        try (Connection c = db.connect()) {
            return single(c, query, sessionId) > 0;
        }
    }

    /** Waits until that session waits for a lock; fails the test if it does not within {@code atMost}. */
    public static void awaitBlocked(TestDatabase db, long sessionId, Duration atMost) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + atMost.toNanos();
        while (!blocked(db, sessionId)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("session " + sessionId + " on " + db.database().displayName() + " did not wait for a lock within " + atMost);
            }
            Thread.sleep(10);
        }
    }

    private static long single(Connection connection, String query, Long parameter) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(query)) {
            if (parameter != null) {
                s.setLong(1, parameter);
            }
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
