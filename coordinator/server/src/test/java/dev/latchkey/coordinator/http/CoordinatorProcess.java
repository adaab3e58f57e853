package dev.latchkey.coordinator.http;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A coordinator in a separate JVM ({@code Main serve}), on the same database as the test's. */
public final class CoordinatorProcess implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on (http://[^ ]+)");
    /** Everything the process printed (it is drained all along). */
    final StringBuffer output = new StringBuffer();
    private final Process process;
    public final Api api;

    /** On the test's database; through PgBouncer, told so ({@code --db-pooled}), as Harness tells its coordinator. */
    CoordinatorProcess(String jdbcUrl, String user, String password) throws Exception {
        this(dev.latchkey.testing.TestDatabase.pooled(jdbcUrl)
                ? List.of("--db-url", jdbcUrl, "--db-user", user, "--db-password", password, "--db-pooled")
                : List.of("--db-url", jdbcUrl, "--db-user", user, "--db-password", password));
    }

    /** Starts {@code Main serve --port 0} with the given store options and waits until it listens. */
    public CoordinatorProcess(List<String> storeOptions) throws Exception {
        this(List.of(), storeOptions);
    }

    /** As above, with options for the JVM (a heap limit, say). */
    public CoordinatorProcess(List<String> jvmOptions, List<String> storeOptions) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new java.util.ArrayList<>(List.of(java));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.latchkey.coordinator.Main", "serve", "--port", "0"));
        command.addAll(storeOptions);
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectErrorStream(true);
        this.process = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String url = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        StringBuilder seen = new StringBuilder();
        while (url == null && System.nanoTime() < deadline) {
            String line = out.readLine();
            if (line == null) {
                break;
            }
            seen.append(line).append('\n');
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                url = m.group(1);
            }
        }
        if (url == null) {
            process.destroyForcibly();
            throw new IllegalStateException("the coordinator process did not start:\n" + seen);
        }
        output.append(seen);
        Thread.ofVirtual().start(() -> out.lines().forEach(l -> output.append(l).append('\n'))); // keep draining its output
        this.api = new Api(url);
    }

    /** Stops the process in its tracks (SIGSTOP), as a long pause or a hung machine would. */
    public void freeze() throws Exception {
        signal("STOP");
    }

    /** Lets a frozen process go on (SIGCONT) from exactly where it stopped. */
    public void thaw() throws Exception {
        signal("CONT");
    }

    private void signal(String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
        }
    }

    /** Kills the process at once, as a crash would. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Stops the process (SIGTERM, then SIGKILL after 10 s); an interrupt still kills it, and is kept. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                kill();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
