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

            // a waiter on two is woken by a release on one
            CompletableFuture<Api.Reply> waiting = CompletableFuture.supplyAsync(() -> b.acquire("/shared", waiter, "exclusive", 20_000, 0));
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> // queued behind the holder
                    one.coordinator.store().read(c -> one.coordinator.store().dsl(c).fetchCount(dev.latchkey.coordinator.store.Schema.WAITER)) == 1);
            assertThat(waiting).isNotDone();
            long released = System.nanoTime();
            assertThat(a.release("/shared", holder).status()).isEqualTo(204);
            Api.Reply granted = waiting.get();
            long wakeMs = (System.nanoTime() - released) / 1_000_000;
            assertThat(granted.status()).as(granted.body()).isEqualTo(200);
            assertThat(wakeMs).as("woken by the release, not by a slow poll").isLessThan(1_000);

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
}
