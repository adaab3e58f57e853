package dev.latchkey.coordinator.failover;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.Lease;
import dev.latchkey.client.Session;
import dev.latchkey.client.WatchEvent;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.coordinator.store.StoreConfig;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;

/**
 * Two coordinators on one store behind PgBouncer in transaction mode ({@code bin/ha pgbouncer}):
 * one LISTENs over a direct URL, as configured; both share locks and files through the pooler.
 * The other coordinators' commits reach the listening one at once, although its own poll runs only
 * every 10 s: the LISTEN connection went straight to PostgreSQL. (The coordinator's test subset
 * that runs through PgBouncer, polling, is the {@code through-pgbouncer} execution in the pom.)
 */
class PgBouncerTest {

    @DatabaseTest(only = Database.POSTGRESQL)
    void coordinatorsWorkThroughPgBouncerAndListenStraightToPostgres(TestDatabase db) throws Exception {
        Scripts.require(Scripts.onPath("pgbouncer"), "PgBouncer is not installed (apt-get install pgbouncer)");
        String name = "lk_pgb_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        String admin = "jdbc:postgresql://127.0.0.1:5432/postgres";
        execute(admin, "CREATE DATABASE \"" + name + "\"");
        Path dir = Scripts.scratch("latchkey-pgbouncer-");
        Path stack = dir.resolve("pgbouncer");
        try {
            String port = Scripts.run("ha", 60, "pgbouncer", "start", stack.toString()).strip().lines().reduce((a, b) -> b).orElseThrow();
            String pooled = "jdbc:postgresql://127.0.0.1:" + port + "/" + name; // (prepareThreshold=0 is added: pooled)
            String direct = "jdbc:postgresql://127.0.0.1:5432/" + name;
            Coordinator.Settings slowPoll = new Coordinator.Settings(Duration.ofSeconds(10), Duration.ofMillis(250), Duration.ofSeconds(2), 100_000);
            try (Harness listening = new Harness(new StoreConfig(pooled, "postgres", "", 16).behindPooler(direct), slowPoll);
                    Harness polling = new Harness(new StoreConfig(pooled, "postgres", "", 16).behindPooler(null), Coordinator.Settings.defaults());
                    LatchkeyClient a = LatchkeyClient.connect(listening.api.base);
                    LatchkeyClient b = LatchkeyClient.connect(polling.api.base);
                    Session sa = a.openSession(Session.Options.defaults().cache(false));
                    Session sb = b.openSession(Session.Options.defaults().cache(false))) {
                // locks through the pooler: one holder at a time, and the hand-off goes across coordinators
                Lease held = sa.acquire("/pooled/lock", Duration.ZERO);
                var waiting = java.util.concurrent.CompletableFuture.supplyAsync(() -> sb.acquire("/pooled/lock", Duration.ofSeconds(10)));
                Thread.sleep(200);
                assertThat(waiting).isNotDone();
                held.release();
                Lease next = waiting.get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(next.sequencer().generation()).isGreaterThan(held.sequencer().generation());
                next.release();

                // a write through the polling coordinator reaches a watcher of the listening one at once: LISTEN woke it
                b.mkdir("/pooled/files");
                List<WatchEvent> seen = new CopyOnWriteArrayList<>();
                try (var watch = a.watch("/pooled/files", false, -1, seen::add)) {
                    // (no pause for the stream to connect: the watch's cursor is fixed when it is created, so
                    // a write made before the stream is up is delivered from the cursor all the same)
                    for (int i = 0; i < 5; i++) {
                        long started = System.nanoTime();
                        int index = i;
                        b.write("/pooled/files/f" + i, ("v" + i).getBytes(StandardCharsets.UTF_8), null);
                        Awaitility.await().atMost(Duration.ofSeconds(8)).until(() -> seen.stream().anyMatch(e -> e.path().equals("/pooled/files/f" + index)
                                && e.kind().equals("contents-modified")));
                        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("write %d seen through LISTEN, not the 10 s poll", i)
                                .isLessThan(Duration.ofSeconds(3));
                    }
                }
                assertThat(seen.stream().map(WatchEvent::rev).toList()).isSorted().doesNotHaveDuplicates();
                assertThat(listening.coordinator.events().listening()).as("the direct LISTEN heard its probe").isTrue();
                assertThat(listening.coordinator.events().listenHeardNothing()).isFalse();

                // a coordinator not told that its URL is a pooler's LISTENs through PgBouncer, which delivers nothing
                // there: its own probe finds that out, it says so in its log, and it polls at its usual pace (20 ms)
                // instead of waiting for notifications that never come with only the 1 s backstop poll
                // (prepareThreshold=0 by hand: what it would get wrong besides LISTEN is not this test's subject)
                try (Harness unaware = new Harness(new StoreConfig(pooled + "?prepareThreshold=0", "postgres", "", 4), Coordinator.Settings.defaults())) {
                    // three coordinators migrated through the pooler (two of them with no direct URL): none left the
                    // migrations' lock behind on a server connection it no longer uses (the next start would wait 5 min)
                    assertThat(migrationLocks(direct)).as("advisory locks on the migrations' key").isZero();
                    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> unaware.coordinator.events().listenHeardNothing());
                    assertThat(unaware.coordinator.events().listening()).isFalse();
                    long[] seenMs = new long[5];
                    for (int i = 0; i < seenMs.length; i++) {
                        long before = unaware.coordinator.events().lastSeen();
                        long started = System.nanoTime();
                        b.write("/pooled/files/g" + i, new byte[] {1}, null);
                        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2))
                                .until(() -> unaware.coordinator.events().lastSeen() > before);
                        seenMs[i] = (System.nanoTime() - started) / 1_000_000;
                    }
                    long[] sorted = seenMs.clone();
                    java.util.Arrays.sort(sorted);
                    assertThat(sorted[sorted.length / 2]).as("median of " + java.util.Arrays.toString(seenMs) + " ms: its poll's pace, not the 1 s backstop's")
                            .isLessThan(300);
                }
            }
        } finally {
            Scripts.run("ha", 60, "pgbouncer", "stop", stack.toString());
            Files.deleteIfExists(dir);
            execute(admin, "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
        }
    }

    private static int migrationLocks(String url) throws Exception {
        try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
            return dev.latchkey.testing.PgAdvisoryLocks.count(c,
                    dev.latchkey.toolkit.advisory.AdvisoryLocks.key(dev.latchkey.migrations.Migrations.LOCK_NAME));
        }
    }

    private static void execute(String url, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
