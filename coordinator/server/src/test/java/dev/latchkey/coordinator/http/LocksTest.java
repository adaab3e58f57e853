package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

class LocksTest {

    /**
     * 32 clients loop: acquire the lock, read the counter file, write it back plus one with
     * If-Match, release. A holder never meets a 412, the count is exact, and the sequencer
     * generations strictly increase in the order the counter moved.
     */
    @DatabaseTest
    void thirtyTwoClientsNeverOverlap(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            assertThat(api.put("/counter", "0").status()).isEqualTo(201);
            int clients = 32;
            int rounds = 4;
            ConcurrentLinkedQueue<long[]> grants = new ConcurrentLinkedQueue<>(); // {count seen, generation}
            AtomicInteger preconditionFailures = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    done.add(pool.submit(() -> {
                        String session = api.openSession(30_000);
                        for (int i = 0; i < rounds; i++) {
                            Api.Reply grant = api.acquire("/counter", session, "exclusive", 60_000, 0);
                            assertThat(grant.status()).as(grant.body()).isEqualTo(200);
                            Api.Reply read = api.get("/counter");
                            long count = Long.parseLong(read.body());
                            Api.Reply write = api.put("/counter", Long.toString(count + 1), "If-Match", read.header("ETag"));
                            if (write.status() == 412) {
                                preconditionFailures.incrementAndGet();
                            }
                            grants.add(new long[] {count, grant.json().get("generation").asLong()});
                            assertThat(api.release("/counter", session).status()).isEqualTo(204);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(preconditionFailures).hasValue(0);
            assertThat(api.get("/counter").body()).isEqualTo(Integer.toString(clients * rounds));
            List<long[]> ordered = new ArrayList<>(grants);
            ordered.sort((a, b) -> Long.compare(a[0], b[0]));
            for (int i = 0; i < ordered.size(); i++) {
                assertThat(ordered.get(i)[0]).isEqualTo(i); // every count seen exactly once
                if (i > 0) {
                    assertThat(ordered.get(i)[1]).isGreaterThan(ordered.get(i - 1)[1]);
                }
            }
        }
    }

    /**
     * 16 clients, each on its own lock, so their operations share store transactions; between every
     * acquire and release each also sends operations that must be refused (a release of a lock it does
     * not hold, an acquire for an unknown session), which roll their batch back and apply it again
     * without them. No refused operation may change anything, and no neighbour may be lost or applied
     * twice: each lock's generations run 1, 2, 3… without a gap, and its events are exactly
     * acquired, released, acquired… once each, in order.
     */
    @DatabaseTest
    void batchedLockOperationsWithRefusalsMixedInLoseNothingAndRepeatNothing(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            int clients = 16;
            int rounds = 12;
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            try {
                List<Future<List<Long>>> done = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    String path = "/batched/lock-" + c;
                    done.add(pool.submit(() -> {
                        String session = api.openSession(30_000);
                        List<Long> generations = new ArrayList<>();
                        for (int i = 0; i < rounds; i++) {
                            assertThat(api.release(path, session).status()).isEqualTo(409);
                            Api.Reply grant = api.acquire(path, session, "exclusive", 0, 0);
                            assertThat(grant.status()).as(grant.body()).isEqualTo(200);
                            generations.add(grant.json().get("generation").asLong());
                            assertThat(api.acquire(path, "no-such-session", "exclusive", 0, 0).status()).isEqualTo(404);
                            assertThat(api.release(path, session).status()).isEqualTo(204);
                        }
                        return generations;
                    }));
                }
                for (Future<List<Long>> f : done) {
                    assertThat(f.get()).containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, rounds).boxed().toList());
                }
            } finally {
                pool.shutdownNow();
            }
            for (int c = 0; c < clients; c++) {
                String path = "/batched/lock-" + c;
                assertThat(api.call("GET", "/v1/locks" + path, null).json().get("holders")).isEmpty();
                var events = api.call("GET", "/v1/events?path=" + path + "&after=0&limit=5000", null).json().get("events");
                List<String> kinds = new ArrayList<>();
                events.forEach(e -> {
                    if (e.get("kind").asText().startsWith("lock-")) {
                        kinds.add(e.get("kind").asText()); // (the path's creation by its first lock is an event too)
                    }
                });
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < rounds; i++) {
                    expected.add("lock-acquired");
                    expected.add("lock-released");
                }
                assertThat(kinds).as(path).containsExactlyElementsOf(expected);
            }
        }
    }

    @DatabaseTest
    void sharedHoldersCoexistAndAWriterWaitsForThemInFifoOrder(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            String a = api.openSession(30_000);
            String b = api.openSession(30_000);
            String w = api.openSession(30_000);
            Api.Reply first = api.acquire("/res", a, "shared", 0, 0);
            Api.Reply second = api.acquire("/res", b, "shared", 0, 0);
            assertThat(first.status()).isEqualTo(200);
            assertThat(second.status()).isEqualTo(200);
            assertThat(second.json().get("generation").asLong()).isEqualTo(first.json().get("generation").asLong());
            assertThat(api.acquire("/res", w, "exclusive", 0, 0).status()).isEqualTo(409);

            var writer = java.util.concurrent.CompletableFuture.supplyAsync(() -> api.acquire("/res", w, "exclusive", 20_000, 0));
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() ->
                    h.coordinator.store().read(c -> h.coordinator.store().dsl(c).fetchCount(dev.latchkey.coordinator.store.Schema.WAITER)) == 1);
            // a new sharer must queue behind the waiting writer (FIFO), not jump it
            String late = api.openSession(30_000);
            assertThat(api.acquire("/res", late, "shared", 0, 0).status()).isEqualTo(409);
            api.release("/res", a);
            api.release("/res", b);
            Api.Reply granted = writer.get();
            assertThat(granted.status()).as(granted.body()).isEqualTo(200);
            assertThat(granted.json().get("generation").asLong()).isGreaterThan(first.json().get("generation").asLong());
            assertThat(api.check(granted.json().get("sequencer").asText())).isTrue();
            assertThat(api.check(first.json().get("sequencer").asText())).isFalse();
        }
    }
}
