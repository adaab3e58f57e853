package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.util.concurrent.CompletableFuture;

class ElectionTest {

    private static Api.Reply campaign(Api api, String session, String value, long waitMs) {
        return api.call("POST", "/v1/elections/restock", "{\"session\":\"" + session + "\",\"value\":\"" + value + "\",\"waitMs\":" + waitMs + "}");
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
}
