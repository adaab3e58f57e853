package dev.latchkey.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.Lease;
import dev.latchkey.client.Session;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.HttpApi;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.StoreConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import net.javacrumbs.shedlock.core.LockConfiguration;
import net.javacrumbs.shedlock.core.SimpleLock;
import net.javacrumbs.shedlock.provider.jdbc.JdbcLockProvider;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * Lock acquire + release, side by side in one run on this machine: the Latchkey coordinator (Java
 * client over its session channel, store on PostgreSQL; in this JVM, or with {@code latchkey-process} in a
 * JVM of its own), Curator's InterProcessMutex on ZooKeeper, etcd's
 * lock service (jetcd), Redisson's RLock on Redis with appendfsync always and everysec (each peer its
 * own process, see {@link Peers}),
 * ShedLock's JDBC provider on the same PostgreSQL, the least any HTTP lock service with a durable write
 * per operation can do ({@link #httpFloor}), and raw pg_advisory_lock/unlock (the floor of all).
 * Distinct locks (one per client) and one hot lock, at 1, 8 and 32 clients. {@code -Dstandby=N} starts
 * N more coordinators on the Latchkey contenders' store, each in a JVM of its own, that serve nobody
 * through the whole run (what a standby coordinator costs the busy one).
 *
 * <pre>java [-Dcontenders=latchkey,curator] [-Dlocks=distinct,hot] [-Dclients=1,8,32] [-Dwarmup=seconds, default 30] [-Dstandby=0]
 *     -cp bench/target/latchkey-bench.jar dev.latchkey.bench.LockShootout [seconds per cell] [chart.svg]</pre>
 */
public final class LockShootout {

    /** Each contender's unreported warm-up, in seconds, unless -Dwarmup says otherwise. */
    static final long DEFAULT_WARM_UP_SECONDS = 30;

    /** One way to take and release a named lock, with per-client state. */
    interface Contender extends AutoCloseable {
        String name();

        /** Per-client handle; called once per client thread before measuring. */
        Client client(int index) throws Exception;

        /** Called before each measured cell (the Latchkey contender notes where its writer's counters stand). */
        default void beforeCell() {
        }

        /** Something to say after a measured cell of {@code seconds} (the Latchkey writer's breakdown), or null. */
        default String afterCell(double seconds) {
            return null;
        }

        interface Client extends AutoCloseable {
            void lockUnlock(String lock) throws Exception;

            @Override
            default void close() throws Exception {
            }
        }
    }

    /**
     * One measured cell. {@code cpuMillisPerOp}: CPU time of every process on the machine (this JVM,
     * the database, a peer's server) over the measured window, per acquire + release; NaN where
     * /proc/stat cannot be read.
     */
    public record Cell(String contender, String mode, int clients, double opsPerSecond, double p50Millis, double p99Millis,
            double cpuMillisPerOp) {
    }

    public static void main(String[] args) throws Exception {
        Duration cell = Duration.ofSeconds(args.length > 0 ? Long.parseLong(args[0]) : 5);
        int[] clients = java.util.Arrays.stream(System.getProperty("clients", "1,8,32").split(",")).mapToInt(c -> Integer.parseInt(c.trim())).toArray();
        List<Cell> cells = run(cell, clients);
        System.out.println(markdown(cells));
        if (args.length > 1) {
            List<SvgBarChart.Bar> bars = new ArrayList<>();
            for (Cell c : cells) {
                if (c.clients() == 8) {
                    bars.add(new SvgBarChart.Bar(c.contender() + ", " + c.mode() + " lock", c.opsPerSecond(), 0,
                            String.format(Locale.ROOT, "(p99 %.1f ms)", c.p99Millis())));
                }
            }
            java.nio.file.Files.writeString(java.nio.file.Path.of(args[1]),
                    SvgBarChart.render("Lock acquire + release, 8 clients (PostgreSQL store; peers as their own processes)", "ops/s", bars));
        }
    }

    public static List<Cell> run(Duration perCell, int[] clientCounts) throws Exception {
        List<Cell> cells = new ArrayList<>();
        // durable commits for every contender: the coordinator's store, ShedLock's table and ZooKeeper's log all sync
        try (BenchDatabase db = BenchDatabase.create(); HikariDataSource pool = db.pool(40, true);
                Standby standby = Standby.start(Integer.getInteger("standby", 0), db)) {
            String only = System.getProperty("contenders", "latchkey,curator,etcd,redisson-always,redisson-everysec,shedlock,http-floor,pg-advisory");
            List<Contender> contenders = new ArrayList<>();
            for (String name : only.split(",")) {
                Optional<Contender> contender = switch (name.trim()) {
                    case "latchkey" -> Optional.of(latchkey(db.url(), db.user(), db.password()));
                    case "latchkey-process" -> Optional.of(latchkeyProcess(db.url(), db.user(), db.password()));
                    case "curator" -> Optional.of(curator());
                    case "etcd" -> etcd();
                    case "redisson-always" -> redisson("always");
                    case "redisson-everysec" -> redisson("everysec");
                    case "shedlock" -> Optional.of(shedLock(pool));
                    case "http-floor" -> Optional.of(httpFloor(pool));
                    case "pg-advisory" -> Optional.of(pgAdvisory(pool));
                    default -> throw new IllegalArgumentException("unknown contender '" + name
                            + "' (latchkey, latchkey-process, curator, etcd, redisson-always, redisson-everysec, shedlock, http-floor, pg-advisory)");
                };
                if (contender.isPresent()) {
                    contenders.add(contender.get());
                } else {
                    System.err.println("skipped " + name.trim() + ": " + Peers.missing(name.trim().startsWith("redisson") ? "redis" : name.trim()));
                }
            }
            try {
                for (Contender c : contenders) {
                    // an unreported warm-up, so that no contender's cells measure its JIT compiling: -Dwarmup=S
                    // seconds of it (default 30), half in 8-client cells on distinct locks, half on a hot lock. (With
                    // 8 s, C2 was still compiling Latchkey's path 25-35 s into a run, and identical runs of a cell
                    // differed by up to 1.8x; with 30 s, by a few per cent. See docs/benchmarks.md, #19's sixth part.)
                    Duration half = Duration.ofSeconds(Math.max(1, Long.getLong("warmup", DEFAULT_WARM_UP_SECONDS) / 2));
                    measure(c, "distinct", 8, half);
                    measure(c, "hot", 8, half);
                    for (String mode : System.getProperty("locks", "distinct,hot").split(",")) {
                        for (int clients : clientCounts) {
                            c.beforeCell();
                            cells.add(measure(c, mode, clients, perCell));
                            // (the cell's span: its measured time and the unreported start before it)
                            long span = perCell.toNanos() + Math.min(perCell.toNanos() / 5, TimeUnit.SECONDS.toNanos(1));
                            String detail = c.afterCell(span / 1e9);
                            if (detail != null) {
                                System.err.println(c.name() + " " + mode + " " + clients + ": " + detail);
                            }
                        }
                    }
                }
            } finally {
                for (Contender c : contenders) {
                    c.close();
                }
            }
        }
        return cells;
    }

    /** Coordinators on the store that serve nobody (-Dstandby=N), each in a JVM of its own, stopped with the run. */
    private record Standby(List<Peers.Peer> coordinators) implements AutoCloseable {
        static Standby start(int count, BenchDatabase db) throws Exception {
            List<Peers.Peer> started = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                started.add(Peers.coordinator(db.url(), db.user(), db.password()));
            }
            if (count > 0) {
                System.err.println(count + " standby coordinator(s) on the store, serving nobody");
            }
            return new Standby(started);
        }

        @Override
        public void close() {
            coordinators.forEach(Peers.Peer::close);
        }
    }

    /** How long the HTTP floor's client waits for an answer before its cell fails. */
    private static final Duration FLOOR_TIMEOUT = Duration.ofSeconds(30);

    static Cell measure(Contender contender, String mode, int clients, Duration duration) throws Exception {
        List<Contender.Client> handles = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            handles.add(contender.client(i));
        }
        long[][] latencies = new long[clients][];
        int[] counts = new int[clients];
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        CountDownLatch ready = new CountDownLatch(clients);
        long[] warmUpEnd = new long[1]; // set once every client has done its first round
        for (int i = 0; i < clients; i++) {
            int index = i;
            threads.add(Thread.ofPlatform().start(() -> {
                long[] lat = new long[1 << 16];
                int n = 0;
                String lock = mode.equals("hot") ? "hot" : "lock-" + index;
                try {
                    try {
                        handles.get(index).lockUnlock(lock); // one untimed round first: creates the lock, opens the path
                    } finally {
                        ready.countDown();
                    }
                    start.await();
                    long end = warmUpEnd[0] + duration.toNanos();
                    while (true) {
                        long t0 = System.nanoTime();
                        if (t0 >= end) {
                            break;
                        }
                        handles.get(index).lockUnlock(lock);
                        long t1 = System.nanoTime();
                        if (t0 >= warmUpEnd[0]) {
                            if (n == lat.length) {
                                lat = Arrays.copyOf(lat, n * 2);
                            }
                            lat[n++] = t1 - t0;
                        }
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(contender.name() + " failed: " + e, e);
                }
                latencies[index] = Arrays.copyOf(lat, n);
                counts[index] = n;
            }));
        }
        ready.await();
        warmUpEnd[0] = System.nanoTime() + Math.min(duration.toNanos() / 5, TimeUnit.SECONDS.toNanos(1));
        start.countDown();
        TimeUnit.NANOSECONDS.sleep(Math.max(0, warmUpEnd[0] - System.nanoTime()));
        long cpuBefore = busyCpuTicks();
        TimeUnit.NANOSECONDS.sleep(Math.max(0, warmUpEnd[0] + duration.toNanos() - System.nanoTime()));
        long cpuAfter = busyCpuTicks();
        for (Thread t : threads) {
            t.join();
        }
        for (Contender.Client h : handles) {
            h.close();
        }
        long[] all = Arrays.stream(latencies).flatMapToLong(Arrays::stream).sorted().toArray();
        long done = Arrays.stream(counts).sum();
        double ops = done / (duration.toNanos() / 1e9);
        double cpuMillisPerOp = cpuBefore < 0 || cpuAfter < 0 || done == 0 ? Double.NaN : (cpuAfter - cpuBefore) * MILLIS_PER_TICK / done;
        return new Cell(contender.name(), mode, clients, ops, pct(all, 50), pct(all, 99), cpuMillisPerOp);
    }

    /** /proc/stat counts in USER_HZ ticks, 100 a second on Linux. */
    private static final double MILLIS_PER_TICK = 10.0;

    /** Busy CPU ticks of the whole machine so far (user, nice, system, irq, softirq, steal), or -1 where unknown. */
    static long busyCpuTicks() {
        try {
            String[] f = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat")).get(0).trim().split("\\s+");
            // cpu user nice system idle iowait irq softirq steal ...
            return Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]) + Long.parseLong(f[6]) + Long.parseLong(f[7])
                    + (f.length > 8 ? Long.parseLong(f[8]) : 0);
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    private static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))] / 1e6;
    }

    /** One benchmark client of Latchkey: a session of its own, each round an acquire and a release over its channel. */
    private static Contender.Client sessionClient(LatchkeyClient client) {
        Session session = client.openSession(Session.Options.defaults().cache(false));
        return new Contender.Client() {
            public void lockUnlock(String lock) {
                try (Lease lease = session.acquire("/bench/" + lock, Duration.ofSeconds(30))) {
                    lease.sequencer();
                }
            }

            public void close() {
                session.close();
            }
        };
    }

    /** As {@link #latchkey}, with the coordinator in a JVM of its own (as ZooKeeper is for Curator). */
    static Contender latchkeyProcess(String url, String user, String password) throws Exception {
        Peers.Peer server = Peers.coordinator(url, user, password);
        LatchkeyClient client = LatchkeyClient.connect(server.endpoint());
        return new Contender() {
            public String name() {
                return "latchkey-process";
            }

            public Client client(int index) {
                return sessionClient(client);
            }

            public void close() {
                client.close();
                server.close();
            }
        };
    }

    static Contender latchkey(String url, String user, String password) {
        Coordinator coordinator = new Coordinator(new StoreConfig(url, user, password, 40), Coordinator.Settings.defaults());
        HttpApi api = new HttpApi(coordinator);
        LatchkeyClient client = LatchkeyClient.connect("http://127.0.0.1:" + api.start("127.0.0.1", 0));
        return new Contender() {
            public String name() {
                return "latchkey";
            }

            public Client client(int index) {
                return sessionClient(client);
            }

            Store.BatchStats last = coordinator.store().batchStats();
            long lingeredBefore = coordinator.store().lingered();

            public void beforeCell() {
                last = coordinator.store().batchStats();
                lingeredBefore = coordinator.store().lingered();
            }

            /** The writer over the cell (and the one round of each client before it): batches, their size, where their time went. */
            public String afterCell(double seconds) {
                Store.BatchStats now = coordinator.store().batchStats();
                Store.BatchStats d = now.minus(last);
                if (d.batches() == 0) {
                    return null;
                }
                double per = d.batches() * 1e6; // (nanoseconds per batch, in ms)
                return String.format(java.util.Locale.ROOT,
                        "writer: %,d batches, %.1f operations each, %.0f %% from memory (%,d stale); per batch %.3f ms head and first read,"
                                + " %.3f ms writes and commit, %.3f ms in all; busy %.0f %% of the cell; %,d arrivals joined a held batch",
                        d.batches(), (double) d.operations() / d.batches(), 100.0 * d.fromMemory() / d.batches(), d.staleMemory(),
                        d.headNanos() / per, d.commitNanos() / per, d.totalNanos() / per, 100 * d.totalNanos() / 1e9 / seconds,
                        coordinator.store().lingered() - lingeredBefore);
            }

            public void close() {
                client.close();
                api.close();
                coordinator.close();
            }
        };
    }

    /** Curator's InterProcessMutex on ZooKeeper running as its own process (forceSync=yes), not in this JVM. */
    static Contender curator() throws Exception {
        Peers.Peer zk = Peers.zookeeper();
        CuratorFramework framework = CuratorFrameworkFactory.newClient(zk.endpoint(), new ExponentialBackoffRetry(100, 3));
        framework.start();
        framework.blockUntilConnected();
        return new Contender() {
            public String name() {
                return "curator";
            }

            public Client client(int index) {
                java.util.Map<String, InterProcessMutex> mutexes = new java.util.HashMap<>();
                return lock -> {
                    InterProcessMutex m = mutexes.computeIfAbsent(lock, l -> new InterProcessMutex(framework, "/bench/" + l));
                    m.acquire();
                    m.release();
                };
            }

            public void close() throws Exception {
                framework.close();
                zk.close();
            }
        };
    }

    /**
     * etcd's v3 lock service (jetcd's {@code Lock}): each client holds a lease (TTL 10 s, kept alive)
     * and locks with it; the lock is a key under the name, owned by the lease, so it goes with the
     * lease if the client dies. etcd as its own process, one member, fsync per commit.
     */
    static Optional<Contender> etcd() throws Exception {
        Optional<Peers.Peer> peer = Peers.etcd();
        if (peer.isEmpty()) {
            return Optional.empty();
        }
        io.etcd.jetcd.Client client = io.etcd.jetcd.Client.builder().endpoints(peer.get().endpoint()).build();
        return Optional.of(new Contender() {
            public String name() {
                return "etcd";
            }

            public Client client(int index) throws Exception {
                long lease = client.getLeaseClient().grant(10).get().getID();
                var keepAlive = client.getLeaseClient().keepAlive(lease, io.etcd.jetcd.support.Observers.observer(r -> { }));
                return new Client() {
                    public void lockUnlock(String lock) throws Exception {
                        var held = client.getLockClient().lock(bytes("/bench/" + lock), lease).get(30, TimeUnit.SECONDS);
                        client.getLockClient().unlock(held.getKey()).get(30, TimeUnit.SECONDS);
                    }

                    public void close() throws Exception {
                        keepAlive.close();
                        client.getLeaseClient().revoke(lease).get(10, TimeUnit.SECONDS);
                    }
                };
            }

            public void close() {
                client.close();
                peer.get().close();
            }
        });
    }

    private static io.etcd.jetcd.ByteSequence bytes(String s) {
        return io.etcd.jetcd.ByteSequence.from(s, java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * Redisson's {@code RLock} (the most used Java distributed lock) on Redis as its own process,
     * its append-only file synced as {@code appendfsync} says: {@code always} (every write durable
     * before it is acknowledged) or {@code everysec} (Redis's default: up to a second lost on a crash).
     */
    static Optional<Contender> redisson(String appendfsync) throws Exception {
        Optional<Peers.Peer> peer = Peers.redis(appendfsync);
        if (peer.isEmpty()) {
            return Optional.empty();
        }
        org.redisson.config.Config config = new org.redisson.config.Config();
        config.useSingleServer().setAddress("redis://" + peer.get().endpoint()).setConnectionPoolSize(64).setConnectionMinimumIdleSize(8);
        org.redisson.api.RedissonClient redisson = org.redisson.Redisson.create(config);
        String name = "redisson-" + appendfsync;
        return Optional.of(new Contender() {
            public String name() {
                return name;
            }

            public Client client(int index) {
                return lock -> {
                    org.redisson.api.RLock l = redisson.getLock("bench:" + lock);
                    l.lock(30, TimeUnit.SECONDS);
                    l.unlock();
                };
            }

            public void close() {
                redisson.shutdown();
                peer.get().close();
            }
        });
    }

    static Contender shedLock(HikariDataSource pool) throws Exception {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE shedlock (name VARCHAR(64) PRIMARY KEY, lock_until TIMESTAMP NOT NULL, locked_at TIMESTAMP NOT NULL, "
                    + "locked_by VARCHAR(255) NOT NULL)");
        }
        JdbcLockProvider provider = new JdbcLockProvider(pool);
        return new Contender() {
            public String name() {
                return "shedlock";
            }

            public Client client(int index) {
                return lock -> {
                    while (true) { // ShedLock never waits: a busy lock is retried
                        Optional<SimpleLock> held = provider.lock(new LockConfiguration(Instant.now(), lock, Duration.ofSeconds(30), Duration.ZERO));
                        if (held.isPresent()) {
                            held.get().unlock();
                            return;
                        }
                        Thread.onSpinWait();
                    }
                };
            }

            public void close() {
            }
        };
    }

    /**
     * The least a lock service reached over HTTP and keeping its locks durably in SQL can do: a
     * Javalin endpoint (the coordinator's HTTP stack, virtual threads) whose acquire is one
     * auto-committed {@code INSERT … ON CONFLICT DO NOTHING} and whose release is one {@code DELETE},
     * called with the JDK HTTP client as Latchkey's client does. No sessions, no queue, no
     * generations, no events: ShedLock's work plus one HTTP hop. Any design of that shape (HTTP, a
     * durable write per operation) is bounded by it.
     */
    static Contender httpFloor(HikariDataSource pool) throws Exception {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE floor_lock (name VARCHAR(200) PRIMARY KEY)");
        }
        io.javalin.Javalin app = io.javalin.Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.useVirtualThreads = true;
            config.startupWatcherEnabled = false;
        });
        app.post("/lock/{name}", ctx -> {
            try (Connection c = pool.getConnection();
                    PreparedStatement insert = c.prepareStatement("INSERT INTO floor_lock (name) VALUES (?) ON CONFLICT DO NOTHING")) {
                insert.setString(1, ctx.pathParam("name"));
                ctx.status(insert.executeUpdate() == 1 ? 200 : 409);
            }
        });
        app.delete("/lock/{name}", ctx -> {
            try (Connection c = pool.getConnection(); PreparedStatement delete = c.prepareStatement("DELETE FROM floor_lock WHERE name = ?")) {
                delete.setString(1, ctx.pathParam("name"));
                ctx.status(delete.executeUpdate() == 1 ? 204 : 404);
            }
        });
        app.start("127.0.0.1", 0);
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
        String base = "http://127.0.0.1:" + app.port() + "/lock/";
        return new Contender() {
            public String name() {
                return "http-floor";
            }

            public Client client(int index) {
                return lock -> {
                    java.net.URI uri = java.net.URI.create(base + lock);
                    // (a time limit: once in a run, a request of this contender's was never answered, and its cell waited for ever)
                    while (http.send(java.net.http.HttpRequest.newBuilder(uri).timeout(FLOOR_TIMEOUT).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode() != 200) {
                        Thread.onSpinWait(); // busy: retried at once, as ShedLock's
                    }
                    int released = http.send(java.net.http.HttpRequest.newBuilder(uri).timeout(FLOOR_TIMEOUT).DELETE().build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
                    if (released != 204) {
                        throw new IllegalStateException("release answered " + released);
                    }
                };
            }

            public void close() {
                http.close();
                app.stop();
            }
        };
    }

    static Contender pgAdvisory(HikariDataSource pool) {
        return new Contender() {
            public String name() {
                return "pg-advisory";
            }

            public Client client(int index) throws Exception {
                Connection c = pool.getConnection();
                PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_lock(?)");
                PreparedStatement unlock = c.prepareStatement("SELECT pg_advisory_unlock(?)");
                return new Client() {
                    public void lockUnlock(String name) throws Exception {
                        long key = name.hashCode();
                        lock.setLong(1, key);
                        lock.executeQuery().close();
                        unlock.setLong(1, key);
                        unlock.executeQuery().close();
                    }

                    public void close() throws Exception {
                        c.close();
                    }
                };
            }

            public void close() {
            }
        };
    }

    static String markdown(List<Cell> cells) {
        StringBuilder sb = new StringBuilder("| contender | locks | clients | ops/s | p50 ms | p99 ms | CPU ms/op (machine) | latchkey ÷ this |\n"
                + "|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (Cell c : cells) {
            Cell mine = cells.stream().filter(x -> x.contender().equals("latchkey") && x.mode().equals(c.mode()) && x.clients() == c.clients())
                    .findFirst().orElse(c);
            sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %,.0f | %.2f | %.2f | %.2f | %.2f |%n", c.contender(), c.mode(), c.clients(),
                    c.opsPerSecond(), c.p50Millis(), c.p99Millis(), c.cpuMillisPerOp(), mine.opsPerSecond() / Math.max(1e-9, c.opsPerSecond())));
        }
        return sb.toString();
    }
}
