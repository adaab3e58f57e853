package dev.latchkey.bench;

import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.Watch;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.HttpApi;
import dev.latchkey.coordinator.store.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.Watcher;

/**
 * Watch latency: the time from a write being acknowledged to its event reaching a watching client,
 * for the Latchkey coordinator on a given store (LISTEN/NOTIFY on PostgreSQL, polling elsewhere)
 * and beside it a ZooKeeper data watch, an etcd watch and Redis keyspace notifications (each peer its
 * own process, see {@link Peers}). Writes are paced (one at a time, 5 ms apart).
 *
 * <pre>java [-Dwatchers=1,100] [-Dtransport=stream,channel] -cp bench/target/latchkey-bench.jar dev.latchkey.bench.WatchLatency [writes] [jdbcUrl user password]</pre>
 */
public final class WatchLatency {

    /** Latency percentiles in milliseconds. */
    public record Result(String system, int samples, double p50Millis, double p99Millis) {
    }

    public static void main(String[] args) throws Exception {
        int writes = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        int[] watcherCounts = Arrays.stream(System.getProperty("watchers", "1").split(",")).mapToInt(w -> Integer.parseInt(w.trim())).toArray();
        List<Result> results = new ArrayList<>();
        // stream: each watch follows GET /v1/watch (SSE); channel: each watcher is a session whose watch rides its channel
        List<String> transports = Arrays.stream(System.getProperty("transport", "stream").split(",")).map(String::trim).toList();
        for (int watchers : watcherCounts) {
            for (String transport : transports) {
                boolean channel = switch (transport) {
                    case "stream" -> false;
                    case "channel" -> true;
                    default -> throw new IllegalArgumentException("-Dtransport takes stream and/or channel, not '" + transport + "'");
                };
                if (args.length > 3) {
                    results.add(latchkey(args[1], args[2], args[3], writes, watchers, channel));
                } else {
                    try (BenchDatabase db = BenchDatabase.create()) {
                        results.add(latchkey(db.url(), db.user(), db.password(), writes, watchers, channel));
                    }
                }
            }
        }
        for (int watchers : watcherCounts) {
            results.add(zookeeper(writes, watchers));
            etcd(writes, watchers).ifPresentOrElse(results::add, () -> System.err.println("skipped etcd: " + Peers.missing("etcd")));
            redis(writes, watchers).ifPresentOrElse(results::add, () -> System.err.println("skipped redis: " + Peers.missing("redis")));
        }
        System.out.println("| system | samples | p50 ms | p99 ms |\n|---|---:|---:|---:|");
        results.forEach(r -> System.out.println(format(r)));
        String svg = System.getProperty("svg");
        if (svg != null) {
            List<SvgBarChart.Bar> bars = results.stream().map(r -> new SvgBarChart.Bar(r.system(), r.p99Millis(), 0,
                    String.format(Locale.ROOT, "(p50 %.2f ms)", r.p50Millis()))).toList();
            java.nio.file.Files.writeString(java.nio.file.Path.of(svg), SvgBarChart.render("Watch latency, write acknowledged to event received: p99",
                    "ms", bars));
        }
    }

    public static String format(Result r) {
        return String.format(Locale.ROOT, "| %s | %d | %.2f | %.2f |", r.system(), r.samples(), r.p50Millis(), r.p99Millis());
    }

    public static Result latchkey(String url, String user, String password, int writes) throws Exception {
        return latchkey(url, user, password, writes, 1, false);
    }

    /**
     * With {@code watchers} clients all watching the file: the latency of every (watcher, event)
     * pair counts, so the percentiles say how long the slowest watchers wait as their number grows.
     */
    public static Result latchkey(String url, String user, String password, int writes, int watchers, boolean channel) throws Exception {
        try (Coordinator coordinator = new Coordinator(new StoreConfig(url, user, password, 8), Coordinator.Settings.defaults());
                HttpApi api = new HttpApi(coordinator)) {
            String base = "http://127.0.0.1:" + api.start("127.0.0.1", 0);
            try (LatchkeyClient writer = LatchkeyClient.connect(base); LatchkeyClient watcher = LatchkeyClient.connect(base)) {
                writer.write("/latency", new byte[0], null);
                List<ConcurrentHashMap<Long, Long>> arrivals = new ArrayList<>();
                CountDownLatch all = new CountDownLatch(writes * watchers);
                long[] acked = new long[writes];
                long from = writer.currentRevision();
                List<Watch> watches = new ArrayList<>();
                List<dev.latchkey.client.Session> sessions = new ArrayList<>();
                try {
                    for (int w = 0; w < watchers; w++) {
                        ConcurrentHashMap<Long, Long> mine = new ConcurrentHashMap<>();
                        arrivals.add(mine);
                        Watch.Listener listener = e -> {
                            mine.put(e.rev(), System.nanoTime());
                            all.countDown();
                        };
                        if (channel) {
                            dev.latchkey.client.Session session = watcher.openSession(dev.latchkey.client.Session.Options.defaults().cache(false));
                            sessions.add(session);
                            watches.add(session.watch("/latency", true, from, listener));
                        } else {
                            watches.add(watcher.watch("/latency", true, from, listener));
                        }
                    }
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (channel && watches.stream().anyMatch(w -> !w.usesChannel()) && System.nanoTime() < deadline) {
                        Thread.sleep(10); // every watch on its channel before the first write
                    }
                    long[] revs = new long[writes];
                    for (int i = 0; i < writes; i++) {
                        revs[i] = writer.write("/latency", Integer.toString(i).getBytes(StandardCharsets.UTF_8), null).modifiedRevision();
                        acked[i] = System.nanoTime();
                        Thread.sleep(5);
                    }
                    all.await(30, TimeUnit.SECONDS);
                    long[] lat = byRevision(arrivals, revs, acked);
                    String kind = coordinator.store().kind().name().toLowerCase(Locale.ROOT);
                    return result("latchkey (" + kind + (channel ? ", session channel" : "") + ")" + (watchers == 1 ? "" : ", " + watchers + " watchers"), lat);
                } finally {
                    for (Watch w : watches) {
                        w.close();
                    }
                    for (dev.latchkey.client.Session s : sessions) {
                        s.close();
                    }
                }
            }
        }
    }

