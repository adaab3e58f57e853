package dev.latchkey.coordinator.clienttest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.Session;
import dev.latchkey.client.Watch;
import dev.latchkey.client.WatchEvent;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Watches on the session channel: the frames, unwatch, refusals, and the client riding a dropped channel without a gap. */
class ChannelWatchTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The answer comes before the first event; events follow in revision order, only those under
     * the watched path; a watch from revision 0 replays the node's history; a quiet watch hears a
     * mark; after unwatch's answer nothing more arrives for that watch; refusals end no watch.
     */
    @DatabaseTest
    void watchFramesFollowTheLogInOrderAndStopOnUnwatch(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db); HttpClient http = HttpClient.newHttpClient()) {
            String session = h.api.openSession(30_000);
            Frames frames = new Frames();
            WebSocket ws = http.newWebSocketBuilder()
                    .buildAsync(URI.create(h.api.base.replaceFirst("^http", "ws") + "/v1/sessions/" + session + "/channel"), frames)
                    .get(5, TimeUnit.SECONDS);
            try {
                watchAndUnwatch(h, ws, frames);
            } finally {
                ws.abort(); // (an open WebSocket would hold HttpClient.close for ever)
            }
        }
    }

    private static void watchAndUnwatch(Harness h, WebSocket ws, Frames frames) throws Exception {
        {
            long now = h.api.call("GET", "/v1/events?limit=1&waitMs=0", null).json().get("lastRev").asLong();

            assertThat(h.api.call("PUT", "/v1/nodes/w?type=directory", "").status()).isLessThan(300);
            send(ws, "{\"id\":1,\"op\":\"watch\",\"prefix\":\"/w\"}");
            JsonNode ok = frames.next();
            assertThat(ok.path("id").asLong()).isEqualTo(1);
            assertThat(ok.path("ok").path("watch").asLong()).isEqualTo(1);
            assertThat(ok.path("ok").path("fromRev").asLong()).isGreaterThanOrEqualTo(now);

            for (String path : List.of("/w/a", "/other", "/w/b", "/w/a")) {
                assertThat(h.api.put(path, "x").status()).isLessThan(300);
            }
            List<JsonNode> events = new ArrayList<>();
            while (events.stream().filter(e -> e.path("kind").asText().equals("contents-modified")).count() < 3) {
                JsonNode f = frames.next();
                if (f.has("event")) {
                    assertThat(f.path("watch").asLong()).isEqualTo(1);
                    events.add(f.get("event"));
                }
            }
            assertThat(events).allSatisfy(e -> assertThat(e.path("path").asText()).matches("/w(/.*)?"));
            assertThat(events.stream().map(e -> e.path("rev").asLong()).toList()).isSorted().doesNotHaveDuplicates();

            send(ws, "{\"id\":2,\"op\":\"watch\",\"path\":\"/w/a\",\"fromRev\":0}"); // history, from the start
            List<String> history = new ArrayList<>();
            while (history.size() < 2) {
                JsonNode f = frames.next();
                if (f.path("watch").asLong() == 2 && f.has("event")) {
                    history.add(f.get("event").path("kind").asText());
                }
            }
            assertThat(history).containsOnly("contents-modified");

            // refusals, each answered by its id; neither disturbs the running watches
            send(ws, "{\"id\":1,\"op\":\"watch\",\"prefix\":\"/x\"}");
            assertThat(frames.answerTo(1).path("problem").path("status").asInt()).isEqualTo(400);
            send(ws, "{\"id\":3,\"op\":\"watch\",\"prefix\":\"/x\",\"path\":\"/y\"}");
            assertThat(frames.answerTo(3).path("problem").path("status").asInt()).isEqualTo(400);
            send(ws, "{\"id\":4,\"op\":\"watch\",\"prefix\":\"no-slash\"}");
            assertThat(frames.answerTo(4).path("problem").path("status").asInt()).isEqualTo(400);

            // a quiet watch hears a mark (progress or ping) within a few seconds
            JsonNode mark = frames.next(f -> f.path("watch").asLong() == 2 && (f.has("progress") || f.has("ping")));
            assertThat(mark).isNotNull();

            send(ws, "{\"id\":5,\"op\":\"unwatch\",\"watch\":1}");
            assertThat(frames.answerTo(5).path("ok").path("stopped").asBoolean()).isTrue();
            int after = frames.seen.size();
            assertThat(h.api.put("/w/a", "y").status()).isLessThan(300);
            frames.next(f -> f.path("watch").asLong() == 2 && f.has("event")); // watch 2 still runs, and saw the write
            Thread.sleep(300);
            assertThat(frames.seen.subList(after, frames.seen.size())).noneMatch(f -> f.path("watch").asLong() == 1);
            send(ws, "{\"id\":6,\"op\":\"unwatch\",\"watch\":1}");
            assertThat(frames.answerTo(6).path("ok").path("stopped").asBoolean()).isFalse();
        }
    }

    /**
     * A session's watch rides its channel; the channel drops while a writer is busy; the watch goes
     * on (over the event stream, then the channel again) and the listener gets every write once, in
     * revision order.
     */
    @DatabaseTest
    void aSessionsWatchRidesItsChannelThroughADropWithoutAGapOrARepeat(TestDatabase db) throws Exception {
        int writes = 120;
        try (Harness h = new Harness(db); LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session session = client.openSession(Session.Options.defaults().cache(false))) {
            client.mkdir("/cw");
            List<WatchEvent> seen = new CopyOnWriteArrayList<>();
            try (Watch watch = session.watch("/cw", false, -1, seen::add)) {
                await().atMost(Duration.ofSeconds(10)).until(watch::usesChannel);
                for (int i = 0; i < writes; i++) {
                    client.write("/cw/f" + (i % 10), ("v" + i).getBytes(), null);
                    if (i == writes / 3) {
                        session.dropChannel();
                    }
                }
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> seen.stream().filter(e -> e.kind().equals("contents-modified")).count() >= writes);
                await().atMost(Duration.ofSeconds(10)).until(watch::usesChannel); // back on the channel
                client.write("/cw/last", "end".getBytes(), null);
                await().atMost(Duration.ofSeconds(10)).until(() -> seen.stream().anyMatch(e -> e.path().equals("/cw/last")));
            }
            assertThat(seen.stream().map(WatchEvent::rev).toList()).isSorted().doesNotHaveDuplicates();
            assertThat(seen.stream().filter(e -> e.kind().equals("contents-modified") && !e.path().equals("/cw/last")).count()).isEqualTo(writes);
            assertThat(seen).noneMatch(WatchEvent::isResync);
        }
    }

    private static void send(WebSocket ws, String frame) throws Exception {
        ws.sendText(frame, true).get(5, TimeUnit.SECONDS);
    }

    /** Collects a raw channel's frames. */
    private static final class Frames implements WebSocket.Listener {
        final BlockingQueue<JsonNode> queue = new LinkedBlockingQueue<>();
        final List<JsonNode> seen = new CopyOnWriteArrayList<>();
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                try {
                    JsonNode frame = JSON.readTree(partial.toString());
                    seen.add(frame);
                    queue.add(frame);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                partial.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        JsonNode next() throws InterruptedException {
            JsonNode f = queue.poll(10, TimeUnit.SECONDS);
            assertThat(f).as("a frame within 10 s").isNotNull();
            return f;
        }

        JsonNode next(java.util.function.Predicate<JsonNode> wanted) throws InterruptedException {
            for (;;) {
                JsonNode f = next();
                if (wanted.test(f)) {
                    return f;
                }
            }
        }

        JsonNode answerTo(long id) throws InterruptedException {
            return next(f -> f.has("id") && f.path("id").asLong() == id);
        }
    }
}
