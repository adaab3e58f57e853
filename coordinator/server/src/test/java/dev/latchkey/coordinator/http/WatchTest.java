package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

class WatchTest {

    /**
     * 8 writers commit 2,000 changes at once; a watcher that drops its connection and resumes at
     * random points (Last-Event-ID) receives every event under its prefix exactly once, in order.
     */
    @DatabaseTest
    void aResumingWatcherGetsEveryEventOnceInOrder(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            api.put("/w?type=directory", null);
            long start = h.coordinator.events().currentRevision();
            ExecutorService writers = Executors.newFixedThreadPool(8);
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                int writer = w;
                done.add(writers.submit(() -> {
                    for (int i = 0; i < 250; i++) {
                        Api.Reply r = api.put("/w/k" + writer, writer + ":" + i);
                        assertThat(r.status()).as(r.body()).isBetween(200, 201);
                    }
                    return null;
                }));
            }
            api.put("/elsewhere", "not under /w");

            Random random = new Random(42);
            List<Long> received = new ArrayList<>();
            String lastId = Long.toString(start);
            int reconnects = 0;
            while (true) {
                boolean writersDone = done.stream().allMatch(Future::isDone);
                long target = h.coordinator.events().currentRevision();
                if (writersDone && !received.isEmpty() && received.get(received.size() - 1) >= lastUnderW(api, start)) {
                    break;
                }
                try (SseReader sse = new SseReader(api.base + "/v1/watch?prefix=/w", lastId)) {
                    reconnects++;
                    int take = 1 + random.nextInt(400);
                    for (int i = 0; i < take; i++) {
                        SseReader.SseEvent e = sse.next();
                        if (e == null) { // a keep-alive: nothing new for a while
                            if (done.stream().allMatch(Future::isDone)) {
                                break;
                            }
                            continue;
                        }
                        JsonNode data = Api.JSON.readTree(e.data());
                        assertThat(data.get("path").asText()).startsWith("/w");
                        received.add(Long.parseLong(e.id()));
                        lastId = e.id();
                        if (done.stream().allMatch(Future::isDone) && Long.parseLong(e.id()) >= lastUnderW(api, start)) {
                            break;
                        }
                    }
                }
                assertThat(target).isGreaterThanOrEqualTo(start);
            }
            for (Future<?> f : done) {
                f.get();
            }
            writers.shutdown();