    /** A ZooKeeper data watch (re-set after each event, as ZooKeeper's watches fire once), ZooKeeper as its own process. */
    public static Result zookeeper(int writes) throws Exception {
        return zookeeper(writes, 1);
    }

    /**
     * With {@code watchers} clients (one ZooKeeper session each) watching the node: every watcher
     * sets its watch before each write (ZooKeeper's watches fire once), and the latency of every
     * (watcher, write) pair counts.
     */
    public static Result zookeeper(int writes, int watchers) throws Exception {
        List<CuratorFramework> clients = new ArrayList<>();
        try (Peers.Peer zk = Peers.zookeeper();
                CuratorFramework framework = CuratorFrameworkFactory.newClient(zk.endpoint(), new ExponentialBackoffRetry(100, 3))) {
            framework.start();
            for (int w = 0; w < watchers; w++) {
                CuratorFramework c = CuratorFrameworkFactory.newClient(zk.endpoint(), new ExponentialBackoffRetry(100, 3));
                c.start();
                clients.add(c);
            }
            framework.create().forPath("/latency", new byte[0]);
            long[] lat = new long[writes * watchers];
            for (int i = 0; i < writes; i++) {
                CountDownLatch fired = new CountDownLatch(watchers);
                long[] at = new long[watchers];
                for (int w = 0; w < watchers; w++) {
                    int watcher = w;
                    clients.get(w).getData().usingWatcher((Watcher) event -> {
                        at[watcher] = System.nanoTime();
                        fired.countDown();
                    }).forPath("/latency");
                }
                framework.setData().forPath("/latency", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                long ack = System.nanoTime();
                fired.await(10, TimeUnit.SECONDS);
                for (int w = 0; w < watchers; w++) {
                    lat[w * writes + i] = at[w] == 0 ? Long.MAX_VALUE : Math.max(0, at[w] - ack);
                }
                Thread.sleep(5);
            }
            return result("zookeeper" + (watchers == 1 ? "" : ", " + watchers + " watchers"), lat);
        } finally {
            clients.forEach(CuratorFramework::close);
        }
    }

    /**
     * etcd watches ({@code watchers} streams on the watching client, each on the key), events
     * matched to writes by revision; etcd as its own process. Empty when etcd is not installed.
     */
    public static java.util.Optional<Result> etcd(int writes, int watchers) throws Exception {
        java.util.Optional<Peers.Peer> peer = Peers.etcd();
        if (peer.isEmpty()) {
            return java.util.Optional.empty();
        }
        try (Peers.Peer etcd = peer.get();
                io.etcd.jetcd.Client writer = io.etcd.jetcd.Client.builder().endpoints(etcd.endpoint()).build();
                io.etcd.jetcd.Client watcher = io.etcd.jetcd.Client.builder().endpoints(etcd.endpoint()).build()) {
            io.etcd.jetcd.ByteSequence key = io.etcd.jetcd.ByteSequence.from("/latency", StandardCharsets.UTF_8);
            long startRev = writer.getKVClient().put(key, io.etcd.jetcd.ByteSequence.from("start", StandardCharsets.UTF_8)).get()
                    .getHeader().getRevision();
            // each watch starts at the revision after the first put: no write is missed however long the stream takes to open
            io.etcd.jetcd.options.WatchOption fromNext = io.etcd.jetcd.options.WatchOption.builder().withRevision(startRev + 1).build();
            List<ConcurrentHashMap<Long, Long>> arrivals = new ArrayList<>();
            CountDownLatch all = new CountDownLatch(writes * watchers);
            List<io.etcd.jetcd.Watch.Watcher> streams = new ArrayList<>();
            try {
                for (int w = 0; w < watchers; w++) {
                    ConcurrentHashMap<Long, Long> mine = new ConcurrentHashMap<>();
                    arrivals.add(mine);
                    streams.add(watcher.getWatchClient().watch(key, fromNext, response -> {
                        long now = System.nanoTime();
                        response.getEvents().forEach(e -> {
                            mine.put(e.getKeyValue().getModRevision(), now);
                            all.countDown();
                        });
                    }));
                }
                long[] revs = new long[writes];
                long[] acked = new long[writes];
                for (int i = 0; i < writes; i++) {
                    revs[i] = writer.getKVClient().put(key, io.etcd.jetcd.ByteSequence.from(Integer.toString(i), StandardCharsets.UTF_8)).get()
                            .getHeader().getRevision();
                    acked[i] = System.nanoTime();
                    Thread.sleep(5);
                }
                all.await(30, TimeUnit.SECONDS);
                long[] lat = byRevision(arrivals, revs, acked);
                return java.util.Optional.of(result("etcd" + (watchers == 1 ? "" : ", " + watchers + " watchers"), lat));
            } finally {
                streams.forEach(io.etcd.jetcd.Watch.Watcher::close);
            }
        }
    }

    /**
     * Redis keyspace notifications ({@code __keyspace@0__:latency}, one subscription per watcher,
     * each its own connection), events matched to writes by order; Redis as its own process
     * (appendfsync everysec). Empty when redis-server is not installed.
     */
    public static java.util.Optional<Result> redis(int writes, int watchers) throws Exception {
        java.util.Optional<Peers.Peer> peer = Peers.redis("everysec", true);
        if (peer.isEmpty()) {
            return java.util.Optional.empty();
        }
        io.netty.channel.nio.NioEventLoopGroup loops = new io.netty.channel.nio.NioEventLoopGroup(2);
        List<org.redisson.api.RedissonClient> clients = new ArrayList<>();
        try (Peers.Peer redis = peer.get()) {
            java.util.function.Supplier<org.redisson.api.RedissonClient> connect = () -> {
                org.redisson.config.Config config = new org.redisson.config.Config();
                config.setEventLoopGroup(loops);
                config.useSingleServer().setAddress("redis://" + redis.endpoint()).setConnectionPoolSize(2).setConnectionMinimumIdleSize(1)
                        .setSubscriptionConnectionPoolSize(1).setSubscriptionConnectionMinimumIdleSize(1);
                org.redisson.api.RedissonClient c = org.redisson.Redisson.create(config);
                clients.add(c);
                return c;
            };
            org.redisson.api.RedissonClient writer = connect.get();
            writer.getKeys().count(); // connected
            List<List<Long>> arrivals = new ArrayList<>();
            CountDownLatch all = new CountDownLatch(writes * watchers);
            for (int w = 0; w < watchers; w++) {
                List<Long> mine = java.util.Collections.synchronizedList(new ArrayList<>());
                arrivals.add(mine);
                connect.get().getTopic("__keyspace@0__:latency", org.redisson.client.codec.StringCodec.INSTANCE).addListener(String.class,
                        (channel, message) -> {
                            mine.add(System.nanoTime());
                            all.countDown();
                        });
            }
            // (addListener returns once the subscription is confirmed, so no write is published before it)
            org.redisson.api.RBucket<String> bucket = writer.getBucket("latency", org.redisson.client.codec.StringCodec.INSTANCE);
            long[] acked = new long[writes];
            for (int i = 0; i < writes; i++) {
                bucket.set(Integer.toString(i));
                acked[i] = System.nanoTime();
                Thread.sleep(5);
            }
            all.await(30, TimeUnit.SECONDS);
            long[] lat = new long[writes * watchers];
            for (int w = 0; w < watchers; w++) {
                List<Long> mine = arrivals.get(w);
                for (int i = 0; i < writes; i++) {
                    lat[w * writes + i] = i < mine.size() ? Math.max(0, mine.get(i) - acked[i]) : Long.MAX_VALUE;
                }
            }
            return java.util.Optional.of(result("redis keyspace notifications" + (watchers == 1 ? "" : ", " + watchers + " watchers"), lat));
        } finally {
            clients.forEach(org.redisson.api.RedissonClient::shutdown);
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * Each (watcher, write) pair's latency: from the write's acknowledgement to the watcher's event
     * of that revision (0 when the event came first; never, when it did not come).
     */
    private static long[] byRevision(List<ConcurrentHashMap<Long, Long>> arrivals, long[] revs, long[] acked) {
        int writes = revs.length;
        long[] lat = new long[writes * arrivals.size()];
        for (int w = 0; w < arrivals.size(); w++) {
            for (int i = 0; i < writes; i++) {
                Long at = arrivals.get(w).get(revs[i]);
                lat[w * writes + i] = at == null ? Long.MAX_VALUE : Math.max(0, at - acked[i]);
            }
        }
        return lat;
    }

    private static Result result(String system, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return new Result(system, sorted.length, pct(sorted, 50), pct(sorted, 99));
    }

    private static double pct(long[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        long v = sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
        return v == Long.MAX_VALUE ? Double.POSITIVE_INFINITY : v / 1e6;
    }
}
