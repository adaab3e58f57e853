package dev.latchkey.coordinator.clienttest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.LeaderElection;
import dev.latchkey.client.Naming;
import dev.latchkey.client.Sequencer;
import dev.latchkey.client.Session;
import dev.latchkey.client.Watch;
import dev.latchkey.client.WatchEvent;
import dev.latchkey.coordinator.http.CoordinatorProcess;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.coordinator.http.SharedDatabase;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.fencing.FenceOutcome;
import dev.latchkey.toolkit.fencing.FencedTable;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

class RecipesTest {

    /**
     * Five candidates: never two leaders (each leader writes a fenced register with its sequencer,
     * and the client-side view never shows two); a new leader within TTL + lock-delay + 1 s after the
     * leader dies, and within 1 s after a clean resign.
     */
    @DatabaseTest
    void fiveCandidatesNeverTwoLeaders(TestDatabase db) throws Exception {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE register (id BIGINT PRIMARY KEY, val VARCHAR(64), fence BIGINT)");
            s.execute("INSERT INTO register (id, val) VALUES (1, 'nobody')");
        }
        FencedTable register = Toolkit.create(db.dataSource()).fenced(TableSpec.table("register").key("id").fence("fence"));
        long ttl = 2_000;
        try (Harness h = new Harness(db, Harness.fastReaper()); LatchkeyClient client = LatchkeyClient.connect(h.api.base)) {
            List<Session> sessions = new ArrayList<>();
            List<LeaderElection> elections = new ArrayList<>();
            Map<Long, String> generationOwner = new ConcurrentHashMap<>();
            AtomicLong lastElectedAt = new AtomicLong();
            AtomicReference<String> violation = new AtomicReference<>();
            AtomicBoolean running = new AtomicBoolean(true);
            java.util.Set<Integer> dead = ConcurrentHashMap.newKeySet(); // crashed candidates are no longer asked anything
            for (int i = 0; i < 5; i++) {
                String name = "candidate-" + i;
                Session session = client.openSession(Session.Options.defaults().ttl(Duration.ofMillis(ttl)).cache(false));
                LeaderElection election = new LeaderElection(session, "restock", name);
                election.addListener(new LeaderElection.Listener() {
                    @Override
                    public void elected(Sequencer sequencer) {
                        lastElectedAt.set(System.nanoTime());
                        String previous = generationOwner.putIfAbsent(sequencer.generation(), name);
                        if (previous != null && !previous.equals(name)) {
                            violation.set("generation " + sequencer.generation() + " given to " + previous + " and " + name);
                        }
                    }
                });
                sessions.add(session);
                elections.add(election);
            }
            // every candidate that believes it leads writes the register under its sequencer
            Thread writers = Thread.ofVirtual().start(() -> {
                while (running.get()) {
                    long leaders = java.util.stream.IntStream.range(0, elections.size())
                            .filter(i -> !dead.contains(i) && elections.get(i).isLeader()).count();
                    if (leaders > 1) {
                        violation.set(leaders + " candidates believe they lead");
                    }
                    for (int i = 0; i < elections.size(); i++) {
                        int candidate = i;
                        if (dead.contains(i)) {
                            continue;
                        }
                        elections.get(i).sequencer().ifPresent(s -> {
                            try (Connection c = db.dataSource().getConnection()) {
                                FenceOutcome o = register.update(1L, s::generation).set("val", "candidate-" + candidate).execute(c);
                                if (o instanceof FenceOutcome.Fenced f && f.currentFence() < s.generation()) {
                                    violation.set("fence went backwards: " + f);
                                }
                            } catch (Exception e) {
                                violation.set(e.toString());
                            }
                        });
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            elections.forEach(LeaderElection::start);
            await().atMost(Duration.ofSeconds(5)).until(() -> elections.stream().anyMatch(LeaderElection::isLeader));

            // the leader dies without a word: a new one within TTL + lock-delay (0) + 1 s
            int first = indexOfLeader(elections, dead);
            long died = System.nanoTime();
            dead.add(first);
            sessions.get(first).abandon();
            await().atMost(Duration.ofMillis(ttl + 1_000 + 2_000)).until(() -> lastElectedAt.get() > died);
            assertThat((lastElectedAt.get() - died) / 1_000_000).as("failover after a crash").isLessThan(ttl + 1_000);

            // a clean resign: a new leader within 1 s
            int second = indexOfLeader(elections, dead);
            long resigned = System.nanoTime();
            elections.get(second).resign();
            await().atMost(Duration.ofSeconds(3)).until(() -> lastElectedAt.get() > resigned);
            assertThat((lastElectedAt.get() - resigned) / 1_000_000).as("handover after a resign").isLessThan(1_000);
            Thread.sleep(300);

            running.set(false);
            writers.join();
            assertThat(violation.get()).isNull();
            assertThat(generationOwner).hasSizeGreaterThanOrEqualTo(3);
            String value = elections.get(indexOfLeader(elections, dead)).leader().orElseThrow().value();
            assertThat(value).startsWith("candidate-");
            for (int i = 0; i < sessions.size(); i++) {
                if (i != first) {
                    elections.get(i).close();
                    sessions.get(i).close();
                }
            }
        }
    }

    private static int indexOfLeader(List<LeaderElection> elections, java.util.Set<Integer> dead) {
        for (int i = 0; i < elections.size(); i++) {
            if (!dead.contains(i) && elections.get(i).isLeader()) {
                return i;
            }
        }
        throw new AssertionError("no leader");
    }

    /** With the cache on, a read never returns a value older than a write another client completed before the read began. */
    @DatabaseTest
    void aCachedReadIsNeverOlderThanACompletedWrite(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db); LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session reader = client.openSession(Session.Options.defaults());
                LatchkeyClient writerClient = LatchkeyClient.connect(h.api.base)) {
            writerClient.write("/value", "0".getBytes(StandardCharsets.UTF_8), null);
            AtomicLong completed = new AtomicLong();
            AtomicBoolean running = new AtomicBoolean(true);
            Thread writer = Thread.ofVirtual().start(() -> {
                for (long i = 1; running.get(); i++) {
                    writerClient.write("/value", Long.toString(i).getBytes(StandardCharsets.UTF_8), null);
                    completed.set(i);
                }
            });
            long reads = 0;
            long cacheServed = 0;
            long end = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            while (System.nanoTime() < end) {
                long before = completed.get();
                long seen = Long.parseLong(reader.read("/value").text());
                assertThat(seen).as("read began after write " + before + " completed").isGreaterThanOrEqualTo(before);
                reads++;
                long stable = completed.get();
                if (stable == before) {
                    cacheServed++;
                }
            }
            running.set(false);
            writer.join();
            // quiet now: repeated reads are served from the cache and still current
            String last = Long.toString(completed.get());
            assertThat(reader.read("/value").text()).isEqualTo(last);
            assertThat(reader.read("/value").text()).isEqualTo(last);
            assertThat(reads).isGreaterThan(10);
            assertThat(cacheServed).isGreaterThanOrEqualTo(0);
        }
    }

    @DatabaseTest(only = {Database.POSTGRESQL, Database.H2})
    void namingTracksRegisteredInstancesAndTheirSessions(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db, Harness.fastReaper()); LatchkeyClient client = LatchkeyClient.connect(h.api.base)) {
            Naming naming = new Naming(client);
            List<Map<String, String>> seen = new CopyOnWriteArrayList<>();
            try (Watch ignored = naming.watch("shop", seen::add);
                    Session one = client.openSession(Session.Options.defaults().cache(false));
                    Session two = client.openSession(Session.Options.defaults().cache(false))) {
                naming.register(one, "shop", "shop-1", "127.0.0.1:8081");
                naming.register(two, "shop", "shop-2", "127.0.0.1:8082");
                assertThat(naming.resolve("shop")).containsExactly(Map.entry("shop-1", "127.0.0.1:8081"), Map.entry("shop-2", "127.0.0.1:8082"));
                one.close();
                assertThat(naming.resolve("shop")).containsOnlyKeys("shop-2");
                await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).keySet().equals(java.util.Set.of("shop-2")));
            }
        }
    }

    /** A client watch misses nothing when the coordinator it was reading from dies. */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.H2})
    void aClientWatchSurvivesACoordinatorDeath(TestDatabase db) throws Exception {
        try (SharedDatabase shared = new SharedDatabase(db); Harness survivor = shared.harness(); CoordinatorProcess doomed = shared.process();
                LatchkeyClient watcher = LatchkeyClient.connect(doomed.api.base, survivor.api.base);
                LatchkeyClient writer = LatchkeyClient.connect(survivor.api.base)) {
            List<Long> revs = new CopyOnWriteArrayList<>();
            long from = writer.currentRevision();
            try (Watch ignored = watcher.watch("/w", false, from, (WatchEvent e) -> revs.add(e.rev()))) {
                writer.mkdir("/w");
                for (int i = 0; i < 50; i++) {
                    writer.write("/w/f", Integer.toString(i).getBytes(StandardCharsets.UTF_8), null);
                    if (i == 20) {
                        doomed.kill();
                    }
                }
                long last = writer.stat("/w/f").modifiedRevision();
                await().atMost(Duration.ofSeconds(10)).until(() -> !revs.isEmpty() && revs.get(revs.size() - 1) == last);
            }
            List<Long> expected = new ArrayList<>();
            survivor.api.call("GET", "/v1/events?prefix=/w&limit=5000&after=" + from, null).json().get("events")
                    .forEach(e -> expected.add(e.get("rev").asLong()));
            assertThat(expected).hasSizeGreaterThan(50);
            assertThat(revs).isEqualTo(expected);
        }
    }
}
