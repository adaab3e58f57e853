package dev.latchkey.coordinator.core;

import dev.latchkey.coordinator.store.Event;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.store.SqlText;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.WriteTx;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Lock commands as data: a run of acquires and releases is decided together in memory and written
 * set-based, inside the batch's transaction.
 *
 * <ol>
 *   <li><b>Read</b>: one statement reads every row the run touches: the nodes, holders and live
 *       waiters of its paths, and the leases of its sessions and of those waiters' sessions. The
 *       writer holds the revision counter's row lock, so nobody else writes them meanwhile.</li>
 *   <li><b>Decide</b>: each command in order, against the state the ones before it left, with the
 *       one grant rule ({@link LockPolicy}). A release grants the lock on to the head of its queue
 *       at once (grant on release). A refused command is decided as refused and changes nothing.</li>
 *   <li><b>Write</b>: the difference between the state read and the state decided, one statement
 *       per kind of change (holders gone, waiters gone, holders added, waiters added, lock
 *       generations), however many commands the run had. Events go with the batch's flush.</li>
 * </ol>
 *
 * <p>The statements are fixed SQL text bound with JDBC; only the number of placeholders varies.
 */
final class LockBatch implements Store.CommandKind<LockBatch.Command> {

    static final LockBatch INSTANCE = new LockBatch();

    private LockBatch() {
    }

    /** A lock command. */
    sealed interface Command {
        String path();

        String session();
    }

    /**
     * Acquire {@code path} for {@code session}; {@code waiterId} is its place in the queue when it
     * already joined it (else negative), {@code remainingMs} how much longer it may wait.
     */
    record Acquire(String path, String session, Grant.Mode mode, long lockDelayMs, long waiterId, long remainingMs, byte[] contentOnGrant)
            implements Command {
    }

    /** Release {@code path}, held by {@code session}. */
    record Release(String path, String session) implements Command {
    }

    /** What an acquire came to. */
    sealed interface Outcome {
    }

    /** Granted (now, or earlier by a release handing it on). */
    record Granted(Grant grant) implements Outcome {
    }

    /** Queued at {@code waiterId}; {@code delayRemainingMs} of lock-delay left, if any. */
    record Wait(long waiterId, long delayRemainingMs) implements Outcome {
    }

    /** Not granted, and no more time to wait. */
    record Busy(String why) implements Outcome {
    }

    @Override
    public Object[] apply(WriteTx tx, List<Command> commands) {
        Set<String> paths = new LinkedHashSet<>();
        Set<String> sessions = new LinkedHashSet<>();
        for (Command c : commands) {
            paths.add(c.path());
            if (c.session() != null) {
                sessions.add(c.session());
            }
        }
        try {
            tx.runDeferred(); // (writes still waiting from before this run: its read must see them)
        } catch (SQLException e) {
            throw new org.jooq.exception.DataAccessException("writing the batch failed: " + e.getMessage(), e);
        }
        Table table = Table.read(tx, paths, sessions);
        Object[] outcomes = table.decide(commands);
        table.write();
        table.remember();
        return outcomes;
    }

    /**
     * The same decisions from the rows the writer remembers of its earlier batches ({@link
     * WriteTx#memory}): every path the run touches must be remembered, and every session it names,
     * or that waits on those paths, must have a remembered lease that is still running (leases only
     * ever grow between batches). Otherwise, or when a command would write a lock's content, {@code
     * null}: the batch reads the store.
     */
    @Override
    public Object[] applyFromMemory(WriteTx tx, List<Command> commands) {
        Memory memory = tx.memory(INSTANCE, Memory::new);
        if (memory == null) {
            return null;
        }
        long now = tx.now();
        Table table = new Table(tx);
        for (Command c : commands) {
            if (c instanceof Acquire a && a.contentOnGrant() != null || !memory.live(c.session(), now)) {
                return null;
            }
            table.leases.put(c.session(), memory.leases.get(c.session()));
            if (!table.paths.containsKey(c.path())) {
                PathState known = memory.paths.get(c.path());
                if (known == null) {
                    return null;
                }
                PathState p = known.copy(now);
                for (Waiter w : p.waiters.values()) {
                    if (!memory.live(w.session(), now)) {
                        return null;
                    }
                    table.leases.put(w.session(), memory.leases.get(w.session()));
                }
                table.paths.put(p.path, p);
            }
        }
        Object[] outcomes = table.decide(commands);
        table.write();
        table.remember();
        return outcomes;
    }

