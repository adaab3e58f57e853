package dev.latchkey.coordinator.failover;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Two PostgreSQL members managed by Patroni (synchronous mode) over a 3-member etcd cluster, started
 * by {@code bin/ha patroni} in a scratch folder. The fault: the primary member (its Patroni and its
 * postmaster) is killed with SIGKILL; nobody helps: Patroni promotes the other member alone.
 */
final class PatroniStack implements FaultScenario.Stack {

    private final Path dir;
    private final String url;

    private PatroniStack(Path dir, String url) {
        this.dir = dir;
        this.url = url;
    }

    static PatroniStack start() throws Exception {
        Scripts.require(Scripts.onPath("patroni") && Scripts.onPath("etcd"),
                "Patroni or etcd is not installed (apt-get install patroni etcd-server)");
        Path dir = Scripts.scratch("latchkey-ha-patroni-").resolve("stack");
        PatroniStack stack = new PatroniStack(dir, null);
        try {
            Scripts.run("ha", 180, "patroni", "start", dir.toString());
            return new PatroniStack(dir, Scripts.run("ha", 30, "patroni", "url", dir.toString()).strip());
        } catch (Exception e) {
            stack.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return "patroni failover";
    }

    @Override
    public String coordinatorUrl(int which) {
        return url;
    }

    @Override
    public String user() {
        return "postgres";
    }

    @Override
    public long fault(Runnable killed) throws Exception {
        Scripts.run("ha", 30, "patroni", "kill-primary", dir.toString());
        killed.run();
        return System.nanoTime(); // Patroni alone does the rest
    }

    @Override
    public String status() throws Exception {
        return Scripts.run("ha", 30, "patroni", "status", dir.toString());
    }

    @Override
    public void close() throws Exception {
        Scripts.run("ha", 60, "patroni", "stop", dir.toString());
        Files.deleteIfExists(dir.getParent());
    }
}
