package dev.latchkey.coordinator.failover;

import dev.latchkey.testing.TestSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** The repository's stack scripts ({@code bin/pg-pair}, {@code bin/ha}), run from the tests as an operator runs them. */
final class Scripts {

    private Scripts() {
    }

    /** Skips the test, saying why, when {@code installed} is false; under {@code CI=true} that fails it instead. */
    static void require(boolean installed, String why) {
        if (!installed) {
            if (TestSettings.fromEnvironment().ci()) {
                throw new IllegalStateException(why + " (CI=true requires this test; .ci/run installs it)");
            }
            Assumptions.abort(why);
        }
    }

    /** Whether a command is on the PATH. */
    static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }

    /** A scratch folder the servers, which run as the postgres user when the tests run as root, may enter. */
    static Path scratch(String prefix) throws java.io.IOException {
        Path parent = Files.createTempDirectory(prefix);
        Files.setPosixFilePermissions(parent, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        return parent;
    }

    /** Runs {@code bin/<script> args…} and returns what it printed; fails with its output when it fails or overruns. */
    static String run(String script, int timeoutSeconds, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", find(script).toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String name = "bin/" + script + " " + String.join(" ", args);
        // read while it runs: a script that fills the pipe would otherwise never finish
        var out = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                return "(output unreadable: " + e + ")";
            }
        });
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(name + " took longer than " + timeoutSeconds + " s");
        }
        String text = out.get(5, TimeUnit.SECONDS);
        if (p.exitValue() != 0) {
            throw new IllegalStateException(name + " failed:\n" + text);
        }
        return text;
    }

    private static Path find(String script) {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path candidate = d.resolve("bin").resolve(script);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("bin/" + script + " not found above " + Path.of("").toAbsolutePath());
    }
}
