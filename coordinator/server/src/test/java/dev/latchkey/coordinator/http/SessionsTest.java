package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.util.concurrent.CompletableFuture;

class SessionsTest {

    /**
     * A session that stops keeping alive loses its locks after its TTL plus the lock-delay it chose,
     * its ephemeral nodes vanish, and its sequencer is no longer valid.
     */
    @DatabaseTest
    void aSilentSessionLosesItsLocksAfterTtlPlusLockDelay(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db, Harness.fastReaper())) {
            Api api = h.api;
            long ttl = 1_000;
            long lockDelay = 1_500;
            long opened = System.nanoTime();
            String silent = api.openSession(ttl);
            Api.Reply grant = api.acquire("/job", silent, "exclusive", 0, lockDelay);
            assertThat(grant.status()).isEqualTo(200);
            String sequencer = grant.json().get("sequencer").asText();
            assertThat(api.put("/worker-1?ephemeral=true&session=" + silent, "10.0.0.1:8080").status()).isEqualTo(201);

            String other = api.openSession(30_000);
            CompletableFuture<Api.Reply> waiting = CompletableFuture.supplyAsync(() -> api.acquire("/job", other, "exclusive", 15_000, 0));
            Api.Reply taken = waiting.get();
            long elapsedMs = (System.nanoTime() - opened) / 1_000_000;

            assertThat(taken.status()).as(taken.body()).isEqualTo(200);
            assertThat(elapsedMs).as("granted after TTL + lock-delay").isGreaterThanOrEqualTo(ttl + lockDelay);
            assertThat(elapsedMs).as("and not much later").isLessThan(ttl + lockDelay + 2_500);
            assertThat(taken.json().get("generation").asLong()).isGreaterThan(grant.json().get("generation").asLong());
            assertThat(api.check(sequencer)).isFalse();
            assertThat(api.get("/worker-1").status()).isEqualTo(404);
            assertThat(api.keepAlive(silent).status()).isEqualTo(404);
            var kinds = api.call("GET", "/v1/events?after=0&limit=100", null).json().get("events").findValuesAsText("kind");
            assertThat(kinds).contains("session-expired", "lock-released", "node-deleted", "child-removed");
        }
    }

    @DatabaseTest
    void keepAlivesKeepASessionAndItsLocks(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db, Harness.fastReaper())) {
            Api api = h.api;
            String session = api.openSession(1_000);
            Api.Reply grant = api.acquire("/job", session, "exclusive", 0, 0);
            long until = System.currentTimeMillis() + 2_500;
            while (System.currentTimeMillis() < until) {
                Api.Reply ka = api.keepAlive(session);
                assertThat(ka.status()).as(ka.body()).isEqualTo(200);
                assertThat(ka.json().get("remainingMs").asLong()).isGreaterThan(900);
                Thread.sleep(250);
            }
            assertThat(api.check(grant.json().get("sequencer").asText())).isTrue();
            assertThat(api.call("DELETE", "/v1/sessions/" + session, null).status()).isEqualTo(204);
            assertThat(api.check(grant.json().get("sequencer").asText())).isFalse();
            // a clean close frees the lock at once: no lock-delay
            String next = api.openSession(10_000);
            assertThat(api.acquire("/job", next, "exclusive", 0, 0).status()).isEqualTo(200);
        }
    }

    @DatabaseTest
    void aHeldKeepAliveReturnsEarlyWithAConflictingRequestOnAHeldLock(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            String holder = api.openSession(30_000);
            String rival = api.openSession(30_000);
            api.acquire("/leader", holder, "exclusive", 0, 0);
            CompletableFuture<Api.Reply> held = CompletableFuture.supplyAsync(
                    () -> api.call("POST", "/v1/sessions/" + holder + "/keepalive?waitMs=8000", null));
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)) // the keep-alive is held
                    .until(() -> api.call("GET", "/metrics", null).body().contains("latchkey_keepalive_held 1.0"));
            CompletableFuture.runAsync(() -> api.acquire("/leader", rival, "exclusive", 3_000, 0));
            long start = System.nanoTime();
            Api.Reply reply = held.get();
            assertThat(reply.status()).isEqualTo(200);
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(5_000);
            assertThat(reply.json().get("events").findValuesAsText("kind")).contains("conflicting-lock-request");
        }
    }
}
