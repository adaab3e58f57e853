package dev.latchkey.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** What PostgreSQL's {@code pg_locks} says about an advisory lock, for tests that must see none left behind. */
public final class PgAdvisoryLocks {

    private PgAdvisoryLocks() {
    }

    /** Advisory locks on the 64-bit {@code key} held or awaited in the connection's database, by any session. */
    public static int count(Connection connection, long key) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1"
                + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                + " AND classid = CAST(? AS bigint)::oid AND objid = CAST(? AS bigint)::oid")) {
            s.setLong(1, key >>> 32); // (a 64-bit key is kept as two 32-bit halves)
            s.setLong(2, key & 0xFFFF_FFFFL);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
