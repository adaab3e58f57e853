package dev.latchkey.coordinator.store;

import dev.latchkey.toolkit.dialect.DatabaseKind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;

/**
 * One writing transaction. It takes the revision counter's row lock before anything else, so
 * writing transactions run one at a time and commit in revision order: a watcher that sees
 * revision N can never later see a smaller one appear (no gaps, ever).
 *
 * <p>Its own statements (the head and the flush) are fixed SQL text, prepared by the driver and
 * bound with JDBC: they run for every batch, and building them with jOOQ cost more CPU than the
 * database spent executing them.
 */
public final class WriteTx {

    private final Connection connection;
    private final DSLContext dsl;
    private final DatabaseKind kind;
    private final long now;
    private final long base;
    private final List<Event> events = new ArrayList<>();
    private final long outageThresholdMs;

    /** Takes the revision counter's row lock and reads the database clock, in one round trip. */
    WriteTx(Connection connection, DSLContext dsl, DatabaseKind kind, long outageThresholdMs) throws SQLException {
        this.connection = connection;
        this.dsl = dsl;
        this.kind = kind;
        this.outageThresholdMs = outageThresholdMs;
        try (PreparedStatement head = connection.prepareStatement(SqlText.quoted(kind,
                "SELECT \"value\", " + kind.nowMillisExpression() + " FROM \"lk_cell\" WHERE \"name\" = 'revision' FOR UPDATE"));
                ResultSet rs = head.executeQuery()) {
            if (!rs.next()) {
                throw new SQLException("the store has no revision counter (lk_cell 'revision'): were its migrations applied?");
            }
            this.base = rs.getLong(1);
            this.now = rs.getLong(2);
        }
    }

    public DSLContext dsl() {
        return dsl;
    }

    /** The transaction's connection, for statements written in plain SQL. */
    public Connection connection() {
        return connection;
    }

    /** The store's database. */
    public DatabaseKind kind() {
        return kind;
    }

    /** The database clock, in epoch milliseconds, read when the transaction began. */
    public long now() {
        return now;
    }

    /** The reaper's outage threshold: a longer gap between its ticks stops the leases' clocks. */
    public long outageThresholdMs() {
        return outageThresholdMs;
    }

    /** The revision the next event will get. */
    public long nextRev() {
        return base + events.size() + 1;
    }

    /** Appends an event; it commits with the transaction. */
    public Event emit(String path, Event.Kind kind, String detail, String session) {
        Event e = new Event(nextRev(), path, kind, detail, session, now);
        events.add(e);
        return e;
    }

    List<Event> events() {
        return events;
    }

    /** How many events have been appended so far (to undo one operation's events). */
    int mark() {
        return events.size();
    }

    /** Forgets the events appended after {@code mark}: their operation was rolled back. */
    void truncate(int mark) {
        while (events.size() > mark) {
            events.remove(events.size() - 1);
        }
    }

    /** Binds a deferred statement's parameters from {@code from}; returns the next free index. */
    @FunctionalInterface
    public interface Binder {
        int bind(PreparedStatement s, int from) throws SQLException;
    }

    private record Deferred(String sql, Binder binder) {
    }

    private final List<Deferred> deferred = new ArrayList<>();

    /**
     * A write that may wait until something needs it: the next read of the batch (before any
     * operation that is not a command runs) or the commit. On PostgreSQL the deferred writes are
     * sent together, with the events and the counter at the commit, in one round trip.
     */
    public void defer(String sql, Binder binder) {
        deferred.add(new Deferred(sql, binder));
    }

    /** Runs the deferred writes now: one round trip on PostgreSQL, one per statement elsewhere. */
    public void runDeferred() throws SQLException {
        if (deferred.isEmpty()) {
            return;
        }
        if (kind == DatabaseKind.POSTGRES) {
            StringBuilder sql = new StringBuilder();
            for (Deferred d : deferred) {
                sql.append(sql.isEmpty() ? "" : "; ").append(d.sql());
            }
            try (PreparedStatement s = connection.prepareStatement(sql.toString())) {
                int i = 1;
                for (Deferred d : deferred) {
                    i = d.binder().bind(s, i);
                }
                s.execute();
            }
        } else {
            for (Deferred d : deferred) {
                try (PreparedStatement s = connection.prepareStatement(d.sql())) {
                    d.binder().bind(s, 1);
                    s.executeUpdate();
                }
            }
        }
        deferred.clear();
    }

    /**
     * Writes what was deferred, then the events and the counter: one statement each, whatever the
     * batch's size, and on PostgreSQL all in one round trip.
     */
    void flush() throws SQLException {
        if (events.isEmpty()) {
            runDeferred();
            return;
        }
        long revision = base + events.size();
        String insert = SqlText.quoted(kind, "INSERT INTO \"lk_event\" (\"rev\", \"path\", \"kind\", \"detail\", \"session_id\", \"created_ms\") VALUES ")
                + SqlText.rows(events.size(), 6);
        if (kind == DatabaseKind.POSTGRES) {
            // the events, the counter and the wake-up in one round trip; NOTIFY is delivered at commit
            // to every coordinator LISTENing on PostgreSQL (a data-modifying WITH always runs to completion)
            String last = "WITH n AS (SELECT pg_notify('latchkey_events', ?)), e AS (" + insert
                    + ") UPDATE \"lk_cell\" SET \"value\" = ? FROM n WHERE \"name\" = 'revision'";
            defer(last, (s, from) -> {
                s.setString(from, Long.toString(revision));
                int i = bindEvents(s, from + 1);
                s.setLong(i, revision);
                return i + 1;
            });
            runDeferred();
        } else {
            runDeferred();
            try (PreparedStatement s = connection.prepareStatement(insert)) {
                bindEvents(s, 1);
                s.executeUpdate();
            }
            try (PreparedStatement s = connection.prepareStatement(SqlText.quoted(kind, "UPDATE \"lk_cell\" SET \"value\" = ? WHERE \"name\" = 'revision'"))) {
                s.setLong(1, revision);
                s.executeUpdate();
            }
        }
    }

    private int bindEvents(PreparedStatement s, int from) throws SQLException {
        int i = from;
        for (Event e : events) {
            s.setLong(i++, e.rev());
            s.setString(i++, e.path());
            s.setString(i++, e.kind().name());
            s.setString(i++, e.detail());
            s.setString(i++, e.session());
            s.setLong(i++, e.createdMillis());
        }
        return i;
    }

    /** Whether the store is PostgreSQL, whose writable WITH lets several writes share one round trip. */
    public boolean postgres() {
        return kind == DatabaseKind.POSTGRES;
    }
}
