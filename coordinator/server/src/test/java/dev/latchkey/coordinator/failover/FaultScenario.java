package dev.latchkey.coordinator.failover;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.latchkey.client.FileContent;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.LatchkeyException;
import dev.latchkey.client.Lease;
import dev.latchkey.client.Session;
import dev.latchkey.client.SessionState;
import dev.latchkey.coordinator.clienttest.StateRecorder;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.fencing.FencedTable;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One fault, checked the same way on every stack the store may run on. Two coordinators (each on
 * the stack's URL for it) serve lock holders that increment a fenced counter in the application's
 * own database, file writers that compare on generation, and a watcher. Under that load the stack
 * suffers its fault (a primary killed with SIGKILL, a cluster node killed) and recovers as it
 * does (promoted by hand, by Patroni, or by the surviving nodes). Then: nothing acknowledged is
 * lost, sequencers never go backwards, the lock never has two holders, the watcher saw every
 * acknowledged write once and in order, and the clients' sessions survived.
 */
final class FaultScenario {

    /** A store stack with one fault to suffer. */
    interface Stack extends AutoCloseable {
        /** How reports name it. */
        String name();

        /** The JDBC URL coordinator {@code which} (0 or 1) uses. */
        String coordinatorUrl(int which);

        /** The JDBC URL of the application's own database (the fenced counter): by default the first coordinator's. */
        default String applicationUrl() {
            return coordinatorUrl(0);
        }

        String user();

        /** The store user's password: none by default (the stacks here trust loopback). */
        default String password() {
            return "";
        }

        /**
         * Causes the fault, calling {@code killed} the moment the failed part is gone, and returns
         * (as {@link System#nanoTime}) when the stack's own recovery action ended: no write may be
         * acknowledged on the old primary after the kill, nor before that time.
         */
        long fault(Runnable killed) throws Exception;

        /** What each part of the stack is now, for the report. */
        String status() throws Exception;
    }

    /** What the run measured. */
    record Report(long killToFirstWriteMs, long recoveredToFirstWriteMs, long ackedIncrements, long fileWrites) {
    }

    private static final int LOCKERS = 3;
    private static final int WRITERS = 2;

    private FaultScenario() {
    }

    /** Shared by the lock holders: who holds the lock now, by the clients' own account, and the newest sequencer seen. */
    private static final class LockLedger {
        private String holder;
        private long lastGeneration;
        private String lastSession;
        private final List<String> violations = new ArrayList<>();

        synchronized void entered(String session, long generation) {
            if (holder != null) {
                violations.add(session + " got the lock while " + holder + " held it");
            }
            boolean reentrant = generation == lastGeneration && session.equals(lastSession);
            if (generation < lastGeneration || (generation == lastGeneration && !reentrant)) {
                violations.add("sequencer went backwards: " + generation + " after " + lastGeneration);
            }
            holder = session;
            lastGeneration = Math.max(lastGeneration, generation);
            lastSession = session;
        }

        synchronized void leaving() {
            holder = null;
        }
    }

    static Report run(Stack stack) throws Exception {
        Coordinator.Settings settings = Coordinator.Settings.defaults();
        try (HikariDataSource app = pool(stack.applicationUrl(), stack.user(), stack.password());
                Harness a = new Harness(stack.coordinatorUrl(0), stack.user(), stack.password(), settings);
                Harness b = new Harness(stack.coordinatorUrl(1), stack.user(), stack.password(), settings)) {
            try (Connection c = app.getConnection(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE fenced_counter (id BIGINT PRIMARY KEY, value BIGINT NOT NULL, fence BIGINT)");
                s.execute("INSERT INTO fenced_counter (id, value) VALUES (1, 0)");
            }
            FencedTable counter = Toolkit.create(app).fenced(TableSpec.table("fenced_counter").key("id").fence("fence"));

            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong killedAt = new AtomicLong(Long.MAX_VALUE);
            AtomicLong firstWriteAfterKill = new AtomicLong(Long.MAX_VALUE);
            LockLedger ledger = new LockLedger();
            AtomicLong ackedIncrements = new AtomicLong();
            AtomicLong ambiguousIncrements = new AtomicLong();
            List<StateRecorder> recorders = new ArrayList<>();
            List<Session> sessions = new ArrayList<>();
            List<LatchkeyClient> clients = new ArrayList<>();
            List<CompletableFuture<Void>> workers = new ArrayList<>();
            // a write that began after the primary was dead and was acknowledged: the store is back
            java.util.function.LongConsumer acked = startedAt -> {
                if (startedAt > killedAt.get()) {
                    firstWriteAfterKill.accumulateAndGet(System.nanoTime(), Math::min);
                }
            };

            for (int i = 0; i < LOCKERS; i++) {
                LatchkeyClient client = i % 2 == 0 ? LatchkeyClient.connect(a.api.base, b.api.base) : LatchkeyClient.connect(b.api.base, a.api.base);
                clients.add(client);
                // the client's default TTL: a Galera node loss stalls the whole cluster for its failure
                // detection, 6.1-6.3 s on the 2-core machine, and a 6 s lease sat right at that edge
                Session session = client.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(12)).owner("locker-" + i).cache(false));
                StateRecorder recorder = new StateRecorder();
                session.addListener(recorder);
                recorders.add(recorder);
                sessions.add(session);
                workers.add(CompletableFuture.runAsync(() -> {
                    while (!stop.get()) {
                        Lease lease;
                        try {
                            lease = session.acquire("/counter", Duration.ofSeconds(2));
                        } catch (LatchkeyException e) {
                            pause(); // busy, or no coordinator could reach the store: try again
                            continue;
                        }
                        ledger.entered(session.id(), lease.sequencer().generation());
                        try (Connection c = app.getConnection()) {
                            c.setAutoCommit(false);
                            long value;
                            try (PreparedStatement read = c.prepareStatement("SELECT value FROM fenced_counter WHERE id = 1");
                                    ResultSet rs = read.executeQuery()) {
                                rs.next();
                                value = rs.getLong(1);
                            }
                            boolean accepted = counter.update(1L, lease.sequencer()::generation).set("value", value + 1).execute(c).accepted();
                            try {
                                c.commit();
                                if (accepted) {
                                    ackedIncrements.incrementAndGet();
                                }
                            } catch (SQLException e) {
                                ambiguousIncrements.incrementAndGet(); // the commit may or may not have happened
                            }
                        } catch (SQLException e) {
                            pause(); // failed before commit: nothing happened
                        } finally {
                            ledger.leaving();
                        }
                        try {
                            lease.release();
                        } catch (LatchkeyException e) {
                            // the store was away: the lock stays ours until this session takes it again
                        }
                    }
                }));
            }

            clients.get(0).mkdir("/files");
            // a watcher on the files, through the failover: every event once, in order, none missed
            List<dev.latchkey.client.WatchEvent> watched = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.Set<Long> ackedRevisions = java.util.concurrent.ConcurrentHashMap.newKeySet();
            LatchkeyClient watcherClient = LatchkeyClient.connect(b.api.base, a.api.base);
            clients.add(watcherClient);
            dev.latchkey.client.Watch watch = watcherClient.watch("/files", false, watcherClient.currentRevision(), watched::add);
            long[] lastAcked = new long[WRITERS];
            long[] lastAttempted = new long[WRITERS];
            for (int i = 0; i < WRITERS; i++) {
                int w = i;
                LatchkeyClient client = i % 2 == 0 ? LatchkeyClient.connect(b.api.base, a.api.base) : LatchkeyClient.connect(a.api.base, b.api.base);
                clients.add(client);
                String path = "/files/writer-" + w;
                client.write(path, "0".getBytes(StandardCharsets.UTF_8), null);
                workers.add(CompletableFuture.runAsync(() -> {
                    while (!stop.get()) {
                        long startedAt = System.nanoTime();
                        try {
                            FileContent current = client.read(path);
                            long next = Long.parseLong(current.text()) + 1;
                            lastAttempted[w] = next;
                            long revision = client.write(path, Long.toString(next).getBytes(StandardCharsets.UTF_8), current.generation())
                                    .modifiedRevision();
                            ackedRevisions.add(revision);
                            lastAcked[w] = next;
                            acked.accept(startedAt);
                        } catch (LatchkeyException e) {
                            pause(); // unavailable, or our own unacknowledged write had landed: read again
                        }
                    }
                }));
            }

            long promotedAt;
            long killWindowMs;
            long killing;
            try {
                // under load: lock holders and file writers have each got through before the kill
                await().atMost(Duration.ofSeconds(30)).until(() -> ackedIncrements.get() >= 20 && ackedRevisions.size() >= 20);
                assertThat(ackedIncrements.get()).as("the load runs before the failover").isPositive();
                long before = ackedIncrements.get();
                killing = System.nanoTime();
                promotedAt = stack.fault(() -> killedAt.set(System.nanoTime()));
                killWindowMs = (killedAt.get() - killing) / 1_000_000;
                await().atMost(Duration.ofSeconds(60)).until(() -> firstWriteAfterKill.get() != Long.MAX_VALUE);
                int filesBefore = ackedRevisions.size();
                await().atMost(Duration.ofSeconds(60)).until(() -> ackedIncrements.get() > before + 20);
                await().atMost(Duration.ofSeconds(60)).until(() -> ackedRevisions.size() > filesBefore + 20);
            } finally {
                stop.set(true);
                for (CompletableFuture<Void> worker : workers) {
                    worker.get();
                }
            }

            long killToWriteMs = (firstWriteAfterKill.get() - killing) / 1_000_000;
            long promoteToWriteMs = (firstWriteAfterKill.get() - promotedAt) / 1_000_000;
            System.out.printf(stack.name() + ": first acknowledged write %d ms after the kill (%d ms after the stack's recovery action; the kill took %d ms); "
                    + "%d fenced increments acknowledged, %d ambiguous; %d file writes acknowledged%n", killToWriteMs, promoteToWriteMs,
                    killWindowMs, ackedIncrements.get(), ambiguousIncrements.get(), ackedRevisions.size());
            assertThat(promoteToWriteMs).as("writes resume only once the stack recovered").isPositive();
            System.out.println(stack.status());

            assertThat(ledger.violations).as("lock exclusivity and sequencer order").isEmpty();
            try (Connection c = app.getConnection(); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT rev FROM lk_event ORDER BY rev")) {
                long previous = -1;
                long count = 0;
                while (rs.next()) {
                    long rev = rs.getLong(1);
                    if (previous >= 0) {
                        assertThat(rev).as("the revision log is gap-free: after %d comes %d", previous, rev).isEqualTo(previous + 1);
                    }
                    previous = rev;
                    count++;
                }
                assertThat(count).as("events in the log").isGreaterThan(100);
            }
            try (Connection c = app.getConnection(); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT value FROM fenced_counter WHERE id = 1")) {
                rs.next();
                assertThat(rs.getLong(1)).as("every acknowledged increment is there, none was lost to a second holder")
                        .isBetween(ackedIncrements.get(), ackedIncrements.get() + ambiguousIncrements.get());
            }
            long newestAcked = ackedRevisions.stream().mapToLong(Long::longValue).max().orElseThrow();
            await().atMost(Duration.ofSeconds(30)).until(() -> watch.cursor() >= newestAcked);
            watch.close();
            List<Long> revisions = watched.stream().map(dev.latchkey.client.WatchEvent::rev).toList();
            assertThat(watched).as("no resync: nothing was lost").noneMatch(dev.latchkey.client.WatchEvent::isResync);
            assertThat(revisions).as("each event once, in order").isSorted().doesNotHaveDuplicates();
            assertThat(revisions).as("the watcher saw every acknowledged write, across the failover").containsAll(ackedRevisions);
            for (int w = 0; w < WRITERS; w++) {
                long value = Long.parseLong(clients.get(LOCKERS + 1 + w).read("/files/writer-" + w).text());
                assertThat(value).as("writer %d: the last acknowledged write survived", w).isBetween(lastAcked[w], lastAttempted[w]);
            }
            for (int i = 0; i < LOCKERS; i++) {
                Session session = sessions.get(i);
                await().atMost(Duration.ofSeconds(30)).until(() -> session.state() == SessionState.SAFE || session.state() == SessionState.EXPIRED);
                assertThat(recorders.get(i).states).as("session %d lived through the failover", i).doesNotContain(SessionState.EXPIRED);
                assertThat(session.state()).as("session %d is safe again", i).isEqualTo(SessionState.SAFE);
                session.close();
            }
            clients.forEach(LatchkeyClient::close);
            return new Report(killToWriteMs, promoteToWriteMs, ackedIncrements.get(), ackedRevisions.size());
        }
    }

    private static HikariDataSource pool(String url, String user, String password) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(8);
        config.setConnectionTimeout(5_000);
        return new HikariDataSource(config);
    }

    private static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
