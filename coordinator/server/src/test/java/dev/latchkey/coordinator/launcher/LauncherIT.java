package dev.latchkey.coordinator.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Regression: the README started the coordinator with {@code java -jar …}, which fails with
 * UnsupportedClassVersionError where the default {@code java} is older than 21. The README's
 * command, {@code bin/latchkey serve}, runs here with JAVA_HOME unset and (where the machine has
 * one) a JDK 17 first on the PATH: the launcher must find a newer JDK by itself.
 */
class LauncherIT {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent().getParent(); // coordinator/server -> project root
    private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");

    @Test
    void theReadmesServeCommandRunsWhereTheDefaultJavaIsOlder() throws Exception {
        // the README's own line, e.g. "bin/latchkey serve   # embedded H2, http://127.0.0.1:7700"
        String readmeLine = Files.readAllLines(ROOT.resolve("README.md")).stream().filter(l -> l.matches("^\\S.*\\bserve\\b.*")).findFirst()
                .orElseThrow(() -> new AssertionError("the README has no coordinator serve command"));
        Path data = Files.createTempDirectory("latchkey-launcher");
        // through a shell, as a user types it: the shell finds "java" (or the script) on the PATH given below
        String command = readmeLine.replaceAll("#.*", "").trim() + " --port 0 --data-dir '" + data + "'";
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "exec " + command).directory(ROOT.toFile());
        Map<String, String> env = pb.environment();
        env.remove("JAVA_HOME");
        Path old = Path.of("/usr/lib/jvm/java-17-openjdk-amd64/bin");
        if (Files.isExecutable(old.resolve("java"))) {
            env.put("PATH", old + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
        }
        pb.redirectErrorStream(true);
        Process p = pb.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            StringBuilder seen = new StringBuilder();
            String url = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (String line; url == null && System.nanoTime() < deadline && (line = out.readLine()) != null; ) {
                seen.append(line).append('\n');
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    url = m.group(1);
                }
            }
            assertThat(url).as("the coordinator's output:\n" + seen).isNotNull();
            assertThat(seen).doesNotContain("UnsupportedClassVersionError");
            var client = java.net.http.HttpClient.newHttpClient();
            var health = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "/v1/health")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }
}
