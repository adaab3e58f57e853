package dev.latchkey.coordinator.failover;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A PostgreSQL primary with a synchronous standby, each on a port and data folder of its own,
 * started by the repository's {@code bin/pg-pair} script (the same one docs/operations.md shows).
 * Where no PostgreSQL server binaries are installed the test is skipped, saying so, except under
 * {@code CI=true}, where that fails it.
 */
final class PgPair implements AutoCloseable {

    private final Path dir;
    final int primaryPort;
    final int standbyPort;

    private PgPair(Path dir, int primaryPort, int standbyPort) {
        this.dir = dir;
        this.primaryPort = primaryPort;
        this.standbyPort = standbyPort;
    }

    static PgPair start() throws Exception {
        boolean binaries;
        try (var dirs = Files.list(Path.of("/usr/lib/postgresql"))) {
            binaries = dirs.anyMatch(d -> Files.isExecutable(d.resolve("bin/initdb")));
        } catch (IOException e) {
            binaries = System.getenv("PG_BIN") != null;
        }
        Scripts.require(binaries, "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql: install Debian's postgresql package or set PG_BIN");
        Path dir = Scripts.scratch("latchkey-pg-pair-").resolve("pair");
        int[] ports = freePorts(2);
        PgPair pair = new PgPair(dir, ports[0], ports[1]);
        pair.run(120, "start", dir.toString(), Integer.toString(ports[0]), Integer.toString(ports[1]));
        return pair;
    }

    /** The URL a coordinator uses: both servers, whichever is the primary. */
    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + primaryPort + ",127.0.0.1:" + standbyPort
                + "/latchkey?targetServerType=primary&hostRecheckSeconds=1&connectTimeout=2&socketTimeout=30";
    }

    void killPrimary() throws Exception {
        run(30, "kill-primary", dir.toString());
    }

    void promote() throws Exception {
        run(90, "promote", dir.toString());
    }

    String status() throws Exception {
        return run(30, "status", dir.toString());
    }

    private String run(int timeoutSeconds, String... args) throws Exception {
        return Scripts.run("pg-pair", timeoutSeconds, args);
    }

    private static int[] freePorts(int n) throws IOException {
        int[] ports = new int[n];
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0);
                held.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        return ports;
    }

    @Override
    public void close() throws Exception {
        run(60, "stop", dir.toString());
        Files.deleteIfExists(dir.getParent());
    }
}
