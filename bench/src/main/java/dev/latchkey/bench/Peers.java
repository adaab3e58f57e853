package dev.latchkey.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The systems users would pick instead of Latchkey, each started by the benchmark as a process of
 * its own on a free loopback port with its data in a scratch folder, and stopped (and the folder
 * removed) when closed. Durable settings are stated by {@link Peer#durability()}:
 *
 * <ul>
 *   <li>etcd (Debian's {@code etcd-server}, 3.4): fsync of the WAL per commit, as shipped;</li>
 *   <li>Redis (Debian's {@code redis-server}, 7.0): append-only file with {@code appendfsync always}
 *       or the default {@code everysec} (up to a second of acknowledged writes lost on a crash);</li>
 *   <li>ZooKeeper 3.9 (the jar on this classpath, in a child JVM): {@code forceSync=yes}, as shipped.</li>
 * </ul>
 *
 * A peer that is not installed is {@link Optional#empty()}, with {@link #missing} saying how to
 * install it.
 */
public final class Peers {

    private Peers() {
    }

    /** A running peer. */
    public static final class Peer implements AutoCloseable {
        private final String name;
        private final String durability;
        private final String endpoint;
        private final Process process;
        private final Path data;

        /** Stops the server if the benchmark is stopped (Ctrl-C, SIGTERM) before it closes the peer. */
        private final Thread stopOnExit;

        Peer(String name, String durability, String endpoint, Process process, Path data) {
            this.name = name;
            this.durability = durability;
            this.endpoint = endpoint;
            this.process = process;
            this.data = data;
            this.stopOnExit = new Thread(() -> {
                process.destroyForcibly();
                deleteQuietly(data);
            }, "stop-" + name);
            Runtime.getRuntime().addShutdownHook(stopOnExit);
        }

        public String name() {
            return name;
        }

        /** How durable an acknowledged write is, in the peer's own words. */
        public String durability() {
            return durability;
        }

        /** host:port (ZooKeeper, Redis) or a URL (etcd). */
        public String endpoint() {
            return endpoint;
        }

        /** The server's process id, for CPU accounting. */
        public long pid() {
            return process.pid();
        }

        @Override
        public void close() {
            try {
                Runtime.getRuntime().removeShutdownHook(stopOnExit);
            } catch (IllegalStateException exiting) {
                // the hook is running or about to
            }
            process.destroy();
            try {
                if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            deleteQuietly(data);
        }
    }

    /** Where each peer comes from. */
    public static String missing(String peer) {
        return switch (peer) {
            case "etcd" -> "etcd is not installed (apt-get install etcd-server)";
            case "redis" -> "redis-server is not installed (apt-get install redis-server)";
            default -> peer + " is not installed";
        };
    }

    /** etcd, one member, on free loopback ports; empty when {@code etcd} is not on the PATH. */
    public static Optional<Peer> etcd() throws IOException, InterruptedException {
        Optional<Path> binary = onPath("etcd");
        if (binary.isEmpty()) {
            return Optional.empty();
        }
        Path data = Files.createTempDirectory("bench-etcd");
        int client = freePort();
        int peer = freePort();
        String clientUrl = "http://127.0.0.1:" + client;
        String peerUrl = "http://127.0.0.1:" + peer;
        Process p = start(data, List.of(binary.get().toString(), "--name", "bench", "--data-dir", data.resolve("member").toString(),
                "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl, "--listen-peer-urls", peerUrl,
                "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", "bench=" + peerUrl, "--initial-cluster-state", "new",
                "--log-level", "error"));
        awaitPort(p, client, "etcd", data);
        return Optional.of(new Peer("etcd", "etcd 3.4, one member, WAL fsync per commit (as shipped)", clientUrl, p, data));
    }

    /**
     * Redis with its append-only file synced {@code always} (every write) or {@code everysec}
     * (the default: once a second); empty when {@code redis-server} is not on the PATH.
     */
    public static Optional<Peer> redis(String appendfsync) throws IOException, InterruptedException {
        return redis(appendfsync, false);
    }

    /** As above; with {@code keyspaceEvents}, Redis publishes keyspace notifications for string writes (K$). */
    public static Optional<Peer> redis(String appendfsync, boolean keyspaceEvents) throws IOException, InterruptedException {
        Optional<Path> binary = onPath("redis-server");
        if (binary.isEmpty()) {
            return Optional.empty();
        }
        Path data = Files.createTempDirectory("bench-redis");
        int port = freePort();
        Process p = start(data, List.of(binary.get().toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1", "--dir",
                data.toString(), "--appendonly", "yes", "--appendfsync", appendfsync, "--save", "", "--protected-mode", "yes",
                "--daemonize", "no", "--logfile", "", "--notify-keyspace-events", keyspaceEvents ? "K$" : ""));
        awaitPort(p, port, "redis-server", data);
        return Optional.of(new Peer("redis-" + appendfsync, "Redis 7.0, append-only file, appendfsync " + appendfsync,
                "127.0.0.1:" + port, p, data));
    }

    /** ZooKeeper standalone in a child JVM (the server classes on this classpath), forceSync=yes. */
    public static Peer zookeeper() throws IOException, InterruptedException {
        Path data = Files.createTempDirectory("bench-zookeeper");
        int port = freePort();
        Path config = data.resolve("zoo.cfg");
        Files.writeString(config, "tickTime=2000\ndataDir=" + data.resolve("data") + "\nclientPort=" + port
                + "\nclientPortAddress=127.0.0.1\nforceSync=yes\nadmin.enableServer=false\nmaxClientCnxns=0\n"
                + "4lw.commands.whitelist=ruok\n");
        String launcher = ProcessHandle.current().info().command().orElse("java");
        String classPath = absoluteClassPath(); // (the server runs in its scratch folder)
        Process p = start(data, List.of(launcher, "-Xmx512m", "-Dzookeeper.jmx.log4j.disable=true", "-cp", classPath,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", config.toString()));
        awaitPort(p, port, "ZooKeeper", data);
        return new Peer("zookeeper", "ZooKeeper 3.9 in its own JVM, forceSync=yes (as shipped)", "127.0.0.1:" + port, p, data);
    }

    /**
     * A Latchkey coordinator in its own JVM ({@code Main serve}, the same heap limit as ZooKeeper's
     * here), on the benchmark's store: a server process as every other contender's server is, so that
     * the clients' garbage and the server's share no collector.
     */
    public static Peer coordinator(String jdbcUrl, String user, String password) throws IOException, InterruptedException {
        Path data = Files.createTempDirectory("bench-coordinator");
        int port = freePort();
        String launcher = ProcessHandle.current().info().command().orElse("java");
        String classPath = absoluteClassPath();
        Process p = start(data, List.of(launcher, "-Xmx512m", "-cp", classPath, "dev.latchkey.coordinator.Main", "serve", "--port",
                Integer.toString(port), "--pool-size", "40", "--db-url", jdbcUrl, "--db-user", user, "--db-password", password == null ? "" : password));
        awaitPort(p, port, "the coordinator", data);
        return new Peer("coordinator", "its store's commit (PostgreSQL, synchronous_commit = on)", "http://127.0.0.1:" + port, p, data);
    }

    /** This JVM's class path with every entry made absolute, for a server that runs in a scratch folder. */
    private static String absoluteClassPath() {
        return java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .map(e -> Path.of(e).toAbsolutePath().toString()).collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

    private static Process start(Path data, List<String> command) throws IOException {
        return new ProcessBuilder(new ArrayList<>(command)).directory(data.toFile()).redirectErrorStream(true)
                .redirectOutput(data.resolve("server.log").toFile()).start();
    }

    /** Waits until the peer listens; if it does not, stops it and removes its scratch folder (with its log: the message says how it ended). */
    private static void awaitPort(Process p, int port, String what, Path data) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String failure = what + " did not listen on port " + port + " within 30 s";
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                failure = what + " exited at start with code " + p.exitValue() + ": " + lastLines(data.resolve("server.log"));
                break;
            }
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        p.destroyForcibly().waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
        deleteQuietly(data);
        throw new IOException(failure);
    }

    private static String lastLines(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        } catch (IOException | RuntimeException e) {
            return "(no log)";
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static Optional<Path> onPath(String binary) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path candidate = Path.of(dir, binary);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        for (String dir : List.of("/usr/bin", "/usr/sbin", "/usr/local/bin")) {
            Path candidate = Path.of(dir, binary);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // a scratch folder left behind is not worth failing a benchmark for
        }
    }
}
