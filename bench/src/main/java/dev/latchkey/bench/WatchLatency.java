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
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.Watcher;

/**
 * Watch latency: the time from a write being acknowledged to its event reaching a watching client,
 * for the Latchkey coordinator on a given store (LISTEN/NOTIFY on PostgreSQL, polling elsewhere)
 * and for a ZooKeeper data watch beside it. Writes are paced (one at a time, 5 ms apart).
 *
 * <pre>java [-Dwatchers=1,100] -cp bench/target/latchkey-bench.jar dev.latchkey.bench.WatchLatency [writes] [jdbcUrl user password]</pre>
 */
public final class WatchLatency {

    /** Latency percentiles in milliseconds. */
    public record Result(String system, int samples, double p50Millis, double p99Millis) {
    }

    public static void main(String[] args) throws Exception {
        int writes = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        int[] watcherCounts = Arrays.stream(System.getProperty("watchers", "1").split(",")).mapToInt(w -> Integer.parseInt(w.trim())).toArray();
        for (int watchers : watcherCounts) {
            if (args.length > 3) {
                System.out.println(format(latchkey(args[1], args[2], args[3], writes, watchers)));
            } else {
                try (BenchDatabase db = BenchDatabase.create()) {
                    System.out.println(format(latchkey(db.url(), db.user(), db.password(), writes, watchers)));
                }
            }
        }
        System.out.println(format(zookeeper(writes)));
    }

    public static String format(Result r) {
        return String.format(Locale.ROOT, "| %s | %d | %.2f | %.2f |", r.system(), r.samples(), r.p50Millis(), r.p99Millis());
    }

    public static Result latchkey(String url, String user, String password, int writes) throws Exception {
        return latchkey(url, user, password, writes, 1);
    }

    /**
     * With {@code watchers} clients all watching the file: the latency of every (watcher, event)
     * pair counts, so the percentiles say how long the slowest watchers wait as their number grows.
     */
    public static Result latchkey(String url, String user, String password, int writes, int watchers) throws Exception {
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
                try {
                    for (int w = 0; w < watchers; w++) {
                        ConcurrentHashMap<Long, Long> mine = new ConcurrentHashMap<>();
                        arrivals.add(mine);
                        watches.add(watcher.watch("/latency", true, from, e -> {
                            mine.put(e.rev(), System.nanoTime());
                            all.countDown();
                        }));
                    }
                    long[] revs = new long[writes];
                    for (int i = 0; i < writes; i++) {
                        revs[i] = writer.write("/latency", Integer.toString(i).getBytes(StandardCharsets.UTF_8), null).modifiedRevision();
                        acked[i] = System.nanoTime();
                        Thread.sleep(5);
                    }
                    all.await(30, TimeUnit.SECONDS);
                    long[] lat = new long[writes * watchers];
                    for (int w = 0; w < watchers; w++) {
                        for (int i = 0; i < writes; i++) {
                            Long at = arrivals.get(w).get(revs[i]);
                            lat[w * writes + i] = at == null ? Long.MAX_VALUE : Math.max(0, at - acked[i]);
                        }
                    }
                    String kind = coordinator.store().kind().name().toLowerCase(Locale.ROOT);
                    return result("latchkey (" + kind + ")" + (watchers == 1 ? "" : ", " + watchers + " watchers"), lat);
                } finally {
                    for (Watch w : watches) {
                        w.close();
                    }
                }
            }
        }
    }

    public static Result zookeeper(int writes) throws Exception {
        try (TestingServer zk = new TestingServer(true);
                CuratorFramework framework = CuratorFrameworkFactory.newClient(zk.getConnectString(), new ExponentialBackoffRetry(100, 3));
                CuratorFramework watcherFramework = CuratorFrameworkFactory.newClient(zk.getConnectString(), new ExponentialBackoffRetry(100, 3))) {
            framework.start();
            watcherFramework.start();
            framework.create().forPath("/latency", new byte[0]);
            long[] lat = new long[writes];
            for (int i = 0; i < writes; i++) {
                CountDownLatch fired = new CountDownLatch(1);
                long[] at = new long[1];
                watcherFramework.getData().usingWatcher((Watcher) event -> {
                    at[0] = System.nanoTime();
                    fired.countDown();
                }).forPath("/latency");
                framework.setData().forPath("/latency", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                long ack = System.nanoTime();
                fired.await(10, TimeUnit.SECONDS);
                lat[i] = Math.max(0, at[0] - ack);
                Thread.sleep(5);
            }
            return result("zookeeper (curator-test)", lat);
        }
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