    /**
     * A first request, with a wait ahead of it and no content to write, on a lock that memory says
     * another session holds in a way it conflicts with (or with a queue already): it will be queued,
     * and its caller waits for a grant, not for this batch.
     */
    @Override
    public boolean mayLinger(Object remembered, Command command) {
        if (!(remembered instanceof Memory memory) || !(command instanceof Acquire a) || a.waiterId() >= 0 || a.contentOnGrant() != null
                || a.remainingMs() < LINGER_MIN_WAIT_MS) {
            return false;
        }
        PathState p = memory.paths.get(a.path());
        if (p == null || p.holders.isEmpty()) {
            return false;
        }
        boolean conflicts = a.mode() == Grant.Mode.EXCLUSIVE || !p.waiters.isEmpty();
        for (Holder h : p.holders) {
            if (h.session().equals(a.session())) {
                return false;
            }
            conflicts |= h.mode() == Grant.Mode.EXCLUSIVE;
        }
        return conflicts;
    }

    /** A request that may wait less than this is answered without lingering (it would spend a share of its wait). */
    private static final long LINGER_MIN_WAIT_MS = 100;

    /**
     * What the writer remembers of lock rows after its last commit: each path's node, holders and
     * waiters as that commit left them, and the leases it read (a lease it remembers is at most the
     * lease in the store: keep-alives only extend them). The store empties it whenever that may no
     * longer hold.
     */
    private static final class Memory {
        private static final int ENTRIES = 100_000;
        final Map<String, PathState> paths = new HashMap<>();
        final Map<String, Long> leases = new HashMap<>();

        boolean live(String session, long now) {
            Long expires = session == null ? null : leases.get(session);
            return expires != null && expires >= now;
        }
    }

    /**
     * Grant on release for writes that free locks outside a run of commands (a session closed or
     * expired): hands each path on to the head of its queue, in this transaction.
     */
    static void handOn(WriteTx tx, Set<String> paths) {
        if (paths.isEmpty()) {
            return;
        }
        Table table = Table.read(tx, paths, Set.of());
        for (String path : paths) {
            table.handOn(table.path(path));
        }
        table.write();
        try {
            tx.runDeferred(); // at once: the operation that freed them may read these rows next
        } catch (SQLException e) {
            throw new org.jooq.exception.DataAccessException("handing locks on failed: " + e.getMessage(), e);
        }
    }

    private record Holder(String session, Grant.Mode mode, long generation, long lockDelayMs, boolean fresh) {
    }

    private record Waiter(long id, String session, Grant.Mode mode, long deadline, long lockDelayMs, boolean hasContent,
            byte[] content, boolean fresh) {
    }

    /** One path's lock, as read and then as decided. */
    private static final class PathState {
        final String path;
        boolean exists;
        long lockGeneration;
        long readLockGeneration;
        long lockDelayUntil;
        long contentGeneration;
        final List<Holder> holders = new ArrayList<>();
        final TreeMap<Long, Waiter> waiters = new TreeMap<>(); // live ones, in queue order

        PathState(String path) {
            this.path = path;
        }

        /**
         * A copy to remember or to decide on: holders and waiters as written (not fresh), waiters whose
         * wait ran out by {@code liveAt} left out, as a read leaves them out.
         */
        PathState copy(long liveAt) {
            PathState c = new PathState(path);
            c.exists = exists;
            c.lockGeneration = lockGeneration;
            c.readLockGeneration = lockGeneration;
            c.lockDelayUntil = lockDelayUntil;
            c.contentGeneration = contentGeneration;
            for (Holder h : holders) {
                c.holders.add(h.fresh() ? new Holder(h.session(), h.mode(), h.generation(), h.lockDelayMs(), false) : h);
            }
            for (Waiter w : waiters.values()) {
                if (w.deadline() >= liveAt) {
                    c.waiters.put(w.id(), w.fresh() ? new Waiter(w.id(), w.session(), w.mode(), w.deadline(), w.lockDelayMs(), w.hasContent(),
                            null, false) : w);
                }
            }
            return c;
        }

