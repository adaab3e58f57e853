package dev.latchkey.coordinator.failover;

import dev.latchkey.testing.TestSettings;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A PostgreSQL primary with a synchronous standby, each on a port and data folder of its own,
 * started by the repository's {@code bin/pg-pair} script (the same one docs/operations.md shows).
 * Where no PostgreSQL server binaries are installed the test is skipped, saying so, except under
 * {@code CI=true}, where that fails it.
 */
final class PgPair implements AutoCloseable {

    private final Path script;
    private final Path dir;
    final int primaryPort;
    final int standbyPort;

    private PgPair(Path script, Path dir, int primaryPort, int standbyPort) {
        this.script = script;
        this.dir = dir;
        this.primaryPort = primaryPort;
        this.standbyPort = standbyPort;
    }

    static PgPair start() throws Exception {
        Path script = findScript();
        boolean binaries;
        try (var dirs = Files.list(Path.of("/usr/lib/postgresql"))) {
            binaries = dirs.anyMatch(d -> Files.isExecutable(d.resolve("bin/initdb")));
        } catch (IOException e) {
            binaries = System.getenv("PG_BIN") != null;
        }
        String why = "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql: install Debian's postgresql package or set PG_BIN";
        if (!binaries) {
            if (TestSettings.fromEnvironment().ci()) {
                throw new IllegalStateException(why + " (CI=true requires the failover test)");
            }
            Assumptions.abort(why);
        }
        Path parent = Files.createTempDirectory("latchkey-pg-pair-");
        // the servers run as another user (postgres) when the tests run as root
        Files.setPosixFilePermissions(parent, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path dir = parent.resolve("pair");
        int[] ports = freePorts(2);
        PgPair pair = new PgPair(script, dir, ports[0], ports[1]);
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
        List<String> command = new ArrayList<>(List.of("bash", script.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("bin/pg-pair " + String.join(" ", args) + " took longer than " + timeoutSeconds + " s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IllegalStateException("bin/pg-pair " + String.join(" ", args) + " failed:\n" + out);
        }
        return out;
    }

    private static Path findScript() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path candidate = d.resolve("bin/pg-pair");
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("bin/pg-pair not found above " + Path.of("").toAbsolutePath());
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
