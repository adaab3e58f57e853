package dev.latchkey.coordinator.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.StoreConfig;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Model-based: random scripts of lock commands from three sessions on three locks, applied to the
 * store in random batch splits (several transactions, several runs of commands in each), must give
 * the same outcomes, the same event log and the same final holders, waiters and generations as a
 * plain in-memory model of the lock rules. On PostgreSQL, MariaDB and H2.
 */
class LockBatchModelTest {

    // the writer's memory is off by default (see Store): these properties cover it, so they turn it on
    @net.jqwik.api.lifecycle.BeforeContainer
    static void memoryOn() {
        System.setProperty("latchkey.store.memory", "true");
    }

    private static final int SESSIONS = 3;
    private static final int PATHS = 3;
    private static final Map<Database, Fixture> FIXTURES = new EnumMap<>(Database.class);
    private static final AtomicInteger TRIES = new AtomicInteger();

    /** A database with a coordinator on it, opened on the first try that needs it. */
    private record Fixture(TestDatabase db, Coordinator coordinator) {
    }

    @AfterContainer
    static void closeAll() {
        Fixture postgresql = FIXTURES.get(Database.POSTGRESQL);
        long fromMemory = postgresql == null ? -1 : postgresql.coordinator().store().batchStats().fromMemory();
        FIXTURES.values().forEach(f -> {
            f.coordinator().close();
            f.db().close();
        });
        FIXTURES.clear();
        System.clearProperty("latchkey.store.memory");
        if (postgresql != null && fromMemory == 0) {
            // Whether random scripts reach the one-round-trip path depends on timing (a writer idle for
            // 1 s, a reaper tick, a retried batch each send the next batch the usual way), so it is
            // reported, not required: a clean-clone CI run on a loaded machine once took it 0 times in
            // 40 tries. WriterMemoryTest drives that path on purpose and requires it.
            System.err.println("LockBatchModelTest: no PostgreSQL batch was decided from the writer's memory this run");
        }
    }

    @Property(tries = 40)
    void postgresqlMatchesTheModel(@ForAll("scripts") List<Cmd> script, @ForAll long splitSeed) throws Exception {
        check(Database.POSTGRESQL, script, splitSeed);
    }

    @Property(tries = 40)
    void mariadbMatchesTheModel(@ForAll("scripts") List<Cmd> script, @ForAll long splitSeed) throws Exception {
        check(Database.MARIADB, script, splitSeed);
    }

    @Property(tries = 40)
    void h2MatchesTheModel(@ForAll("scripts") List<Cmd> script, @ForAll long splitSeed) throws Exception {
        check(Database.H2, script, splitSeed);
    }

    /**
     * Found by these properties on H2 in a clean-clone CI run: s1 queued shared, then exclusive, and
     * s0 shared behind both; the release granted s1 shared (its exclusive request left the queue with
     * that grant) but stopped at s1's exclusive request and left s0 queued behind nobody. Every
     * database, several splits each.
     */
    @Example
    void aGrantedSessionsOtherRequestDoesNotHoldBackTheWaitersBehindIt() throws Exception {
        List<Cmd> script = List.of(new Cmd(2, 2, 0, false), new Cmd(1, 2, 1, true), new Cmd(1, 2, 1, false), new Cmd(0, 2, 1, true),
                new Cmd(0, 0, 0, false), new Cmd(2, 2, 2, false));
        for (Database database : List.of(Database.POSTGRESQL, Database.MARIADB, Database.H2)) {
            for (long splitSeed = 0; splitSeed < 6; splitSeed++) {
                check(database, script, splitSeed);
            }
        }
    }

    /** A command of the script: session and path by index; op 0 try-acquire, 1 acquire that queues, 2 release. */
    record Cmd(int session, int path, int op, boolean shared) {
        @Override
        public String toString() {
            return "s" + session + (op == 2 ? " release" : op == 0 ? " try" : " queue") + (op < 2 && shared ? "-shared" : "") + " p" + path;
        }
    }