        List<Boolean> holdersShared() {
            List<Boolean> shared = new ArrayList<>(holders.size());
            for (Holder h : holders) {
                shared.add(h.mode() == Grant.Mode.SHARED);
            }
            return shared;
        }
    }

    /** The rows a run touches, read once, changed in memory, and written back as a difference. */
    private static final class Table {
        private final WriteTx tx;
        private final Map<String, PathState> paths = new LinkedHashMap<>();
        private final Map<String, Long> leases = new HashMap<>();
        private final List<String[]> holdersGone = new ArrayList<>(); // {path, session}
        private final List<Object[]> holdersAdded = new ArrayList<>(); // {path, Holder}
        private final Set<Long> waitersGone = new LinkedHashSet<>();
        private final List<Object[]> waitersAdded = new ArrayList<>(); // {path, Waiter}

        private Table(WriteTx tx) {
            this.tx = tx;
        }

        PathState path(String path) {
            return paths.get(path);
        }

        private static final int NODE_ROW = 0;
        private static final int SESSION_ROW = 1;
        private static final int HOLDER_ROW = 2;
        private static final int WAITER_ROW = 3;

        /**
         * Everything in one UNION ALL whose rows share the columns (kind, path, four numbers, a
         * session, a mode): nodes, leases (the run's sessions and its waiters' sessions), holders,
         * live waiters.
         */
        static Table read(WriteTx tx, Set<String> paths, Set<String> sessions) {
            Table table = new Table(tx);
            for (String p : paths) {
                table.paths.put(p, new PathState(p));
            }
            DatabaseKind kind = tx.kind();
            String in = SqlText.list(paths.size());
            String sessionsIn = sessions.isEmpty() ? "" : "\"id\" IN " + SqlText.list(sessions.size()) + " OR ";
            String sql = SqlText.quoted(kind, "SELECT " + NODE_ROW + " AS k, \"path\", \"lock_gen\", \"lock_delay_until_ms\", \"content_gen\","
                    + " 0 AS n4, NULL AS s, NULL AS m FROM \"lk_node\" WHERE \"path\" IN " + in
                    + " UNION ALL SELECT " + SESSION_ROW + ", NULL, \"expires_ms\", 0, 0, 0, \"id\", NULL FROM \"lk_session\" WHERE " + sessionsIn
                    + "\"id\" IN (SELECT \"session_id\" FROM \"lk_lock_waiter\" WHERE \"path\" IN " + in + ")"
                    + " UNION ALL SELECT " + HOLDER_ROW + ", \"path\", \"generation\", \"lock_delay_ms\", 0, 0, \"session_id\", \"mode\""
                    + " FROM \"lk_lock_holder\" WHERE \"path\" IN " + in
                    + " UNION ALL SELECT " + WAITER_ROW + ", \"path\", \"id\", \"deadline_ms\", \"lock_delay_ms\","
                    + " CASE WHEN \"content_on_grant\" IS NULL THEN 0 ELSE 1 END, \"session_id\", \"mode\""
                    + " FROM \"lk_lock_waiter\" WHERE \"path\" IN " + in);
            try {
                // (in one round trip with the transaction's head when it is the batch's first read; H2 apart)
                tx.readFirst(sql, (s, from) -> {
                    int i = bind(s, from, paths);
                    i = bind(s, i, sessions);
                    i = bind(s, i, paths);
                    i = bind(s, i, paths);
                    return bind(s, i, paths);
                }, rs -> {
                    long now = tx.now();
                    while (rs.next()) {
                        int rowKind = rs.getInt(1);
                        long n1 = rs.getLong(3);
                        long n2 = rs.getLong(4);
                        long n3 = rs.getLong(5);
                        switch (rowKind) {
                            case NODE_ROW -> {
                                PathState p = table.paths.get(rs.getString(2));
                                p.exists = true;
                                p.lockGeneration = n1;
                                p.readLockGeneration = n1;
                                p.lockDelayUntil = n2;
                                p.contentGeneration = n3;
                            }
                            case SESSION_ROW -> table.leases.put(rs.getString(7), n1);
                            case HOLDER_ROW -> table.paths.get(rs.getString(2)).holders.add(
                                    new Holder(rs.getString(7), Grant.Mode.valueOf(rs.getString(8)), n1, n2, false));
                            default -> {
                                if (n2 >= now) { // live waiters only: one whose wait ran out is gone from the queue
                                    table.paths.get(rs.getString(2)).waiters.put(n1, new Waiter(n1, rs.getString(7),
                                            Grant.Mode.valueOf(rs.getString(8)), n2, n3, rs.getLong(6) != 0, null, false));
                                }
                            }
                        }
                    }
                });
            } catch (SQLException e) {
                throw new org.jooq.exception.DataAccessException("reading the locks of a batch failed: " + e.getMessage(), e);
            }
            return table;
        }

