package dev.latchkey.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.HttpApi;
import dev.latchkey.coordinator.store.StoreConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Session capacity: how many sessions (12 s TTL) one coordinator keeps alive with keep-alives
 * flowing, whether any expires spuriously, and how many store writes per second the keep-alives
 * cost. The load is raw HTTP keep-alives from virtual threads, each session renewed every 4 s.
 *
 * <pre>java -cp bench/target/latchkey-bench.jar dev.latchkey.bench.SessionCapacity [sessions] [seconds]</pre>
 */
public final class SessionCapacity {

    /** What a run measured. */
    public record Result(int sessions, Duration measured, long keepAlives, long spuriousExpiries, double storeWritesPerSecond,
            double keepAlivesPerSecond, int liveAtEnd) {
    }

    public static void main(String[] args) throws Exception {
        int sessions = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        Duration duration = Duration.ofSeconds(args.length > 1 ? Long.parseLong(args[1]) : 40);
        try (BenchDatabase db = BenchDatabase.create()) {
            Result r = run(db.url(), db.user(), db.password(), sessions, duration, Duration.ofSeconds(12));
            System.out.printf(Locale.ROOT, "| %d | %d s | %.0f | %d | %.1f | %d |%n", r.sessions(), r.measured().toSeconds(),
                    r.keepAlivesPerSecond(), r.spuriousExpiries(), r.storeWritesPerSecond(), r.liveAtEnd());
        }
    }

    public static Result run(String url, String user, String password, int sessions, Duration duration, Duration ttl) throws Exception {
        ObjectMapper json = new ObjectMapper();
        try (Coordinator coordinator = new Coordinator(new StoreConfig(url, user, password, 16), Coordinator.Settings.defaults());
                HttpApi api = new HttpApi(coordinator); HttpClient http = HttpClient.newHttpClient()) {
            String base = "http://127.0.0.1:" + api.start("127.0.0.1", 0);
            List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>(sessions));
            try (var opener = java.util.concurrent.Executors.newFixedThreadPool(32, Thread.ofVirtual().factory())) {
                for (int i = 0; i < sessions; i++) {
                    opener.submit(() -> {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sessions"))
                                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"ttlMs\":" + ttl.toMillis() + ",\"owner\":\"capacity\"}")).build(),
                                HttpResponse.BodyHandlers.ofString());
                        ids.add(json.readTree(r.body()).get("id").asText());
                        return null;
                    });
                }
            }
            int workers = 64;
            AtomicLong keepAlives = new AtomicLong();
            AtomicLong expired = new AtomicLong();
            long writesBefore = coordinator.sessions().keepAliveWrites();
            long start = System.nanoTime();
            long end = start + duration.toNanos();
            long interval = ttl.toNanos() / 3;
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                int worker = w;
                threads.add(Thread.ofVirtual().start(() -> {
                    List<String> mine = new ArrayList<>();
                    for (int i = worker; i < ids.size(); i += workers) {
                        mine.add(ids.get(i));
                    }
                    long next = System.nanoTime() + (long) (interval * (worker / (double) workers));
                    while (System.nanoTime() < end) {
                        long gap = interval / Math.max(1, mine.size());
                        for (String id : mine) {
                            try {
                                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sessions/" + id + "/keepalive"))
                                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
                                keepAlives.incrementAndGet();
                                if (r.statusCode() == 404) {
                                    expired.incrementAndGet();
                                }
                            } catch (Exception e) {
                                // counted as missing: the session will show as expired if it mattered
                            }
                            next += gap;
                            long sleep = next - System.nanoTime();
                            if (sleep > 0) {
                                try {
                                    Thread.sleep(Duration.ofNanos(sleep));
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                            if (System.nanoTime() >= end) {
                                return;
                            }
                        }
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long writes = coordinator.sessions().keepAliveWrites() - writesBefore;
            int live = coordinator.sessions().list().size();
            return new Result(sessions, Duration.ofNanos(System.nanoTime() - start), keepAlives.get(), expired.get(), writes / seconds,
                    keepAlives.get() / seconds, live);
        }
    }
}