    @Provide
    Arbitrary<List<Cmd>> scripts() {
        Arbitrary<Cmd> cmd = Combinators.combine(Arbitraries.integers().between(0, SESSIONS - 1), Arbitraries.integers().between(0, PATHS - 1),
                Arbitraries.integers().between(0, 2), Arbitraries.of(false, false, true)).as(Cmd::new);
        return cmd.list().ofMinSize(1).ofMaxSize(30);
    }

    private static Fixture fixture(Database database) {
        synchronized (FIXTURES) {
            Fixture f = FIXTURES.get(database);
            if (f == null && !FIXTURES.containsKey(database)) {
                f = TestDatabase.fresh(database).map(db -> new Fixture(db,
                        new Coordinator(new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 4), Coordinator.Settings.defaults())))
                        .orElse(null);
                if (f != null) {
                    f.coordinator().namespace().mkdir("/model");
                }
                FIXTURES.put(database, f);
            }
            return f;
        }
    }

    private void check(Database database, List<Cmd> script, long splitSeed) throws Exception {
        Fixture f = fixture(database);
        if (f == null) {
            return; // unreachable outside CI: said once when the fixture was looked for
        }
        Coordinator c = f.coordinator();
        String prefix = "/model/t" + TRIES.incrementAndGet();
        List<String> sessions = new ArrayList<>();
        for (int i = 0; i < SESSIONS; i++) {
            sessions.add(c.sessions().open("model", 600_000).id());
        }
        c.namespace().mkdir(prefix);
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < PATHS; i++) {
            paths.add(prefix + "/p" + i);
            c.namespace().write(paths.get(i), new byte[0], new Namespace.Expect.Anything(), null);
        }
        long from = c.events().currentRevision();

        // the store, in random splits: transactions, and runs of commands within each
        Random random = new Random(splitSeed);
        List<Object> actual = new ArrayList<>();
        int i = 0;
        while (i < script.size()) {
            int txEnd = Math.min(script.size(), i + 1 + random.nextInt(8));
            List<List<LockBatch.Command>> runs = new ArrayList<>();
            List<LockBatch.Command> run = new ArrayList<>();
            for (int k = i; k < txEnd; k++) {
                if (!run.isEmpty() && random.nextInt(3) == 0) {
                    runs.add(run);
                    run = new ArrayList<>();
                }
                run.add(command(script.get(k), sessions, paths));
            }
            runs.add(run);
            if (random.nextBoolean()) {
                // as the lock routes send them: queued one by one, batched as the writer finds them
                // (on PostgreSQL mostly decided from what the writer remembers of its last commit)
                List<java.util.concurrent.CompletableFuture<Object>> queued = new ArrayList<>();
                for (List<LockBatch.Command> r : runs) {
                    for (LockBatch.Command command : r) {
                        queued.add(c.store().commandAsync(LockBatch.INSTANCE, command));
                    }
                }
                for (var outcome : queued) {
                    try {
                        actual.add(Store.join(outcome));
                    } catch (CoordinatorException refused) {
                        actual.add(refused);
                    }
                }
                i = txEnd;
                continue;
            }
            actual.addAll(c.store().write("model", tx -> {
                List<Object> outcomes = new ArrayList<>();
                for (List<LockBatch.Command> r : runs) {
                    outcomes.addAll(List.of(LockBatch.INSTANCE.apply(tx, r)));
                }
                return outcomes;
            }));
            i = txEnd;
        }

        Model model = new Model(from, sessions, paths);
        List<String> expected = new ArrayList<>();
        for (Cmd cmd : script) {
            expected.add(model.apply(cmd));
        }
        List<String> got = actual.stream().map(o -> describe(o, from)).toList();
        assertThat(got).as("outcomes of %s", script).isEqualTo(expected);
        assertThat(events(c, from)).as("event log of %s", script).isEqualTo(model.events);
        assertThat(state(c.store(), prefix)).as("final state of %s", script).isEqualTo(model.state());
        for (String s : sessions) {
            c.sessions().closeSession(s);
        }
    }

    private static LockBatch.Command command(Cmd cmd, List<String> sessions, List<String> paths) {
        String s = sessions.get(cmd.session());
        String p = paths.get(cmd.path());
        return switch (cmd.op()) {
            case 2 -> new LockBatch.Release(p, s);
            default -> new LockBatch.Acquire(p, s, cmd.shared() ? Grant.Mode.SHARED : Grant.Mode.EXCLUSIVE, 0, -1, cmd.op() == 0 ? 0 : 60_000, null);
        };
    }

    private static String describe(Object outcome, long from) {
        return switch (outcome) {
            case LockBatch.Granted g -> "granted " + g.grant().mode() + " " + g.grant().generation();
            case LockBatch.Wait w -> "wait @" + (w.waiterId() - from);
            case LockBatch.Busy b -> "busy";
            case Boolean released -> "released";
            case CoordinatorException e -> "refused " + e.problem();
            default -> "unexpected " + outcome;
        };
    }

    private static List<String> events(Coordinator c, long from) throws Exception {
        return c.store().read(conn -> {
            List<String> out = new ArrayList<>();
            try (PreparedStatement s = conn.prepareStatement(dev.latchkey.coordinator.store.SqlText.quoted(c.store().kind(),
                    "SELECT \"rev\", \"path\", \"kind\", \"detail\", \"session_id\" FROM \"lk_event\" WHERE \"rev\" > ? ORDER BY \"rev\""))) {
                s.setLong(1, from);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        out.add((rs.getLong(1) - from) + " " + rs.getString(3) + " " + rs.getString(2) + " " + rs.getString(4) + " " + rs.getString(5));
                    }
                }
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
            return out;
        });
    }

    private static Map<String, String> state(Store store, String prefix) {
        return store.read(conn -> {
            Map<String, String> out = new LinkedHashMap<>();
            try {
                query(conn, store, "SELECT \"path\", \"lock_gen\" FROM \"lk_node\" WHERE \"path\" LIKE ? ORDER BY \"path\"", prefix,
                        rs -> out.merge(rs.getString(1), "gen " + rs.getLong(2), String::concat));
                query(conn, store, "SELECT \"path\", \"session_id\", \"mode\", \"generation\" FROM \"lk_lock_holder\" WHERE \"path\" LIKE ?"
                        + " ORDER BY \"path\", \"session_id\"", prefix,
                        rs -> out.merge(rs.getString(1), "; holder " + rs.getString(2) + " " + rs.getString(3) + " " + rs.getLong(4), String::concat));
                query(conn, store, "SELECT \"path\", \"session_id\", \"mode\" FROM \"lk_lock_waiter\" WHERE \"path\" LIKE ? ORDER BY \"path\", \"id\"",
                        prefix, rs -> out.merge(rs.getString(1), "; waiter " + rs.getString(2) + " " + rs.getString(3), String::concat));
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
            return out;
        });
    }

    private interface Row {
        void accept(ResultSet rs) throws SQLException;
    }

    private static void query(Connection conn, Store store, String sql, String prefix, Row row) throws SQLException {
        try (PreparedStatement s = conn.prepareStatement(dev.latchkey.coordinator.store.SqlText.quoted(store.kind(), sql))) {
            s.setString(1, prefix + "/%");
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    row.accept(rs);
                }
            }
        }
    }

    /** The lock rules as plain data structures, written from the documentation, not from LockBatch. */
    private static final class Model {
        record Holder(String session, Grant.Mode mode, long generation) {
        }

        record Waiter(long id, String session, Grant.Mode mode) {
        }

        final long from;
        final List<String> sessions;
        final List<String> paths;
        final Map<String, List<Holder>> holders = new LinkedHashMap<>();
        final Map<String, List<Waiter>> waiters = new LinkedHashMap<>();
        final Map<String, Long> generations = new LinkedHashMap<>();
        final List<String> events = new ArrayList<>();

        Model(long from, List<String> sessions, List<String> paths) {
            this.from = from;
            this.sessions = sessions;
            this.paths = paths;
            for (String p : paths) {
                holders.put(p, new ArrayList<>());
                waiters.put(p, new ArrayList<>());
                generations.put(p, 0L);
            }
        }

        long emit(String kind, String path, String detail, String session) {
            long rev = events.size() + 1;
            events.add(rev + " " + kind + " " + path + " " + detail + " " + session);
            return rev;
        }

        String apply(Cmd cmd) {
            String s = sessions.get(cmd.session());
            String p = paths.get(cmd.path());
            Grant.Mode mode = cmd.shared() ? Grant.Mode.SHARED : Grant.Mode.EXCLUSIVE;
            List<Holder> hs = holders.get(p);
            if (cmd.op() == 2) {
                Holder mine = hs.stream().filter(h -> h.session().equals(s)).findFirst().orElse(null);
                if (mine == null) {
                    return "refused " + CoordinatorException.Problem.NOT_LOCK_HOLDER;
                }
                hs.remove(mine);
                emit("LOCK_RELEASED", p, "released", s);
                handOn(p);
                return "released";
            }
            for (Holder h : hs) {
                if (h.session().equals(s)) {
                    return "granted " + h.mode() + " " + h.generation();
                }
            }
            if (compatible(mode, p) && waiters.get(p).stream().allMatch(w -> mode == Grant.Mode.SHARED && w.mode() == Grant.Mode.SHARED)) {
                return "granted " + mode + " " + grant(p, s, mode).generation();
            }
            if (cmd.op() == 0) {
                handOn(p);
                return "busy";
            }
            long id = emit("CONFLICTING_LOCK_REQUEST", p, mode.name().toLowerCase(Locale.ROOT), s);
            waiters.get(p).add(new Waiter(id, s, mode));
            return "wait @" + id;
        }

        boolean compatible(Grant.Mode mode, String p) {
            List<Holder> hs = holders.get(p);
            return hs.isEmpty() || (mode == Grant.Mode.SHARED && hs.stream().allMatch(h -> h.mode() == Grant.Mode.SHARED));
        }

        Holder grant(String p, String s, Grant.Mode mode) {
            waiters.get(p).removeIf(w -> w.session().equals(s));
            if (holders.get(p).isEmpty()) {
                generations.merge(p, 1L, Long::sum);
            }
            Holder h = new Holder(s, mode, generations.get(p));
            holders.get(p).add(h);
            emit("LOCK_ACQUIRED", p, mode.name().toLowerCase(Locale.ROOT) + ":" + h.generation(), s);
            return h;
        }

        /** The head of the queue takes the lock while it is compatible with the holders (all sessions here are live). */
        void handOn(String p) {
            while (!waiters.get(p).isEmpty() && compatible(waiters.get(p).get(0).mode(), p)) {
                Waiter head = waiters.get(p).get(0);
                grant(p, head.session(), head.mode());
            }
        }

        Map<String, String> state() {
            Map<String, String> out = new LinkedHashMap<>();
            for (String p : paths) {
                StringBuilder sb = new StringBuilder("gen " + generations.get(p));
                holders.get(p).stream().sorted(java.util.Comparator.comparing(Holder::session))
                        .forEach(h -> sb.append("; holder ").append(h.session()).append(' ').append(h.mode()).append(' ').append(h.generation()));
                waiters.get(p).forEach(w -> sb.append("; waiter ").append(w.session()).append(' ').append(w.mode()));
                out.put(p, sb.toString());
            }
            return out;
        }
    }
}