        private static int bind(PreparedStatement s, int from, Set<String> values) throws SQLException {
            int i = from;
            for (String v : values) {
                s.setString(i++, v);
            }
            return i;
        }

        /** Decides each command in order, against the state the ones before it left. */
        Object[] decide(List<Command> commands) {
            Object[] outcomes = new Object[commands.size()];
            for (int i = 0; i < commands.size(); i++) {
                try {
                    outcomes[i] = switch (commands.get(i)) {
                        case Acquire a -> acquire(a);
                        case Release r -> release(r);
                    };
                } catch (CoordinatorException refused) {
                    outcomes[i] = refused; // decided as refused: nothing of it was written or emitted
                }
            }
            return outcomes;
        }

        /**
         * Remembers the decided state (it is the store's once the batch commits; the store forgets
         * it if the batch does not). A path with a waiter whose grant writes content is not
         * remembered: that content is read from the store when it is granted.
         */
        void remember() {
            Memory memory = tx.memory(INSTANCE, Memory::new);
            if (memory == null) {
                return;
            }
            if (memory.paths.size() > Memory.ENTRIES || memory.leases.size() > Memory.ENTRIES) {
                memory.paths.clear();
                memory.leases.clear();
            }
            for (PathState p : paths.values()) {
                if (p.exists && p.waiters.values().stream().noneMatch(Waiter::hasContent)) {
                    memory.paths.put(p.path, p.copy(Long.MIN_VALUE));
                } else {
                    memory.paths.remove(p.path);
                }
            }
            memory.leases.putAll(leases);
        }

        Outcome acquire(Acquire a) {
            if (a.session() == null || a.session().isBlank()) {
                throw new CoordinatorException(Problem.SESSION_NOT_FOUND, "a session id is required");
            }
            PathState p = paths.get(a.path());
            Sessions.requireLive(tx, a.session(), leases.get(a.session()));
            if (!p.exists) {
                Namespace.ensureFile(tx, a.path()); // the first lock on a path creates it as an empty file (refusals come before it writes)
                p.exists = true;
                p.lockGeneration = 0;
                p.readLockGeneration = 0;
                p.lockDelayUntil = 0;
                p.contentGeneration = 1;
            }
            for (Holder mine : p.holders) {
                if (mine.session().equals(a.session())) {
                    dropWaiter(p, a.waiterId());
                    return new Granted(new Grant(a.path(), mine.mode(), mine.generation(), a.session()));
                }
            }
            List<Boolean> ahead = new ArrayList<>();
            for (Waiter w : (a.waiterId() < 0 ? p.waiters : p.waiters.headMap(a.waiterId(), false)).values()) {
                ahead.add(w.mode() == Grant.Mode.SHARED);
            }
            boolean delayed = p.lockDelayUntil > tx.now();
            if (LockPolicy.mayGrant(a.mode() == Grant.Mode.SHARED, p.holdersShared(), ahead, delayed)) {
                dropWaiter(p, a.waiterId());
                Grant grant = grant(p, a.session(), a.mode(), a.lockDelayMs());
                if (a.contentOnGrant() != null) {
                    writeContent(p, a.contentOnGrant());
                }
                return new Granted(grant);
            }
            if (a.remainingMs() <= 0) {
                dropWaiter(p, a.waiterId());
                handOn(p); // its place in the queue is gone: whoever queued behind it may take the lock now
                return new Busy(delayed ? "'" + a.path() + "' is in lock-delay for another " + (p.lockDelayUntil - tx.now()) + " ms"
                        : "'" + a.path() + "' is locked by another session");
            }
            long id = a.waiterId();
            if (id < 0) {
                // the queue position is the revision of the request's event: unique, and increasing in
                // queue order because writing transactions run one at a time
                id = tx.emit(a.path(), Event.Kind.CONFLICTING_LOCK_REQUEST, a.mode().name().toLowerCase(Locale.ROOT), a.session()).rev();
                Waiter w = new Waiter(id, a.session(), a.mode(), tx.now() + a.remainingMs(), a.lockDelayMs(), a.contentOnGrant() != null,
                        a.contentOnGrant(), true);
                p.waiters.put(id, w);
                waitersAdded.add(new Object[] {a.path(), w});
            }
            return new Wait(id, delayed ? p.lockDelayUntil - tx.now() : 0);
        }

