package dev.latchkey.bench;

import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.LeaderElection;
import dev.latchkey.client.Sequencer;
import dev.latchkey.client.Session;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.HttpApi;
import dev.latchkey.coordinator.store.StoreConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * Failover timing: a leader process is killed with SIGKILL; how long until the standby (another
 * process, already campaigning) is leader? The Latchkey coordinator's election (store on
 * PostgreSQL) against Curator's {@code LeaderLatch} on ZooKeeper and etcd's election service, each
 * peer a process of its own, with the same session timeout everywhere (4 s; ZooKeeper's tickTime is
 * its usual 2 s, so a 4 s session is allowed; etcd's lease TTL is 4 s).
 *
 * <p>Neither side can tell a dead leader from a slow one before its session times out, so the time
 * is bounded below by what remains of the dead leader's last lease: between two thirds of the
 * timeout and all of it, plus the service's own detection and hand-over.
 *
 * <pre>java -cp bench/target/latchkey-bench.jar dev.latchkey.bench.FailoverTiming [rounds]</pre>
 */
public final class FailoverTiming {

    static final Duration SESSION_TIMEOUT = Duration.ofSeconds(4);
    private static final String ELECTED = "ELECTED";

    /** Milliseconds from the kill to the standby's election, one per round. */
    public record Result(String system, long[] millis) {
        public long median() {
            long[] sorted = millis.clone();
            Arrays.sort(sorted);
            return sorted[sorted.length / 2];
        }

        public long min() {
            return Arrays.stream(millis).min().orElse(0);
        }

        public long max() {
            return Arrays.stream(millis).max().orElse(0);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("candidate")) {
            candidate(args[1], args[2]);
            return;
        }
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        Result latchkey;
        try (BenchDatabase db = BenchDatabase.create()) {
            latchkey = latchkey(db.url(), db.user(), db.password(), rounds);
        }
        Result zookeeper = zookeeper(rounds);
        List<Result> results = new ArrayList<>(List.of(latchkey, zookeeper));
        etcd(rounds).ifPresentOrElse(results::add, () -> System.err.println("skipped etcd: " + Peers.missing("etcd")));
        System.out.println(markdown(results));
        String svg = System.getProperty("svg");
        if (svg != null) {
            List<SvgBarChart.Bar> bars = results.stream().map(r -> new SvgBarChart.Bar(r.system(), r.median(), 0,
                    String.format(Locale.ROOT, "(min %,d, max %,d ms)", r.min(), r.max()))).toList();
            java.nio.file.Files.writeString(java.nio.file.Path.of(svg), SvgBarChart.render(
                    "Leader killed (SIGKILL) to standby elected, 4 s sessions: median", "ms", bars));
        }
    }

    public static String markdown(List<Result> results) {
        StringBuilder sb = new StringBuilder("| system | rounds | min ms | median ms | max ms | each round (ms) |\n|---|---:|---:|---:|---:|---|\n");
        for (Result r : results) {
            sb.append(String.format(Locale.ROOT, "| %s | %d | %,d | %,d | %,d | %s |%n", r.system(), r.millis().length, r.min(), r.median(),
                    r.max(), Arrays.toString(r.millis())));
        }
        return sb.toString();
    }

    /** Latchkey: a coordinator in this process, the leader in a child process, the standby here. */
    public static Result latchkey(String url, String user, String password, int rounds) throws Exception {
        try (Coordinator coordinator = new Coordinator(new StoreConfig(url, user, password, 16), Coordinator.Settings.defaults());
                HttpApi api = new HttpApi(coordinator)) {
            String base = "http://127.0.0.1:" + api.start("127.0.0.1", 0);
            long[] millis = new long[rounds];
            for (int round = 0; round < rounds; round++) {
                String election = "bench-" + round;
                Process leader = spawn("latchkey", base + "|" + election);
                try (LatchkeyClient client = LatchkeyClient.connect(base);
                        Session session = client.openSession(Session.Options.defaults().ttl(SESSION_TIMEOUT).cache(false));
                        LeaderElection standby = new LeaderElection(session, election, "standby")) {
                    CountDownLatch elected = new CountDownLatch(1);
                    long[] at = new long[1];
                    standby.addListener(new LeaderElection.Listener() {
                        @Override
                        public void elected(Sequencer sequencer) {
                            at[0] = System.nanoTime();
                            elected.countDown();
                        }
                    });
                    standby.start();
                    millis[round] = killAndWait(leader, elected, at);
                }
            }
            return new Result("latchkey election (PostgreSQL store)", millis);
        }
    }

    /** ZooKeeper: a server process of its own (tickTime 2 s), the leader in a child process, the standby here. */
    public static Result zookeeper(int rounds) throws Exception {
        try (Peers.Peer zk = Peers.zookeeper()) {
            long[] millis = new long[rounds];
            for (int round = 0; round < rounds; round++) {
                String path = "/bench-" + round;
                Process leader = spawn("zookeeper", zk.endpoint() + "|" + path);
                try (CuratorFramework framework = curator(zk.endpoint()); LeaderLatch standby = new LeaderLatch(framework, path, "standby")) {
                    CountDownLatch elected = new CountDownLatch(1);
                    long[] at = new long[1];
                    standby.addListener(new LeaderLatchListener() {
                        @Override
                        public void isLeader() {
                            at[0] = System.nanoTime();
                            elected.countDown();
                        }

                        @Override
                        public void notLeader() {
                        }
                    });
                    standby.start();
                    millis[round] = killAndWait(leader, elected, at);
                }
            }
            return new Result("curator LeaderLatch (ZooKeeper)", millis);
        }
    }

    /**
     * etcd: its election service (jetcd's {@code Election}, campaigning with a lease of the same
     * 4 s TTL, kept alive), etcd a process of its own, the leader in a child process, the standby
     * here. Empty when etcd is not installed.
     */
    public static java.util.Optional<Result> etcd(int rounds) throws Exception {
        java.util.Optional<Peers.Peer> peer = Peers.etcd();
        if (peer.isEmpty()) {
            return java.util.Optional.empty();
        }
        try (Peers.Peer etcd = peer.get(); io.etcd.jetcd.Client client = io.etcd.jetcd.Client.builder().endpoints(etcd.endpoint()).build()) {
            long[] millis = new long[rounds];
            for (int round = 0; round < rounds; round++) {
                String election = "bench-" + round;
                Process leader = spawn("etcd", etcd.endpoint() + "|" + election);
                long lease = client.getLeaseClient().grant(SESSION_TIMEOUT.toSeconds()).get().getID();
                try (var keepAlive = client.getLeaseClient().keepAlive(lease, io.etcd.jetcd.support.Observers.observer(r -> { }))) {
                    CountDownLatch elected = new CountDownLatch(1);
                    long[] at = new long[1];
                    client.getElectionClient().campaign(bytes(election), lease, bytes("standby")).thenRun(() -> {
                        at[0] = System.nanoTime();
                        elected.countDown();
                    });
                    millis[round] = killAndWait(leader, elected, at);
                }
                client.getLeaseClient().revoke(lease).get(10, TimeUnit.SECONDS);
            }
            return java.util.Optional.of(new Result("etcd election (jetcd, 4 s lease)", millis));
        }
    }

    private static io.etcd.jetcd.ByteSequence bytes(String s) {
        return io.etcd.jetcd.ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static long killAndWait(Process leader, CountDownLatch elected, long[] at) throws Exception {
        try {
            Thread.sleep(1_000); // the standby is campaigning behind the leader; the leader's session is in its steady rhythm
            if (elected.getCount() == 0) {
                throw new IllegalStateException("the standby was elected while the leader lived");
            }
            long killed = System.nanoTime();
            leader.destroyForcibly(); // SIGKILL: no goodbye, no session close
            if (!elected.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the standby was not elected within 60 s of the leader's death");
            }
            return (at[0] - killed) / 1_000_000;
        } finally {
            leader.destroyForcibly();
            leader.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static CuratorFramework curator(String connect) throws InterruptedException {
        CuratorFramework framework = CuratorFrameworkFactory.builder().connectString(connect)
                .sessionTimeoutMs((int) SESSION_TIMEOUT.toMillis()).connectionTimeoutMs(2_000)
                .retryPolicy(new ExponentialBackoffRetry(100, 3)).build();
        framework.start();
        framework.blockUntilConnected();
        return framework;
    }

    /** Starts a leader candidate in a child JVM and returns once it says it was elected. */
    private static Process spawn(String system, String target) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"), FailoverTiming.class.getName(),
                "candidate", system, target).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String line;
        while (System.nanoTime() < deadline && (line = out.readLine()) != null) {
            if (line.equals(ELECTED)) {
                Thread.ofVirtual().start(() -> out.lines().forEach(l -> { })); // keep draining
                return p;
            }
            seen.add(line);
        }
        p.destroyForcibly();
        throw new IllegalStateException("the " + system + " leader process was not elected:\n" + String.join("\n", seen));
    }

    /** The child process: campaign, say so once elected, then lead until killed. */
    private static void candidate(String system, String target) throws Exception {
        String[] parts = target.split("\\|", 2);
        if (system.equals("latchkey")) {
            LatchkeyClient client = LatchkeyClient.connect(parts[0]);
            Session session = client.openSession(Session.Options.defaults().ttl(SESSION_TIMEOUT).cache(false));
            LeaderElection election = new LeaderElection(session, parts[1], "leader");
            election.start();
            if (!election.awaitLeadership(Duration.ofSeconds(30))) {
                throw new IllegalStateException("not elected");
            }
        } else if (system.equals("etcd")) {
            io.etcd.jetcd.Client client = io.etcd.jetcd.Client.builder().endpoints(parts[0]).build();
            long lease = client.getLeaseClient().grant(SESSION_TIMEOUT.toSeconds()).get().getID();
            client.getLeaseClient().keepAlive(lease, io.etcd.jetcd.support.Observers.observer(r -> { }));
            client.getElectionClient().campaign(bytes(parts[1]), lease, bytes("leader")).get(30, TimeUnit.SECONDS);
        } else {
            CuratorFramework framework = curator(parts[0]);
            LeaderLatch latch = new LeaderLatch(framework, parts[1], "leader");
            latch.start();
            if (!latch.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("not elected");
            }
        }
        System.out.println(ELECTED);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