            List<Long> expected = allUnderW(api, start);
            assertThat(expected).hasSizeGreaterThanOrEqualTo(2_000);
            assertThat(received).as("every event once, in order, across " + reconnects + " connections").isEqualTo(expected);
        }
    }

    private static long lastUnderW(Api api, long start) {
        List<Long> all = allUnderW(api, start);
        return all.isEmpty() ? start : all.get(all.size() - 1);
    }

    private static List<Long> allUnderW(Api api, long start) {
        List<Long> revs = new ArrayList<>();
        long after = start;
        while (true) {
            JsonNode page = api.call("GET", "/v1/events?prefix=/w&limit=5000&after=" + after, null).json();
            JsonNode events = page.get("events");
            if (events.isEmpty()) {
                return revs;
            }
            events.forEach(e -> revs.add(e.get("rev").asLong()));
            after = revs.get(revs.size() - 1);
        }
    }

    /**
     * Forty long-poll watchers follow a subtree while a writer changes it 30 times (and something
     * else changes outside it): each watcher gets exactly the 30 revisions, once each, in order, and
     * not one of their reads goes to the store: they are served from the latest events the
     * coordinator already holds in memory, so a thousand watchers do not cost a thousand reads per
     * commit. (A cursor older than that memory reads the store: the resync test below goes there.)
     */
    @DatabaseTest
    void manyWatchersAreServedFromMemoryAndEachSeesEveryEventOnceInOrder(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            assertThat(api.call("PUT", "/v1/nodes/many?type=directory", null).status()).isEqualTo(201);
            for (int i = 0; i < 3; i++) {
                assertThat(api.put("/many/f" + i, "new").status()).isEqualTo(201);
            }
            long from = h.coordinator.events().currentRevision();
            long storeReadsBefore = h.coordinator.watches().storeReads();
            int watchers = 40;
            int writes = 30;
            List<java.util.concurrent.Future<List<Long>>> seen = new ArrayList<>();
            try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int w = 0; w < watchers; w++) {
                    seen.add(pool.submit(() -> {
                        List<Long> revs = new ArrayList<>();
                        long after = from;
                        while (revs.size() < writes) {
                            JsonNode batch = api.call("GET", "/v1/events?prefix=/many&waitMs=5000&after=" + after, null).json();
                            assertThat(batch.has("resync")).isFalse();
                            batch.get("events").forEach(e -> revs.add(e.get("rev").asLong()));
                            after = batch.get("lastRev").asLong();
                        }
                        return revs;
                    }));
                }
                List<Long> written = new ArrayList<>();
                for (int i = 0; i < writes; i++) {
                    written.add(api.put("/many/f" + (i % 3), Integer.toString(i)).json().get("modifiedRevision").asLong());
                    api.put("/elsewhere", Integer.toString(i));
                }
                for (var f : seen) {
                    assertThat(f.get(30, java.util.concurrent.TimeUnit.SECONDS)).containsExactlyElementsOf(written);
                }
            }
            assertThat(h.coordinator.watches().storeReads() - storeReadsBefore).as("watcher reads that went to the store").isZero();
        }
    }

    @DatabaseTest
    void aWatcherThatFellBehindRetentionIsToldToResync(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db, Coordinator.Settings.defaults().withEventRetention(10))) {
            Api api = h.api;
            for (int i = 0; i < 30; i++) {
                api.put("/f", Integer.toString(i));
            }
            h.coordinator.reaper().tick(); // prunes all but the last 10 revisions
            try (SseReader sse = new SseReader(api.base + "/v1/watch?prefix=/", "1")) {
                SseReader.SseEvent e = sse.next();
                assertThat(e).isNotNull();
                assertThat(e.event()).isEqualTo("resync");
                JsonNode data = Api.JSON.readTree(e.data());
                assertThat(data.get("horizon").asLong()).isGreaterThan(1);
                api.put("/f", "after");
                SseReader.SseEvent next = sse.next();
                while (next == null) {
                    next = sse.next();
                }
                assertThat(next.event()).isEqualTo("contents-modified");
                assertThat(Long.parseLong(next.id())).isGreaterThan(data.get("currentRev").asLong());
            }
            long storeReads = h.coordinator.watches().storeReads();
            JsonNode poll = api.call("GET", "/v1/events?after=0&waitMs=10", null).json();
            assertThat(poll.get("resync").asBoolean()).isTrue();
            assertThat(h.coordinator.watches().storeReads()).as("older than the events in memory: read from the store").isGreaterThan(storeReads);
        }
    }

    @DatabaseTest
    void aWatchByExactPathSeesOnlyThatNode(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            long from = h.coordinator.events().currentRevision();
            api.put("/a", "1");
            api.put("/ab", "2");
            api.put("/a", "3");
            JsonNode events = api.call("GET", "/v1/events?path=/a&waitMs=1000&after=" + from, null).json().get("events");
            assertThat(events.findValuesAsText("path")).containsOnly("/a");
            assertThat(events).hasSize(2);
        }
    }

    /**
     * A watch on a quiet path, while the rest of the store is busy enough to prune its events many
     * times over: the watcher keeps up (every event was examined, none matched) and is never told to
     * resync for events it was never going to receive.
     */
    @DatabaseTest
    void aQuietWatchOnABusyStoreNeverFallsBehind(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db, Coordinator.Settings.defaults().withEventRetention(10));
                dev.latchkey.client.LatchkeyClient client = dev.latchkey.client.LatchkeyClient.connect(h.api.base)) {
            Api api = h.api;
            api.put("/quiet", "0");
            List<dev.latchkey.client.WatchEvent> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (dev.latchkey.client.Watch watch = client.watch("/quiet", true, client.currentRevision(), seen::add)) {
                for (int round = 0; round < 5; round++) {
                    for (int i = 0; i < 15; i++) {
                        api.put("/busy", Integer.toString(i));
                    }
                    long revision = h.coordinator.events().currentRevision();
                    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> watch.cursor() >= revision);
                    h.coordinator.reaper().tick(); // prunes all but the last 10 revisions
                }
                long written = api.put("/quiet", "1").json().get("modifiedRevision").asLong();
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> !seen.isEmpty());
                assertThat(seen).noneMatch(dev.latchkey.client.WatchEvent::isResync);
                assertThat(seen.get(0).rev()).isEqualTo(written);
                assertThat(seen.get(0).path()).isEqualTo("/quiet");
            }
        }
    }

    /** The SSE form of the same: a quiet stream's progress events move the client's Last-Event-ID on. */
    @DatabaseTest
    void aQuietSseWatchIsToldHowFarTheServerLooked(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            long start = h.coordinator.events().currentRevision();
            try (SseReader sse = new SseReader(api.base + "/v1/watch?path=/quiet", Long.toString(start))) {
                for (int i = 0; i < 5; i++) {
                    api.put("/busy", Integer.toString(i));
                }
                long busy = h.coordinator.events().currentRevision();
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
                while ((sse.progress == null || Long.parseLong(sse.progress) < busy) && System.nanoTime() < deadline) {
                    assertThat(sse.next()).as("nothing under /quiet happened").isNull();
                }
                assertThat(Long.parseLong(sse.progress)).isGreaterThanOrEqualTo(busy);
                long written = api.put("/quiet", "now").json().get("modifiedRevision").asLong();
                SseReader.SseEvent e = sse.next();
                while (e == null) {
                    e = sse.next();
                }
                assertThat(Long.parseLong(e.id())).isEqualTo(written);
            }
        }
    }
}
