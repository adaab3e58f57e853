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
        List<SvgBarChart.Bar> bars = new ArrayList<>();
        System.out.println("| system | sessions or leases | measured | keep-alives/s | expired meanwhile | store writes/s | server CPU (cores) |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|");
        try (BenchDatabase db = BenchDatabase.create()) {
            long cpuBefore = SessionCapacity.cpuTicks(ProcessHandle.current().pid());
            long t0 = System.nanoTime();
            Result r = run(db.url(), db.user(), db.password(), sessions, duration, Duration.ofSeconds(12));
            // the coordinator runs in this JVM beside the clients: its share cannot be told apart, so this is both
            double cores = (SessionCapacity.cpuTicks(ProcessHandle.current().pid()) - cpuBefore) / 100.0 / ((System.nanoTime() - t0) / 1e9);
            System.out.printf(Locale.ROOT, "| latchkey (PostgreSQL store) | %d | %d s | %.0f | %d | %.1f | %.2f (coordinator and clients) |%n",
                    r.sessions(), r.measured().toSeconds(), r.keepAlivesPerSecond(), r.spuriousExpiries(), r.storeWritesPerSecond(), cores);
            bars.add(new SvgBarChart.Bar("latchkey", r.keepAlivesPerSecond(), 0, String.format(Locale.ROOT, "(%d expired)", r.spuriousExpiries())));
        }
        etcd(sessions, duration, Duration.ofSeconds(12)).ifPresentOrElse(r -> {
            System.out.printf(Locale.ROOT, "| etcd leases | %d | %d s | %.0f | %d | (its WAL) | %.2f (etcd alone) |%n", r.leases(),
                    r.measured().toSeconds(), r.keepAlivesPerSecond(), r.expired(), r.serverCores());
            bars.add(new SvgBarChart.Bar("etcd", r.keepAlivesPerSecond(), 0, String.format(Locale.ROOT, "(%d expired)", r.expired())));
        }, () -> System.err.println("skipped etcd: " + Peers.missing("etcd")));
        String svg = System.getProperty("svg");
        if (svg != null) {
            java.nio.file.Files.writeString(java.nio.file.Path.of(svg), SvgBarChart.render(sessions
                    + " sessions / leases (12 s TTL) kept alive: keep-alives answered per second", "per second", bars));
        }
    }

    /**
     * Renews every item once every {@code interval} until {@code end}: 64 workers, each with its share
     * of the items, spread evenly over the interval (the workers' phases staggered across it).
     */
    static <T> void paced(List<T> items, long end, long interval, java.util.function.Consumer<T> renew) throws InterruptedException {
        int workers = 64;
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            int worker = w;
            threads.add(Thread.ofVirtual().start(() -> {
                List<T> mine = new ArrayList<>();
                for (int i = worker; i < items.size(); i += workers) {
                    mine.add(items.get(i));
                }
                long next = System.nanoTime() + (long) (interval * (worker / (double) workers));
                long gap = interval / Math.max(1, mine.size());
                while (System.nanoTime() < end) {
                    for (T item : mine) {
                        renew.accept(item);
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
    }

    /** A session's next keep-alive during the opening phase. */
    private record Due(String id, long atNanos) implements java.util.concurrent.Delayed {
        @Override
        public long getDelay(java.util.concurrent.TimeUnit unit) {
            return unit.convert(atNanos - System.nanoTime(), java.util.concurrent.TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(java.util.concurrent.Delayed other) {
            return Long.compare(atNanos, ((Due) other).atNanos);
        }
    }

    /** What the etcd run measured: keep-alives a second, leases lost, and the etcd server's CPU (cores busy on average). */
    public record PeerResult(int leases, Duration measured, double keepAlivesPerSecond, long expired, double serverCores) {
    }

    /**
     * {@code leases} etcd leases of the same TTL kept alive at the same rhythm as the Latchkey run
     * (each once every third of the TTL, one keep-alive request each, from 64 workers); etcd as its
     * own process. Empty when etcd is not installed.
     */
    public static java.util.Optional<PeerResult> etcd(int leases, Duration duration, Duration ttl) throws Exception {
        java.util.Optional<Peers.Peer> peer = Peers.etcd();
        if (peer.isEmpty()) {
            return java.util.Optional.empty();
        }
        try (Peers.Peer etcd = peer.get(); io.etcd.jetcd.Client client = io.etcd.jetcd.Client.builder().endpoints(etcd.endpoint()).build()) {
            List<Long> ids = java.util.Collections.synchronizedList(new ArrayList<>(leases));
            List<java.util.concurrent.CompletableFuture<?>> grants = new ArrayList<>();
            for (int i = 0; i < leases; i++) {
                grants.add(client.getLeaseClient().grant(ttl.toSeconds()).thenAccept(r -> ids.add(r.getID())));
                if (grants.size() >= 256) {
                    java.util.concurrent.CompletableFuture.allOf(grants.toArray(java.util.concurrent.CompletableFuture[]::new)).get();
                    grants.clear();
                }
            }
            java.util.concurrent.CompletableFuture.allOf(grants.toArray(java.util.concurrent.CompletableFuture[]::new)).get();
            AtomicLong keepAlives = new AtomicLong();
            long cpuBefore = cpuTicks(etcd.pid());
            long start = System.nanoTime();
            paced(List.copyOf(ids), start + duration.toNanos(), ttl.toNanos() / 3, id -> {
                try {
                    client.getLeaseClient().keepAliveOnce(id).get(5, java.util.concurrent.TimeUnit.SECONDS);
                    keepAlives.incrementAndGet();
                } catch (Exception e) {
                    // a lost keep-alive shows as an expired lease at the end
                }
            });
            double seconds = (System.nanoTime() - start) / 1e9;
            long cpuAfter = cpuTicks(etcd.pid());
            long expired = 0;
            for (long id : ids) {
                if (client.getLeaseClient().timeToLive(id, io.etcd.jetcd.options.LeaseOption.DEFAULT).get().getTTL() <= 0) {
                    expired++;
                }
            }
            return java.util.Optional.of(new PeerResult(leases, Duration.ofNanos(System.nanoTime() - start), keepAlives.get() / seconds, expired,
                    cpuBefore < 0 || cpuAfter < 0 ? Double.NaN : (cpuAfter - cpuBefore) / 100.0 / seconds));
        }
    }

    /** A process's CPU time so far in USER_HZ ticks (utime + stime of /proc/PID/stat), or -1. */
    static long cpuTicks(long pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    public static Result run(String url, String user, String password, int sessions, Duration duration, Duration ttl) throws Exception {
        ObjectMapper json = new ObjectMapper();
        try (Coordinator coordinator = new Coordinator(new StoreConfig(url, user, password, 16), Coordinator.Settings.defaults());
                HttpApi api = new HttpApi(coordinator); HttpClient http = HttpClient.newHttpClient()) {
            String base = "http://127.0.0.1:" + api.start("127.0.0.1", 0);
            List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>(sessions));
            long opening = System.nanoTime();
            long interval = ttl.toNanos() / 3;
            // Opening 10,000 sessions takes about as long as a TTL, so while they are being opened each is kept alive
            // from its own opening on (as its client would), every third of the TTL, by keepers working off a delay
            // queue; the measured rhythm below takes over once all are open.
            java.util.concurrent.DelayQueue<Due> due = new java.util.concurrent.DelayQueue<>();
            java.util.concurrent.atomic.AtomicBoolean opened = new java.util.concurrent.atomic.AtomicBoolean();
            List<Thread> keepers = new ArrayList<>();
            for (int k = 0; k < 16; k++) {
                keepers.add(Thread.ofVirtual().start(() -> {
                    while (!opened.get()) {
                        try {
                            Due d = due.poll(50, java.util.concurrent.TimeUnit.MILLISECONDS);
                            if (d != null) {
                                http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sessions/" + d.id() + "/keepalive"))
                                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
                                due.put(new Due(d.id(), System.nanoTime() + interval));
                            }
                        } catch (InterruptedException e) {
                            return;
                        } catch (Exception e) {
                            // the measured phase counts what is lost
                        }
                    }
                }));
            }
            try (var opener = java.util.concurrent.Executors.newFixedThreadPool(32, Thread.ofVirtual().factory())) {
                for (int i = 0; i < sessions; i++) {
                    opener.submit(() -> {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sessions"))
                                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"ttlMs\":" + ttl.toMillis() + ",\"owner\":\"capacity\"}")).build(),
                                HttpResponse.BodyHandlers.ofString());
                        String id = json.readTree(r.body()).get("id").asText();
                        ids.add(id);
                        due.put(new Due(id, System.nanoTime() + interval));
                        return null;
                    });
                }
            }
            System.err.printf(Locale.ROOT, "opened %d sessions in %.1f s%n", ids.size(), (System.nanoTime() - opening) / 1e9);
            opened.set(true);
            for (Thread k : keepers) {
                k.join();
            }
            AtomicLong keepAlives = new AtomicLong();
            AtomicLong expired = new AtomicLong();
            long writesBefore = coordinator.sessions().keepAliveWrites();
            long start = System.nanoTime();
            paced(List.copyOf(ids), start + duration.toNanos(), interval, id -> {
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
            });
            double seconds = (System.nanoTime() - start) / 1e9;
            long writes = coordinator.sessions().keepAliveWrites() - writesBefore;
            int live = coordinator.sessions().list().size();
            return new Result(sessions, Duration.ofNanos(System.nanoTime() - start), keepAlives.get(), expired.get(), writes / seconds,
                    keepAlives.get() / seconds, live);
        }
    }
}
