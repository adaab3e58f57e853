package dev.latchkey.coordinator.clienttest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.LatchkeyException;
import dev.latchkey.client.Lease;
import dev.latchkey.client.Session;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** The session channel: pipelined requests over one WebSocket, a dropped connection, the fallback to HTTP. */
class SessionChannelTest {

    /**
     * Sixteen threads share one session's channel, each locking its own path over and over: every
     * answer reaches the request it belongs to, every grant is a new generation, and the store
     * recorded each acquire exactly once.
     */
    @DatabaseTest
    void pipelinedRequestsOnOneChannelEachGetTheirOwnAnswer(TestDatabase db) throws Exception {
        int threads = 16;
        int rounds = 15;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (Harness h = new Harness(db); LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session session = client.openSession(Session.Options.defaults().cache(false))) {
            long from = client.currentRevision();
            List<Future<List<Long>>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String path = "/pipelined/p" + t;
                results.add(pool.submit(() -> {
                    List<Long> generations = new ArrayList<>();
                    for (int r = 0; r < rounds; r++) {
                        try (Lease lease = session.acquire(path, Duration.ofSeconds(10))) {
                            assertThat(lease.sequencer().path()).isEqualTo(path);
                            generations.add(lease.sequencer().generation());
                        }
                    }
                    return generations;
                }));
            }
            for (Future<List<Long>> f : results) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isSorted().doesNotHaveDuplicates().hasSize(rounds);
            }
            assertThat(session.usesChannel()).isTrue();
            JsonNode events = h.api.call("GET", "/v1/events?prefix=/pipelined&after=" + from + "&limit=5000&waitMs=0", null).json();
            long acquired = 0;
            long released = 0;
            for (JsonNode e : events.get("events")) {
                acquired += e.get("kind").asText().equals("lock-acquired") ? 1 : 0;
                released += e.get("kind").asText().equals("lock-released") ? 1 : 0;
            }
            assertThat(acquired).isEqualTo((long) threads * rounds);
            assertThat(released).isEqualTo((long) threads * rounds);
        } finally {
            pool.shutdownNow();
        }
    }

    /** A waiting acquire holds nothing up on its channel: later requests are answered first, and its grant is pushed when it comes. */
    @DatabaseTest
    void aWaitingAcquireIsAnsweredWhenGrantedWhileLaterRequestsGoAhead(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db); LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session holder = client.openSession(Session.Options.defaults().cache(false));
                Session waiter = client.openSession(Session.Options.defaults().cache(false))) {
            Lease held = holder.acquire("/hot", Duration.ZERO);
            CompletableFuture<Lease> queued = queue(h, waiter, "/hot");
            try (Lease other = waiter.acquire("/elsewhere", Duration.ZERO)) { // answered while the first request still waits
                assertThat(other.sequencer().path()).isEqualTo("/elsewhere");
            }
            assertThat(queued).isNotDone();
            held.release();
            Lease granted = queued.get(10, TimeUnit.SECONDS);
            assertThat(granted.sequencer().generation()).isEqualTo(held.sequencer().generation() + 1);
            assertThat(waiter.usesChannel()).isTrue();
            granted.release();
        }
    }

    /**
     * A waiting acquire on the channel holds no thread; its timers answer it. One whose wait runs
     * out is answered "busy" and leaves the queue (the release that follows hands the lock to
     * nobody); one queued behind a holder whose session expires, starting a lock-delay, is granted
     * once the delay has run, by its own recheck (nothing is handed on during a delay).
     */
    @DatabaseTest
    void aWaitThatRunsOutIsAnsweredBusyAndAWaiterIsGrantedWhenALockDelayEnds(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db); LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session holder = client.openSession(Session.Options.defaults().cache(false));
                Session waiter = client.openSession(Session.Options.defaults().cache(false))) {
            Lease held = holder.acquire("/timed", Duration.ZERO);
            long asked = System.nanoTime();
            assertThatThrownBy(() -> waiter.acquire("/timed", Duration.ofMillis(400)))
                    .isInstanceOfSatisfying(LatchkeyException.class, e -> assertThat(e.type()).isEqualTo("lock-busy"));
            assertThat(System.nanoTime() - asked).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(390));
            held.release();
            assertThat(h.api.call("GET", "/v1/locks/timed", null).json().get("holders")).isEmpty(); // nobody was queued any more

            long opened = System.nanoTime();
            String lapsing = h.api.openSession(1_000); // (never kept alive: it expires after a second)
            assertThat(h.api.acquire("/delayed", lapsing, "exclusive", 0, 700).status()).isEqualTo(200);
            CompletableFuture<Lease> queued = queue(h, waiter, "/delayed");
            Lease granted = queued.get(10, TimeUnit.SECONDS);
            // the holder's lease ran 1 s, then its lock-delay 0.7 s: the grant came after both
            assertThat(System.nanoTime() - opened).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(1_650));
            assertThat(granted.sequencer().generation()).isGreaterThan(0);
            assertThat(count(h, "/delayed", 0, "lock-acquired")).isEqualTo(2);
            assertThat(waiter.usesChannel()).isTrue();
            granted.release();
        }
    }

    /**
     * The channel drops while an acquire waits on it: the client repeats the acquire over HTTP, the
     * coordinator answers the repeat with the one grant, and once released nobody is granted it
     * again: the first request's place in the queue left with the grant.
     */
    @DatabaseTest
    void aDroppedChannelFallsBackToHttpAndNothingIsAppliedTwice(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db); LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session holder = client.openSession(Session.Options.defaults().cache(false));
                Session waiter = client.openSession(Session.Options.defaults().cache(false))) {
            long from = client.currentRevision();
            Lease held = holder.acquire("/dropped", Duration.ZERO);
            CompletableFuture<Lease> queued = queue(h, waiter, "/dropped");
            waiter.dropChannel();
            // the repeat over HTTP queues as a second request of the same session
            await().atMost(Duration.ofSeconds(10)).until(() -> count(h, "/dropped", from, "conflicting-lock-request") == 2);
            held.release();
            Lease granted = queued.get(10, TimeUnit.SECONDS);
            assertThat(granted.sequencer().generation()).isEqualTo(held.sequencer().generation() + 1);
            granted.release();
            try (Lease again = holder.acquire("/dropped", Duration.ofSeconds(5))) {
                assertThat(again.sequencer().generation()).isEqualTo(granted.sequencer().generation() + 1);
            }
            assertThat(count(h, "/dropped", from, "lock-acquired")).isEqualTo(3); // holder, waiter once, holder again
            assertThat(h.api.call("GET", "/v1/locks/dropped", null).json().get("holders")).isEmpty();
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                waiter.acquire("/after-reconnect", Duration.ZERO).release();
                assertThat(waiter.usesChannel()).isTrue(); // it reconnected
            });
        }
    }

    /** With the channel off, everything goes over HTTP; a refusal reads the same either way. */
    @DatabaseTest
    void withTheChannelOffOrOnARefusalIsTheSame(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db); LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session http = client.openSession(Session.Options.defaults().cache(false).channel(false));
                Session channel = client.openSession(Session.Options.defaults().cache(false))) {
            Lease held = http.acquire("/refused", Duration.ZERO);
            assertThat(http.usesChannel()).isFalse();
            assertThatThrownBy(() -> channel.acquire("/refused", Duration.ZERO)).isInstanceOfSatisfying(LatchkeyException.class, e -> {
                assertThat(e.type()).isEqualTo("lock-busy");
                assertThat(e.status()).isEqualTo(409);
            });
            assertThat(channel.usesChannel()).isTrue();
            held.release();
            channel.acquire("/refused", Duration.ZERO).release();
        }
    }

    /** A channel for a session that does not exist is closed at once with 4404; a frame that is not a request closes it with 4400. */
    @DatabaseTest(only = dev.latchkey.testing.Database.H2)
    void theChannelRefusesAnUnknownSessionAndABadFrame(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db); HttpClient http = HttpClient.newHttpClient()) {
            String ws = h.api.base.replaceFirst("^http", "ws");
            CompletableFuture<Integer> closed = new CompletableFuture<>();
            http.newWebSocketBuilder().buildAsync(URI.create(ws + "/v1/sessions/no-such-session/channel"), dev.latchkey.coordinator.http.Api.closer(closed)).get(5, TimeUnit.SECONDS);
            assertThat(closed.get(5, TimeUnit.SECONDS)).isEqualTo(4404);

            String session = h.api.openSession(10_000);
            CompletableFuture<Integer> badFrame = new CompletableFuture<>();
            WebSocket socket = http.newWebSocketBuilder().buildAsync(URI.create(ws + "/v1/sessions/" + session + "/channel"), dev.latchkey.coordinator.http.Api.closer(badFrame))
                    .get(5, TimeUnit.SECONDS);
            socket.sendText("[1, 2, 3]", true).get(5, TimeUnit.SECONDS);
            assertThat(badFrame.get(5, TimeUnit.SECONDS)).isEqualTo(4400);
        }
    }

    /**
     * A frame longer than the buffer the server first collects a message in (a path of the longest
     * length allowed) is answered whole; a frame holding the escape of a NUL character closes the
     * channel with 4400, as a frame that is not a request does.
     */
    @DatabaseTest(only = dev.latchkey.testing.Database.H2)
    void aLongFrameIsReadWholeAndANulEscapeIsRefused(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db); HttpClient http = HttpClient.newHttpClient()) {
            String ws = h.api.base.replaceFirst("^http", "ws");
            String session = h.api.openSession(10_000);
            String path = "/locks/" + "p".repeat(dev.latchkey.client.NodePath.MAX_LENGTH - "/locks/".length());
            String frame = "{\"id\":7,\"op\":\"acquire\",\"path\":\"" + path + "\",\"waitMs\":0}";
            assertThat(frame.length()).isGreaterThan(512); // (SessionChannel.FRAME_BUFFER_BYTES)
            CompletableFuture<String> answer = new CompletableFuture<>();
            CompletableFuture<Integer> closed = new CompletableFuture<>();
            WebSocket socket = http.newWebSocketBuilder().buildAsync(URI.create(ws + "/v1/sessions/" + session + "/channel"), new WebSocket.Listener() {
                private final StringBuilder text = new StringBuilder();

                @Override
                public java.util.concurrent.CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                    text.append(data);
                    if (last) {
                        answer.complete(text.toString());
                    }
                    webSocket.request(1);
                    return null;
                }

                @Override
                public java.util.concurrent.CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                    closed.complete(statusCode);
                    return null;
                }
            }).get(5, TimeUnit.SECONDS);
            socket.sendText(frame, true).get(5, TimeUnit.SECONDS);
            JsonNode ok = new com.fasterxml.jackson.databind.ObjectMapper().readTree(answer.get(10, TimeUnit.SECONDS));
            assertThat(ok.path("id").asLong()).isEqualTo(7);
            assertThat(ok.path("ok").path("path").asText()).isEqualTo(path);

            socket.sendText("{\"id\":8,\"op\":\"release\",\"path\":\"/locks/a\\u0000b\"}", true).get(5, TimeUnit.SECONDS);
            assertThat(closed.get(5, TimeUnit.SECONDS)).isEqualTo(4400);
        }
    }

    /** Starts {@code waiter}'s acquire of {@code path}, which another session holds, and returns once it is queued. */
    private static CompletableFuture<Lease> queue(Harness h, Session waiter, String path) {
        CompletableFuture<Lease> queued = CompletableFuture.supplyAsync(() -> waiter.acquire(path, Duration.ofSeconds(20)),
                Executors.newVirtualThreadPerTaskExecutor());
        await().atMost(Duration.ofSeconds(10)).until(() -> h.api.call("GET", "/v1/events?path=" + path + "&after=0&limit=100&waitMs=0", null)
                .body().contains("conflicting-lock-request"));
        return queued;
    }


    private static long count(Harness h, String path, long after, String kind) {
        JsonNode events = h.api.call("GET", "/v1/events?path=" + path + "&after=" + after + "&limit=1000&waitMs=0", null).json();
        long n = 0;
        for (JsonNode e : events.get("events")) {
            n += e.get("kind").asText().equals(kind) ? 1 : 0;
        }
        return n;
    }
}
