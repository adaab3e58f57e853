package dev.latchkey.coordinator.failover;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Three MariaDB nodes in one Galera cluster ({@code bin/ha galera}), each accepting writes. The two
 * coordinators start on different nodes (one on node 1, one on node 2), the application on node 3;
 * each URL fails over to the other nodes. The fault: node 1 is killed with SIGKILL; the two left
 * keep the quorum and go on, and the coordinator that was on node 1 moves to the next.
 */
final class GaleraStack implements FaultScenario.Stack {

    private final Path dir;
    private final String[] urls = new String[3];

    private GaleraStack(Path dir) {
        this.dir = dir;
    }

    static GaleraStack start() throws Exception {
        Scripts.require(Scripts.onPath("mariadbd") && Files.exists(Path.of("/usr/lib/galera/libgalera_smm.so")) && Scripts.onPath("rsync"),
                "MariaDB with Galera is not installed (apt-get install mariadb-server galera-4 rsync)");
        Path dir = Scripts.scratch("latchkey-ha-galera-").resolve("cluster");
        GaleraStack stack = new GaleraStack(dir);
        try {
            Scripts.run("ha", 240, "galera", "start", dir.toString());
            for (int node = 1; node <= 3; node++) {
                stack.urls[node - 1] = Scripts.run("ha", 30, "galera", "url", dir.toString(), Integer.toString(node)).strip();
            }
            return stack;
        } catch (Exception e) {
            stack.close();
            throw e;
        }
    }

    /** Kills {@code node} (1-3) with SIGKILL. */
    void kill(int node) throws Exception {
        Scripts.run("ha", 30, "galera", "kill-node", dir.toString(), Integer.toString(node));
    }

    /** Whether {@code node} says it is ready (wsrep_ready: in the primary component and synced). */
    boolean ready(int node) {
        String url = url(node).replaceFirst("//([^,/]+)[^/]*/", "//$1/");
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url, "root", "");
                java.sql.Statement s = c.createStatement();
                java.sql.ResultSet rs = s.executeQuery("SHOW STATUS LIKE 'wsrep_ready'")) {
            return rs.next() && rs.getString(2).equalsIgnoreCase("ON");
        } catch (java.sql.SQLException e) {
            return false;
        }
    }

    /** The URL that starts at {@code node} (1-3). */
    String url(int node) {
        return urls[node - 1];
    }

    @Override
    public String name() {
        return "galera node loss";
    }

    @Override
    public String coordinatorUrl(int which) {
        return url(which + 1);
    }

    @Override
    public String applicationUrl() {
        return url(3);
    }

    @Override
    public String user() {
        return "root";
    }

    @Override
    public long fault(Runnable killed) throws Exception {
        kill(1);
        killed.run();
        return System.nanoTime(); // the two nodes left go on by themselves
    }

    @Override
    public String status() throws Exception {
        return Scripts.run("ha", 30, "galera", "status", dir.toString());
    }

    @Override
    public void close() throws Exception {
        Scripts.run("ha", 60, "galera", "stop", dir.toString());
        Files.deleteIfExists(dir.getParent());
    }
}
