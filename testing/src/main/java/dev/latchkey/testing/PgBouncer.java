package dev.latchkey.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * One PgBouncer per test JVM, in transaction mode in front of the local PostgreSQL server, started
 * by the repository's {@code bin/ha pgbouncer} when the first test database asks for it and
 * stopped when the JVM exits.
 */
final class PgBouncer {

    private static int port;

    private PgBouncer() {
    }

    static synchronized int port() {
        if (port == 0) {
            boolean installed = java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
                    .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, "pgbouncer")));
            if (!installed) {
                String why = "LATCHKEY_TEST_PG_POOLER=pgbouncer, but PgBouncer is not installed (apt-get install pgbouncer)";
                if (TestSettings.fromEnvironment().ci()) {
                    throw new IllegalStateException(why + "; CI=true requires it");
                }
                throw new org.opentest4j.TestAbortedException(why);
            }
            try {
                Path dir = Files.createTempDirectory("latchkey-pgbouncer-");
                Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
                Path stack = dir.resolve("pgbouncer");
                port = Integer.parseInt(run("start", stack.toString()).strip().lines().reduce((a, b) -> b).orElseThrow());
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        run("stop", stack.toString());
                        Files.deleteIfExists(dir);
                    } catch (Exception e) {
                        System.err.println("could not stop PgBouncer: " + e.getMessage());
                    }
                }));
            } catch (Exception e) {
                throw new IllegalStateException("PgBouncer did not start (apt-get install pgbouncer): " + e.getMessage(), e);
            }
        }
        return port;
    }

    private static String run(String... args) throws Exception {
        Path script = null;
        for (Path d = Path.of("").toAbsolutePath(); d != null && script == null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("bin/ha"))) {
                script = d.resolve("bin/ha");
            }
        }
        if (script == null) {
            throw new IllegalStateException("bin/ha not found above " + Path.of("").toAbsolutePath());
        }
        String[] command = new String[args.length + 3];
        command[0] = "bash";
        command[1] = script.toString();
        command[2] = "pgbouncer";
        System.arraycopy(args, 0, command, 3, args.length);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("bin/ha pgbouncer " + String.join(" ", args) + " failed: " + new String(out, StandardCharsets.UTF_8));
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