        Boolean release(Release r) {
            PathState p = paths.get(r.path());
            Holder held = p.holders.stream().filter(h -> h.session().equals(r.session())).findFirst().orElse(null);
            if (held == null) {
                throw new CoordinatorException(Problem.NOT_LOCK_HOLDER, "session '" + r.session() + "' does not hold '" + r.path() + "'");
            }
            p.holders.remove(held);
            if (held.fresh()) {
                holdersAdded.removeIf(added -> added[1] == held);
            } else {
                holdersGone.add(new String[] {r.path(), r.session()});
            }
            tx.emit(r.path(), Event.Kind.LOCK_RELEASED, "released", r.session());
            handOn(p);
            return Boolean.TRUE;
        }

        /**
         * Grant on release: hands a lock on to the waiters at the head of its queue that the policy
         * names. It stops at the first waiter whose session looks expired (the reaper, or the
         * waiter's own retry, decides it): nobody is skipped. Nothing is handed on in lock-delay.
         */
        void handOn(PathState p) {
            if (p == null || !p.exists || p.waiters.isEmpty() || p.lockDelayUntil > tx.now()) {
                return;
            }
            List<LockPolicy.Waiter> live = new ArrayList<>();
            for (Waiter w : p.waiters.values()) {
                Long expires = leases.get(w.session());
                if (expires == null || expires < tx.now()) {
                    break;
                }
                live.add(new LockPolicy.Waiter(w.id(), w.session(), w.mode() == Grant.Mode.SHARED));
            }
            for (LockPolicy.Waiter chosen : LockPolicy.grantable(p.holdersShared(), live, false)) {
                Waiter w = p.waiters.get(chosen.id());
                dropWaiter(p, w.id());
                grant(p, w.session(), w.mode(), w.lockDelayMs());
                if (w.hasContent()) {
                    writeContent(p, w.content() != null ? w.content() : contentOnGrant(w.id()));
                }
            }
        }

        private Grant grant(PathState p, String session, Grant.Mode mode, long lockDelayMs) {
            // a holder waits for nothing: any other request of its session for this lock (one repeated
            // after a dropped connection) leaves the queue with the grant, or it would be granted again later
            for (Waiter other : List.copyOf(p.waiters.values())) {
                if (other.session().equals(session)) {
                    dropWaiter(p, other.id());
                }
            }
            if (p.holders.isEmpty()) {
                p.lockGeneration++;
            }
            Holder h = new Holder(session, mode, p.lockGeneration, lockDelayMs, true);
            p.holders.add(h);
            holdersAdded.add(new Object[] {p.path, h});
            tx.emit(p.path, Event.Kind.LOCK_ACQUIRED, mode.name().toLowerCase(Locale.ROOT) + ":" + p.lockGeneration, session);
            return new Grant(p.path, mode, p.lockGeneration, session);
        }

        private void dropWaiter(PathState p, long id) {
            if (id < 0) {
                return;
            }
            Waiter w = p.waiters.remove(id);
            if (w != null && w.fresh()) {
                waitersAdded.removeIf(added -> added[1] == w);
            } else {
                waitersGone.add(id); // (also when its deadline passed and it was not read: the row goes)
            }
        }

        private void writeContent(PathState p, byte[] content) {
            Namespace.overwrite(tx, p.path, p.contentGeneration, content);
            p.contentGeneration++;
        }

        private byte[] contentOnGrant(long waiterId) {
            try (PreparedStatement s = tx.connection().prepareStatement(
                    SqlText.quoted(tx.kind(), "SELECT \"content_on_grant\" FROM \"lk_lock_waiter\" WHERE \"id\" = ?"))) {
                s.setLong(1, waiterId);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next() ? rs.getBytes(1) : new byte[0];
                }
            } catch (SQLException e) {
                throw new org.jooq.exception.DataAccessException("reading a waiter's content failed: " + e.getMessage(), e);
            }
        }

