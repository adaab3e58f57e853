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
    private long now;
    private long base;
    private boolean begun;
    private long headNanos;
    private final List<Event> events = new ArrayList<>();
    private final long outageThresholdMs;

    /**
     * A transaction on {@code connection}. Its head (the revision counter's row lock and the database
     * clock) runs before anything else the transaction does: on PostgreSQL, MariaDB and MySQL in the
     * same round trip as the batch's first read ({@link #readFirst}), on H2 as a statement of its own.
     */
    WriteTx(Connection connection, DSLContext dsl, DatabaseKind kind, long outageThresholdMs) {
        this.connection = connection;
        this.dsl = dsl;
        this.kind = kind;
        this.outageThresholdMs = outageThresholdMs;
    }

    /** The head's statement per database, built once. */
    private static final java.util.Map<DatabaseKind, String> HEAD_SQL = new java.util.EnumMap<>(DatabaseKind.class);

    static {
        for (DatabaseKind k : DatabaseKind.values()) {
            HEAD_SQL.put(k, SqlText.quoted(k, "SELECT \"value\", " + k.nowMillisExpression() + " FROM \"lk_cell\" WHERE \"name\" = 'revision' FOR UPDATE"));
        }
    }

    private String headSql() {
        return HEAD_SQL.get(kind);
    }

    private void takeHead(ResultSet rs) throws SQLException {
        if (!rs.next()) {
            throw new SQLException("the store has no revision counter (lk_cell 'revision'): were its migrations applied?");
        }
        this.base = rs.getLong(1);
        this.now = rs.getLong(2);
        this.begun = true;
    }

    /** Takes the revision counter's row lock and reads the database clock, unless that is done. */
    void begin() {
        if (begun) {
            return;
        }
        long started = System.nanoTime();
        try (PreparedStatement head = connection.prepareStatement(headSql()); ResultSet rs = head.executeQuery()) {
            takeHead(rs);
            headNanos = System.nanoTime() - started;
        } catch (SQLException e) {
            throw new org.jooq.exception.DataAccessException("taking the revision counter failed: " + e.getMessage(), e);
        }
    }

    /** How long the head took, with the first read when they shared a round trip (0 before it ran). */
    long headNanos() {
        return headNanos;
    }

    /** Whether the head has run: before it, nothing of this transaction reached the database. */
    boolean begun() {
        return begun;
    }

    /** Reads one result set. */
    @FunctionalInterface
    public interface Reader {
        void read(ResultSet rs) throws SQLException;
    }

    /**
     * Runs a read, after the head. When it is the transaction's first statement on PostgreSQL,
     * MariaDB or MySQL, the head and the read go in one round trip, as two statements: the read's
     * snapshot is taken after the counter's lock is held, so it sees everything committed before. The read may not
     * use {@link #now()} in its parameters (the clock is read with it).
     */
    public void readFirst(String sql, Binder binder, Reader reader) throws SQLException {
        if (!begun && multiStatement() && deferred.isEmpty()) {
            long started = System.nanoTime();
            try (PreparedStatement s = connection.prepareStatement(headSql() + "; " + sql)) {
                binder.bind(s, 1);
                s.execute();
                try (ResultSet head = s.getResultSet()) {
                    takeHead(head);
                }
                if (!s.getMoreResults()) {
                    throw new SQLException("the batch's first read returned no rows");
                }
                try (ResultSet rs = s.getResultSet()) {
                    reader.read(rs);
                }
            }
            headNanos = System.nanoTime() - started;
            return;
        }
        begin();
        try (PreparedStatement s = connection.prepareStatement(sql)) {
            binder.bind(s, 1);
            try (ResultSet rs = s.executeQuery()) {
                reader.read(rs);
            }
        }
    }

    public DSLContext dsl() {
        begin();
        return dsl;
    }

    /** The transaction's connection, for statements written in plain SQL. */
    public Connection connection() {
        begin();
        return connection;
    }

    /** The store's database. */
    public DatabaseKind kind() {
        return kind;
    }

    /** The database clock, in epoch milliseconds, read when the transaction began. */
    public long now() {
        begin();
        return now;
    }

    /** The reaper's outage threshold: a longer gap between its ticks stops the leases' clocks. */
    public long outageThresholdMs() {
        return outageThresholdMs;
    }

    /** The revision the next event will get. */
    public long nextRev() {
        begin();
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

    /** Runs the deferred writes now: one round trip on PostgreSQL, MariaDB and MySQL, one per statement on H2. */
    public void runDeferred() throws SQLException {
        if (deferred.isEmpty()) {
            return;
        }
        begin();
        if (multiStatement()) {
            StringBuilder sql = new StringBuilder();
            for (Deferred d : deferred) {
                sql.append(sql.isEmpty() ? "" : "; ").append(d.sql());
            }
            try (PreparedStatement s = connection.prepareStatement(sql.toString())) {
                int i = 1;
                for (Deferred d : deferred) {
                    i = d.binder().bind(s, i);
                }
                // every result is read: MySQL Connector/J reports a later statement's failure only when its result is asked for
                for (boolean rows = s.execute(); rows || s.getUpdateCount() != -1; rows = s.getMoreResults()) {
                    // (nothing to read: these are writes)
                }
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
     * Whether several statements may go in one round trip: PostgreSQL's driver sends them as one
     * pipeline; MySQL Connector/J as one query when the store opened it with {@code allowMultiQueries}.
     */
    private boolean multiStatement() {
        return kind == DatabaseKind.POSTGRES || kind.isMySqlFamily();
    }

    /**
     * Writes what was deferred, then the events and the counter: one statement each, whatever the
     * batch's size. On PostgreSQL they go in one round trip together with the NOTIFY and the
     * COMMIT itself; the caller's {@code commit()} then finds nothing left to commit. On MariaDB and
     * MySQL they go in one round trip and the caller commits; on H2 one statement at a time.
     */
    void flush() throws SQLException {
        if (kind == DatabaseKind.POSTGRES) {
            if (!events.isEmpty()) {
                long revision = base + events.size();
                // the events, the counter and the wake-up in one statement; NOTIFY is delivered at commit
                // to every coordinator LISTENing on PostgreSQL (a data-modifying WITH always runs to completion)
                defer("WITH n AS (SELECT pg_notify('latchkey_events', ?)), e AS (" + eventInsert()
                        + ") UPDATE \"lk_cell\" SET \"value\" = ? FROM n WHERE \"name\" = 'revision'", (s, from) -> {
                            s.setString(from, Long.toString(revision));
                            int i = bindEvents(s, from + 1);
                            s.setLong(i, revision);
                            return i + 1;
                        });
            }
            if (!deferred.isEmpty()) {
                defer("COMMIT", (s, from) -> from); // (a failure before it skips it, and the caller rolls back)
            }
            runDeferred();
            return;
        }
        if (!events.isEmpty()) {
            long revision = base + events.size();
            defer(eventInsert(), (s, from) -> bindEvents(s, from));
            defer(SqlText.quoted(kind, "UPDATE \"lk_cell\" SET \"value\" = ? WHERE \"name\" = 'revision'"), (s, from) -> {
                s.setLong(from, revision);
                return from + 1;
            });
        }
        runDeferred(); // (MariaDB and MySQL: in one round trip; the caller commits)
    }

    private String eventInsert() {
        return SqlText.quoted(kind, "INSERT INTO \"lk_event\" (\"rev\", \"path\", \"kind\", \"detail\", \"session_id\", \"created_ms\") VALUES ")
                + SqlText.rows(events.size(), 6);
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
