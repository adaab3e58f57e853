package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.util.concurrent.CompletableFuture;

class ElectionTest {

    private static Api.Reply campaign(Api api, String session, String value, long waitMs) {
        return campaign(api, "restock", session, value, waitMs);
    }

    private static Api.Reply campaign(Api api, String election, String session, String value, long waitMs) {
        return api.call("POST", "/v1/elections/" + election, "{\"session\":\"" + session + "\",\"value\":\"" + value + "\",\"waitMs\":" + waitMs + "}");
    }

    @DatabaseTest
    void oneLeaderAtATimeAndTheNextTakesOverOnResign(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            String a = api.openSession(30_000);
            String b = api.openSession(30_000);
            Api.Reply first = campaign(api, a, "shop-1:8080", 0);
            assertThat(first.status()).as(first.body()).isEqualTo(200);
            assertThat(campaign(api, b, "shop-2:8080", 0).status()).isEqualTo(409);
            Api.Reply leader = api.call("GET", "/v1/elections/restock", null);
            assertThat(leader.json().get("value").asText()).isEqualTo("shop-1:8080");
            assertThat(leader.json().get("session").asText()).isEqualTo(a);

            CompletableFuture<Api.Reply> next = CompletableFuture.supplyAsync(() -> campaign(api, b, "shop-2:8080", 10_000));
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> // b is queued for the lock
                    h.coordinator.store().read(c -> h.coordinator.store().dsl(c).fetchCount(dev.latchkey.coordinator.store.Schema.WAITER)) == 1);
            long resigned = System.nanoTime();
            assertThat(api.call("DELETE", "/v1/elections/restock?session=" + a, null).status()).isEqualTo(204);
            Api.Reply second = next.get();
            assertThat((System.nanoTime() - resigned) / 1_000_000).as("new leader within 1 s of a resign").isLessThan(1_000);
            assertThat(second.json().get("generation").asLong()).isGreaterThan(first.json().get("generation").asLong());
            assertThat(api.call("GET", "/v1/elections/restock", null).json().get("value").asText()).isEqualTo("shop-2:8080");
            assertThat(api.check(first.json().get("sequencer").asText())).isFalse();
        }
    }

    @DatabaseTest
    void anElectionWithoutALeaderSaysSo(TestDatabase db) {
        try (Harness h = new Harness(db)) {
            Api.Reply none = h.api.call("GET", "/v1/elections/nobody", null);
            assertThat(none.status()).isEqualTo(404);
            assertThat(h.api.call("POST", "/v1/elections/bad%20name", "{\"session\":\"x\"}").status()).isEqualTo(400);
        }
    }

    /**
     * Regression: the grant and the value were two transactions, so a watcher could see a new leader
     * with the previous leader's value. Four candidates hand leadership around; a watcher reads the
     * leader after every lock-acquired event, and an observer reads it in a loop: the value read is
     * always the value of the session read with it.
     */
    @DatabaseTest
    void everyLeaderIsSeenWithItsOwnValue(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            long from = h.coordinator.events().currentRevision();
            java.util.List<String> candidates = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                candidates.add(api.openSession(60_000));
            }
            java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
            java.util.List<String> mismatches = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            java.util.concurrent.atomic.AtomicInteger leaderEventsChecked = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
            Runnable checkLeader = () -> {
                Api.Reply leader = api.call("GET", "/v1/elections/handoff", null);
                if (leader.status() == 200) {
                    reads.incrementAndGet();
                    String session = leader.json().get("session").asText();
                    String value = leader.json().get("value").asText();
                    if (!value.equals("value-of-" + session)) {
                        mismatches.add("leader " + session + " with value " + value);
                    }
                }
            };
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(6);
            try {
                java.util.concurrent.Future<?> observer = pool.submit(() -> {
                    while (running.get()) {
                        checkLeader.run();
                    }
                });
                java.util.concurrent.Future<?> watcher = pool.submit(() -> {
                    long after = from;
                    while (running.get()) {
                        com.fasterxml.jackson.databind.JsonNode page = api.call("GET",
                                "/v1/events?path=/elections/handoff&waitMs=500&after=" + after, null).json();
                        for (com.fasterxml.jackson.databind.JsonNode e : page.get("events")) {
                            if (e.get("kind").asText().equals("lock-acquired")) {
                                checkLeader.run();
                                leaderEventsChecked.incrementAndGet();
                            }
                        }
                        after = page.get("lastRev").asLong();
                    }
                });
                java.util.List<java.util.concurrent.Future<?>> campaigns = new java.util.ArrayList<>();
                for (String candidate : candidates) {
                    campaigns.add(pool.submit(() -> {
                        for (int round = 0; round < 8; round++) {
                            Api.Reply won = campaign(api, "handoff", candidate, "value-of-" + candidate, 20_000);
                            assertThat(won.status()).as(won.body()).isEqualTo(200);
                            assertThat(api.call("DELETE", "/v1/elections/handoff?session=" + candidate, null).status()).isEqualTo(204);
                        }
                    }));
                }
                for (java.util.concurrent.Future<?> c : campaigns) {
                    c.get(120, java.util.concurrent.TimeUnit.SECONDS);
                }
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> leaderEventsChecked.get() >= 32);
                running.set(false);
                observer.get(10, java.util.concurrent.TimeUnit.SECONDS);
                watcher.get(10, java.util.concurrent.TimeUnit.SECONDS);
            } finally {
                running.set(false);
                pool.shutdownNow();
            }
            assertThat(mismatches).isEmpty();
            assertThat(reads.get()).isGreaterThan(32);
        }
    }
}