        /**
         * Writes what changed: at most one statement per kind of change, deferred to the batch's
         * next read or its commit (on PostgreSQL they go in one round trip with the events).
         */
        void write() {
            DatabaseKind kind = tx.kind();
            if (!holdersGone.isEmpty()) {
                List<String[]> gone = List.copyOf(holdersGone);
                tx.defer(SqlText.quoted(kind, "DELETE FROM \"lk_lock_holder\" WHERE (\"path\", \"session_id\") IN (")
                        + SqlText.rows(gone.size(), 2) + ")", (s, from) -> {
                            int i = from;
                            for (String[] g : gone) {
                                s.setString(i++, g[0]);
                                s.setString(i++, g[1]);
                            }
                            return i;
                        });
            }
            if (!waitersGone.isEmpty()) {
                List<Long> gone = List.copyOf(waitersGone);
                tx.defer(SqlText.quoted(kind, "DELETE FROM \"lk_lock_waiter\" WHERE \"id\" IN ") + SqlText.list(gone.size()), (s, from) -> {
                    int i = from;
                    for (long id : gone) {
                        s.setLong(i++, id);
                    }
                    return i;
                });
            }
            if (!holdersAdded.isEmpty()) {
                List<Object[]> added = List.copyOf(holdersAdded);
                long now = tx.now();
                tx.defer(SqlText.quoted(kind, "INSERT INTO \"lk_lock_holder\" (\"path\", \"session_id\", \"mode\", \"generation\", \"lock_delay_ms\","
                        + " \"acquired_ms\") VALUES ") + SqlText.rows(added.size(), 6), (s, from) -> {
                            int i = from;
                            for (Object[] row : added) {
                                Holder h = (Holder) row[1];
                                s.setString(i++, (String) row[0]);
                                s.setString(i++, h.session());
                                s.setString(i++, h.mode().name());
                                s.setLong(i++, h.generation());
                                s.setLong(i++, h.lockDelayMs());
                                s.setLong(i++, now);
                            }
                            return i;
                        });
            }
            if (!waitersAdded.isEmpty()) {
                List<Object[]> added = List.copyOf(waitersAdded);
                long now = tx.now();
                tx.defer(SqlText.quoted(kind, "INSERT INTO \"lk_lock_waiter\" (\"id\", \"path\", \"session_id\", \"mode\", \"enqueued_ms\","
                        + " \"deadline_ms\", \"lock_delay_ms\", \"content_on_grant\") VALUES ") + SqlText.rows(added.size(), 8), (s, from) -> {
                            int i = from;
                            for (Object[] row : added) {
                                Waiter w = (Waiter) row[1];
                                s.setLong(i++, w.id());
                                s.setString(i++, (String) row[0]);
                                s.setString(i++, w.session());
                                s.setString(i++, w.mode().name());
                                s.setLong(i++, now);
                                s.setLong(i++, w.deadline());
                                s.setLong(i++, w.lockDelayMs());
                                s.setBytes(i++, w.content());
                            }
                            return i;
                        });
            }
            List<PathState> bumped = new ArrayList<>();
            for (PathState p : paths.values()) {
                if (p.lockGeneration != p.readLockGeneration) {
                    bumped.add(p);
                }
            }
            if (!bumped.isEmpty()) {
                StringBuilder sql = new StringBuilder("UPDATE \"lk_node\" SET \"lock_gen\" = CASE \"path\"");
                for (int k = 0; k < bumped.size(); k++) {
                    sql.append(" WHEN ? THEN ?");
                }
                sql.append(" END WHERE \"path\" IN ").append(SqlText.list(bumped.size()));
                List<String> bumpedPaths = bumped.stream().map(p -> p.path).toList();
                List<Long> generations = bumped.stream().map(p -> p.lockGeneration).toList();
                tx.defer(SqlText.quoted(kind, sql.toString()), (s, from) -> {
                    int i = from;
                    for (int k = 0; k < bumpedPaths.size(); k++) {
                        s.setString(i++, bumpedPaths.get(k));
                        s.setLong(i++, generations.get(k));
                    }
                    for (String p : bumpedPaths) {
                        s.setString(i++, p);
                    }
                    return i;
                });
            }
        }
    }
}
