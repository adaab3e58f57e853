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
    private long stamp;
    private boolean begun;
    private long headNanos;
    private long headReturnedNanos;
    private final List<Event> events = new ArrayList<>();
    private final long outageThresholdMs;
    private final java.util.Map<Object, Object> memory;
    private final boolean fromMemory;

    /**
     * A transaction on {@code connection}. Its head (the revision counter's row lock and the database
     * clock) runs before anything else the transaction does: on PostgreSQL, MariaDB and MySQL in the
     * same round trip as the batch's first read ({@link #readFirst}), on H2 as a statement of its own.
     */
    WriteTx(Connection connection, DSLContext dsl, DatabaseKind kind, long outageThresholdMs, java.util.Map<Object, Object> memory) {
        this.connection = connection;
        this.dsl = dsl;
        this.kind = kind;
        this.outageThresholdMs = outageThresholdMs;
        this.memory = memory;
        this.fromMemory = false;
    }

    /**
     * A transaction decided from the writer's memory: it reads nothing. {@code base} and {@code stamp}
     * are the revision counter and the write stamp the writer's last commit left; {@code now} is the
     * database clock as the writer estimates it. Its flush sends, first, a guard that holds the
     * counter's row lock and fails the whole transaction unless the stamp is still {@code stamp} (nobody
     * else wrote since) and the database clock has not fallen behind {@code now}.
     */
    private WriteTx(Connection connection, DSLContext dsl, DatabaseKind kind, long outageThresholdMs, java.util.Map<Object, Object> memory,
            long base, long stamp, long now) {
        this.connection = connection;
        this.dsl = dsl;
        this.kind = kind;
        this.outageThresholdMs = outageThresholdMs;
        this.memory = memory;
        this.fromMemory = true;
        this.base = base;
        this.stamp = stamp;
        this.now = now;
        this.begun = true;
    }

    static WriteTx fromMemory(Connection connection, DSLContext dsl, DatabaseKind kind, long outageThresholdMs,
            java.util.Map<Object, Object> memory, long base, long stamp, long now) {
        return new WriteTx(connection, dsl, kind, outageThresholdMs, memory, base, stamp, now);
    }

    /**
     * A decision from memory needed the database (a row the writer does not remember): thrown before
     * anything was sent, so the writer decides the batch again the usual way.
     */
    public static final class NotInMemory extends RuntimeException {
        public NotInMemory(String what) {
            super(what, null, false, false);
        }
    }

    /**
     * What a kind of command remembers between batches (on PostgreSQL; elsewhere {@code null}):
     * valid only while nobody else writes, which the writer checks before it commits a batch decided
     * from it, and emptied whenever that cannot be known.
     */
    @SuppressWarnings("unchecked")
    public <M> M memory(Object key, java.util.function.Supplier<M> create) {
        return memory == null ? null : (M) memory.computeIfAbsent(key, k -> create.get());
    }

    private void requireStore(String what) {
        if (fromMemory) {
            throw new NotInMemory(what);
        }
    }

    /** The head's statement per database, built once. */
    private static final java.util.Map<DatabaseKind, String> HEAD_SQL = new java.util.EnumMap<>(DatabaseKind.class);

    static {
        for (DatabaseKind k : DatabaseKind.values()) {
            HEAD_SQL.put(k, SqlText.quoted(k, "SELECT \"value\", " + k.nowMillisExpression() + ", \"stamp\" FROM \"lk_cell\" WHERE \"name\" = 'revision' FOR UPDATE"));
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
        this.stamp = rs.getLong(3);
        this.begun = true;
        this.headReturnedNanos = System.nanoTime();
        if (memory != null && stamp != rememberedStamp) {
            // another writer committed since what is remembered was true: none of it can be trusted
            // (before any command of this transaction remembers what it reads now)
            memory.clear();
        }
    }

    private long rememberedStamp = -1;

    /** The write stamp as of which the writer's memory is true (-1: it holds nothing). */
    void rememberedStamp(long stamp) {
        this.rememberedStamp = stamp;
    }

    /** The write stamp the head read (every committed writing transaction adds one to it). */
    long stamp() {
        return stamp;
    }

    /** The revision counter as the head read it. */
    long base() {
        return base;
    }

    /** When the head's answer came back ({@link System#nanoTime}): the database clock read in it was at most this late. */
    long headReturnedNanos() {
        return headReturnedNanos;
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
        requireStore("a read");
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
        requireStore("a statement");
        begin();
        return dsl;
    }

    /** The transaction's connection, for statements written in plain SQL. */
    public Connection connection() {
        requireStore("a statement");
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
        if (fromMemory && !flushing) {
            throw new NotInMemory("a write before the commit");
        }
        begin();
        if (multiStatement()) {
            int length = 0;
            for (Deferred d : deferred) {
                length += d.sql().length() + 2;
            }
            StringBuilder sql = new StringBuilder(length); // (sized once: a batch's text runs to kilobytes)
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

    private boolean flushing;

    /**
     * The SQLSTATE of the guard's refusal (division by zero: no other statement of a batch can raise
     * it). The transaction is then aborted, so its COMMIT rolls back: nothing of the batch was written.
     */
    static final String STALE_MEMORY = "22012";

    /**
     * How far the database clock may run ahead of a decision's estimate before the guard refuses it.
     * The estimate is taken when the batch is decided, as a head's clock is read when a batch begins;
     * on a loaded machine the commit can come this much later in either case. Beyond it, the guard
     * takes the estimate itself to be wrong (the database's clock was stepped), and the writer reads.
     */
    static final long CLOCK_SLACK_MS = 500;

    /**
     * The guard of a transaction decided from memory (PostgreSQL). It waits for the counter's row lock
     * like a head, writes the counter (the decision knows it already), adds one to the write stamp
     * and, on the row as it is once the lock is held, divides
     * by zero unless the stamp was the one the decision assumed (nobody else committed a write since)
     * and the database clock is within {@link #CLOCK_SLACK_MS} at or after the decision's estimate.
     */
    private static final String GUARD_SQL = "UPDATE \"lk_cell\" SET \"value\" = ?, \"stamp\" = \"stamp\" + 1 WHERE \"name\" = 'revision'"
            + " RETURNING 1 / CASE WHEN \"stamp\" = ? AND " + DatabaseKind.POSTGRES.nowMillisExpression() + " BETWEEN ? AND ? THEN 1 ELSE 0 END";

    /**
     * Writes what was deferred, then the events, the counter and, on PostgreSQL, the write stamp (one
     * more for every committed writing transaction, events or not, so that a writer can tell whether
     * anyone else wrote since its own last commit): one statement each, whatever the batch's size. On PostgreSQL
     * they go in one round trip together with the NOTIFY and the COMMIT itself (after the guard, when
     * the batch was decided from memory); the caller's {@code commit()} then finds nothing left to
     * commit. On MariaDB and MySQL they go in one round trip and the caller commits; on H2 one
     * statement at a time.
     */
    void flush() throws SQLException {
        flushing = true;
        long revision = base + events.size();
        // (from memory: the guard added it; a write that changed nothing remembered leaves it)
        stamped = !fromMemory && (!keepsRemembered || !events.isEmpty());
        String stampSet = stamped ? ", \"stamp\" = \"stamp\" + 1" : "";
        if (kind == DatabaseKind.POSTGRES) {
            if (fromMemory) {
                deferred.add(0, new Deferred(GUARD_SQL, (s, from) -> {
                    s.setLong(from, revision);
                    s.setLong(from + 1, stamp + 1);
                    s.setLong(from + 2, now);
                    s.setLong(from + 3, now + CLOCK_SLACK_MS);
                    return from + 4;
                }));
                if (!events.isEmpty()) {
                    // (the counter is written: one update of its row per transaction)
                    defer(eventInsert(), (s, from) -> bindEvents(s, from));
                    defer("SELECT pg_notify('latchkey_events', ?)", (s, from) -> {
                        s.setString(from, Long.toString(revision));
                        return from + 1;
                    });
                }
            } else if (!events.isEmpty()) {
                // the events, the counter and the wake-up in one statement; NOTIFY is delivered at commit
                // to every coordinator LISTENing on PostgreSQL (a data-modifying WITH always runs to completion)
                defer("WITH n AS (SELECT pg_notify('latchkey_events', ?)), e AS (" + eventInsert()
                        + ") UPDATE \"lk_cell\" SET \"value\" = ?" + stampSet + " FROM n WHERE \"name\" = 'revision'", (s, from) -> {
                            s.setString(from, Long.toString(revision));
                            int i = bindEvents(s, from + 1);
                            s.setLong(i, revision);
                            return i + 1;
                        });
            } else if (stamped) {
                defer("UPDATE \"lk_cell\" SET \"stamp\" = \"stamp\" + 1 WHERE \"name\" = 'revision'", (s, from) -> from);
            }
            if (!deferred.isEmpty()) {
                defer("COMMIT", (s, from) -> from); // (a failure before it skips it, and the caller rolls back)
            }
            runDeferred();
            return;
        }
        // (no writer remembers on these databases, so the stamp stays: a transaction with no events
        // leaves the counter's row alone, which on Galera spares a certification conflict)
        stamped = false;
        if (!events.isEmpty()) {
            defer(eventInsert(), (s, from) -> bindEvents(s, from));
            defer(SqlText.quoted(kind, "UPDATE \"lk_cell\" SET \"value\" = ? WHERE \"name\" = 'revision'"), (s, from) -> {
                s.setLong(from, revision);
                return from + 1;
            });
        }
        runDeferred(); // (MariaDB and MySQL: in one round trip; the caller commits)
    }

    private boolean keepsRemembered;
    private boolean stamped;

    /**
     * Declares that what the operations of this transaction so far wrote changes nothing a writer
     * remembers for its commands: no lock row, no node, no session ended; leases only extended (a
     * remembered lease is a lower bound), waiters removed only once their wait has run out, cells
     * other than the revision counter. If every operation of a batch that ran no command says so,
     * and it emitted no event, the write stamp stays as it was and every writer keeps its memory (the
     * reaper's quiet ticks, four a second on every coordinator, would otherwise empty them all).
     */
    public void keepsRemembered() {
        keepsRemembered = true;
    }

    /** Starts an operation: until it says otherwise ({@link #keepsRemembered}), it may have changed anything. */
    void operationStarts() {
        keepsRemembered = false;
    }

    boolean keptRemembered() {
        return keepsRemembered;
    }

    /** Whether the flush added one to the write stamp (a transaction decided from memory: its guard did). */
    boolean stamped() {
        return stamped;
    }

    /** Whether {@code e} is the guard's refusal: the memory was stale, and nothing was written. */
    static boolean staleMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql && STALE_MEMORY.equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
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
