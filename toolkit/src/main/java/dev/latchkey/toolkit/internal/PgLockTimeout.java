package dev.latchkey.toolkit.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * PostgreSQL's {@code lock_timeout}, set for the current transaction and put back as it was, so a
 * bounded wait leaves no setting changed behind it.
 */
public final class PgLockTimeout {

    private PgLockTimeout() {
    }

    /** Sets the transaction-local lock_timeout and returns the value it had. */
    public static String set(Connection connection, Duration timeout) throws SQLException {
        try (Statement s = connection.createStatement();
                ResultSet rs = s.executeQuery("SELECT current_setting('lock_timeout'), set_config('lock_timeout', '"
                        + Math.max(1, timeout.toMillis()) + "', true)")) {
            rs.next();
            return rs.getString(1);
        }
    }

    public static void restore(Connection connection, String previous) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT set_config('lock_timeout', ?, true)")) {
            ps.setString(1, previous);
            ps.executeQuery().close();
        }
    }
}
