package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.util.concurrent.CompletableFuture;

/**
 * Two coordinator processes on one database behave as one service. (H2 is shared between the two
 * JVMs through its TCP server, as a user running several coordinators on H2 would have to.)
 */
class TwoCoordinatorsTest {

    @DatabaseTest
    void locksWaitersAndWatchersWorkAcrossCoordinators(TestDatabase db) throws Exception {
        try (SharedDatabase shared = new SharedDatabase(db); Harness one = shared.harness(); CoordinatorProcess two = shared.process()) {
            Api a = one.api;
            Api b = two.api;
            String holder = a.openSession(30_000);
            String waiter = b.openSession(30_000);

            // a lock taken through one blocks through the other
            assertThat(a.acquire("/shared", holder, "exclusive", 0, 0).status()).isEqualTo(200);
            assertThat(b.acquire("/shared", waiter, "exclusive", 0, 0).status()).isEqualTo(409);

            // a waiter on two is woken by a release on one, well before its wait runs out. Seven hand-offs, judged
            // by their median, so that one stall of a loaded machine cannot fail the test. They take 15-42 ms; a coordinator
            // that misses the release's notification is woken only by the 1 s backstop poll (900-923 ms each, measured when
            // the through-pgbouncer execution did not tell the child coordinator it was behind the pooler), which this fails.
            long[] wakeMs = new long[7];
            for (int trial = 0; trial < wakeMs.length; trial++) {
                if (trial > 0) {
                    assertThat(b.release("/shared", waiter).status()).isEqualTo(204);
                    assertThat(a.acquire("/shared", holder, "exclusive", 0, 0).status()).isEqualTo(200);
                }
                CompletableFuture<Api.Reply> waiting = CompletableFuture.supplyAsync(() -> b.acquire("/shared", waiter, "exclusive", 20_000, 0));
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> // queued behind the holder
                        one.coordinator.store().read(c -> one.coordinator.store().dsl(c).fetchCount(dev.latchkey.coordinator.store.Schema.WAITER)) == 1);
                assertThat(waiting).isNotDone();
                long released = System.nanoTime();
                assertThat(a.release("/shared", holder).status()).isEqualTo(204);
                Api.Reply granted = waiting.get();
                wakeMs[trial] = (System.nanoTime() - released) / 1_000_000;
                assertThat(granted.status()).as(granted.body()).isEqualTo(200);
            }
            long[] sorted = wakeMs.clone();
            java.util.Arrays.sort(sorted);
            assertThat(sorted[sorted.length / 2]).as("median wake-up of " + java.util.Arrays.toString(wakeMs) + " ms: woken by the release's notification, not by the 1 s backstop poll")
                    .isLessThan(500);

            // a watcher on two sees a change made through one
            long from = b.call("GET", "/v1/events?after=0&limit=1", null).json().get("lastRev").asLong();
            long after = one.coordinator.events().currentRevision();
            CompletableFuture<JsonNode> watching = CompletableFuture.supplyAsync(
                    () -> b.call("GET", "/v1/events?prefix=/cfg&waitMs=10000&after=" + after, null).json());
            assertThat(a.put("/cfg", "v1").status()).isEqualTo(201);
            JsonNode seen = watching.get();
            assertThat(seen.get("events").findValuesAsText("path")).contains("/cfg");
            assertThat(from).isGreaterThanOrEqualTo(0);

            // a held keep-alive on two returns early when a request through one conflicts with its lock,
            // and not for a request on a lock it does not hold
            assertThat(b.acquire("/other", holder, "exclusive", 0, 0).status()).isEqualTo(200); // holder holds /other, not /shared
            CompletableFuture<Api.Reply> held = CompletableFuture.supplyAsync(
                    () -> b.call("POST", "/v1/sessions/" + waiter + "/keepalive?waitMs=9000", null));
            // the hold is in place (a request before it began would not count)
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                    .until(() -> b.call("GET", "/metrics", null).body().contains("latchkey_keepalive_held 1.0"));
            long mark = b.call("GET", "/v1/events?path=/other", null).json().get("lastRev").asLong();
            String third = a.openSession(30_000);
            assertThat(a.acquire("/other", third, "exclusive", 0, 0).status()).isEqualTo(409); // no wait: no request queued
            CompletableFuture.runAsync(() -> a.acquire("/other", third, "exclusive", 1_000, 0)); // not waiter's lock
            // two has taken in that request (a recent cursor is answered from the events two has delivered) ...
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> b.call("GET",
                    "/v1/events?path=/other&after=" + mark, null).body().contains("conflicting-lock-request"));
            // ... and the held keep-alive did not return for it
            assertThat(held).as("a request on a lock the session does not hold").isNotDone();
            long asked = System.nanoTime();
            CompletableFuture.runAsync(() -> a.acquire("/shared", third, "exclusive", 3_000, 0));
            Api.Reply early = held.get();
            assertThat((System.nanoTime() - asked) / 1_000_000).isLessThan(2_000);
            assertThat(early.json().get("events").findValuesAsText("kind")).containsExactly("conflicting-lock-request");
            assertThat(early.json().get("events").findValuesAsText("path")).containsExactly("/shared");
        }
    }

    @DatabaseTest
    void whenOneCoordinatorDiesTheOtherServesTheSameSessionAndLock(TestDatabase db) throws Exception {
        try (SharedDatabase shared = new SharedDatabase(db); Harness survivor = shared.harness(); CoordinatorProcess doomed = shared.process()) {
            String session = doomed.api.openSession(10_000);
            Api.Reply grant = doomed.api.acquire("/job", session, "exclusive", 0, 0);
            assertThat(grant.status()).isEqualTo(200);
            doomed.kill();
            assertThat(survivor.api.keepAlive(session).status()).isEqualTo(200);
            assertThat(survivor.api.check(grant.json().get("sequencer").asText())).isTrue();
            assertThat(survivor.api.release("/job", session).status()).isEqualTo(204);
        }
    }

    /**
     * 32 clients, half on each coordinator, take turns on one hot lock. Replaying the event log
     * proves the invariants: revisions have no gap; each grant goes to the head of the queue (a
     * request that had to wait is granted only when every request queued before it was); no grant
     * overlaps another; generations rise by one per grant.
     */
    @DatabaseTest
    void thirtyTwoClientsOnTwoCoordinatorsAreServedInOrderWithNoGap(TestDatabase db) throws Exception {
        int clients = 32;
        int rounds = 6;
        try (SharedDatabase shared = new SharedDatabase(db); Harness one = shared.harness(); CoordinatorProcess two = shared.process()) {
            long from = one.coordinator.events().currentRevision();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(clients);
            try {
                java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
                for (int i = 0; i < clients; i++) {
                    Api api = i % 2 == 0 ? one.api : two.api;
                    done.add(pool.submit(() -> {
                        String session = api.openSession(60_000);
                        for (int r = 0; r < rounds; r++) {
                            Api.Reply granted = api.acquire("/fifo", session, "exclusive", 60_000, 0);
                            assertThat(granted.status()).as(granted.body()).isEqualTo(200);
                            assertThat(api.release("/fifo", session).status()).isEqualTo(204);
                        }
                        return null;
                    }));
                }
                for (java.util.concurrent.Future<?> f : done) {
                    f.get(180, java.util.concurrent.TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            // every operation was answered after its commit, and each coordinator knows its own commits at once:
            // the newer of the two is the log's end (coordinator one may still be polling for the other's last commits)
            long target = Math.max(one.coordinator.events().currentRevision(),
                    two.api.call("GET", "/v1/events?limit=1&waitMs=0", null).json().get("lastRev").asLong());
            java.util.List<JsonNode> log = new java.util.ArrayList<>();
            long after = from;
            long last = -1;
            while (true) {
                JsonNode page = one.api.call("GET", "/v1/events?limit=5000&waitMs=2000&after=" + after, null).json();
                page.get("events").forEach(log::add);
                if (!log.isEmpty()) {
                    after = log.get(log.size() - 1).get("rev").asLong();
                }
                if (page.get("events").isEmpty() && after >= target) {
                    last = page.get("lastRev").asLong();
                    break;
                }
            }
            for (int i = 0; i < log.size(); i++) {
                assertThat(log.get(i).get("rev").asLong()).as("no gap in the revisions").isEqualTo(from + 1 + i);
            }
            assertThat(last).isEqualTo(from + log.size());
            java.util.Deque<String> queue = new java.util.ArrayDeque<>();
            String holder = null;
            long generation = -1;
            int grants = 0;
            for (JsonNode e : log) {
                if (!e.get("path").asText().equals("/fifo")) {
                    continue;
                }
                String kind = e.get("kind").asText();
                String session = e.path("session").asText(null);
                switch (kind) {
                    case "conflicting-lock-request" -> queue.addLast(session);
                    case "lock-acquired" -> {
                        assertThat(holder).as("granted to %s while %s held it (rev %s)", session, holder, e.get("rev")).isNull();
                        if (queue.contains(session)) {
                            assertThat(queue.peekFirst()).as("the head of the queue is served first (rev %s)", e.get("rev")).isEqualTo(session);
                            queue.removeFirst();
                        } else {
                            assertThat(queue).as("nobody waits when a request is granted at once (rev %s)", e.get("rev")).isEmpty();
                        }
                        long g = Long.parseLong(e.get("detail").asText().split(":")[1]);
                        if (generation >= 0) {
                            assertThat(g).as("generation").isEqualTo(generation + 1);
                        }
                        generation = g;
                        holder = session;
                        grants++;
                    }
                    case "lock-released" -> {
                        assertThat(session).isEqualTo(holder);
                        holder = null;
                    }
                    default -> { }
                }
            }
            assertThat(grants).isEqualTo(clients * rounds);
            assertThat(queue).isEmpty();
        }
    }

    /**
     * Try-locks (no wait) from two coordinators on one store, on two locks that are free half the
     * time: the races where both coordinators see a lock free are as frequent as they get. Each
     * batch reads its rows only after it holds the revision counter, so it sees what the other
     * coordinator committed before it; a batch that read first (a snapshot from before the other's
     * commit) would grant a lock the other had just granted. Checked twice: no more than one caller
     * between its grant's answer and its release, and in the event log no grant while held and
     * generations one apart.
     */
    @DatabaseTest
    void tryLocksRacingOnTwoCoordinatorsNeverMakeTwoHolders(TestDatabase db) throws Exception {
        String[] paths = {"/race/a", "/race/b"};
        try (SharedDatabase shared = new SharedDatabase(db); Harness one = shared.harness(); Harness two = shared.harness()) {
            java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> inside = new java.util.concurrent.ConcurrentHashMap<>();
            for (String p : paths) {
                inside.put(p, new java.util.concurrent.atomic.AtomicInteger());
            }
            java.util.concurrent.atomic.AtomicInteger grants = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger overlaps = new java.util.concurrent.atomic.AtomicInteger();
            long until = System.nanoTime() + java.time.Duration.ofSeconds(3).toNanos();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(12);
            try {
                java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    dev.latchkey.coordinator.core.Coordinator c = (i % 2 == 0 ? one : two).coordinator;
                    String path = paths[(i / 2) % 2];
                    done.add(pool.submit(() -> {
                        String session = c.sessions().open("race", 60_000).id();
                        while (System.nanoTime() < until) {
                            try {
                                c.locks().acquire(path, session, dev.latchkey.coordinator.core.Grant.Mode.EXCLUSIVE, java.time.Duration.ZERO, 0);
                            } catch (dev.latchkey.coordinator.core.CoordinatorException busy) {
                                continue;
                            }
                            grants.incrementAndGet();
                            if (inside.get(path).incrementAndGet() > 1) {
                                overlaps.incrementAndGet();
                            }
                            inside.get(path).decrementAndGet();
                            c.locks().release(path, session);
                        }
                        return null;
                    }));
                }
                for (java.util.concurrent.Future<?> f : done) {
                    f.get(60, java.util.concurrent.TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(overlaps.get()).as("callers holding one lock at once").isZero();
            int logged = 0;
            try (java.sql.Connection c = db.connect(); java.sql.PreparedStatement s = c.prepareStatement(
                    "SELECT " + q(db, "path") + ", " + q(db, "kind") + ", " + q(db, "detail") + ", " + q(db, "session_id") + ", " + q(db, "rev")
                            + " FROM " + q(db, "lk_event") + " WHERE " + q(db, "path") + " IN (?, ?) ORDER BY " + q(db, "rev"))) {
                s.setString(1, paths[0]);
                s.setString(2, paths[1]);
                java.util.Map<String, String> holder = new java.util.HashMap<>();
                java.util.Map<String, Long> generation = new java.util.HashMap<>();
                try (java.sql.ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        String path = rs.getString(1);
                        String session = rs.getString(4);
                        switch (rs.getString(2)) {
                            case "LOCK_ACQUIRED" -> {
                                assertThat(holder.get(path)).as("%s granted to %s while %s held it (rev %s)", path, session, holder.get(path), rs.getLong(5))
                                        .isNull();
                                long g = Long.parseLong(rs.getString(3).split(":")[1]);
                                if (generation.containsKey(path)) {
                                    assertThat(g).as("%s generation at rev %s", path, rs.getLong(5)).isEqualTo(generation.get(path) + 1);
                                }
                                generation.put(path, g);
                                holder.put(path, session);
                                logged++;
                            }
                            case "LOCK_RELEASED" -> {
                                assertThat(session).isEqualTo(holder.get(path));
                                holder.remove(path);
                            }
                            default -> { }
                        }
                    }
                }
            }
            assertThat(logged).isEqualTo(grants.get()).isGreaterThan(20);
        }
    }

    private static String q(TestDatabase db, String identifier) {
        return db.database() == Database.MARIADB || db.database() == Database.MYSQL ? "`" + identifier + "`" : "\"" + identifier + "\"";
    }
}
