package dev.latchkey.coordinator.http;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.TestDatabase;

/** The URL both processes use: the test database's, or for H2 the same database over TCP. */
public final class SharedDatabase implements AutoCloseable {
    public final String url;
    public final String user;
    public final String password;
    private final org.h2.tools.Server server;
    private final java.sql.Connection keep;

    public SharedDatabase(TestDatabase db) throws Exception {
        user = db.user();
        password = db.password();
        if (db.database() == Database.H2) {
            server = org.h2.tools.Server.createTcpServer("-tcpPort", "0", "-ifExists").start();
            url = "jdbc:h2:tcp://127.0.0.1:" + server.getPort() + "/mem:" + db.name();
            // the in-memory database exists before the TCP clients ask for it, and outlives them all
            // (a test that cuts every TCP connection must not see it vanish)
            keep = db.connect();
        } else {
            server = null;
            keep = null;
            url = db.jdbcUrl();
        }
    }

    public Harness harness() {
        return new Harness(url, user, password, dev.latchkey.coordinator.core.Coordinator.Settings.defaults());
    }

    public CoordinatorProcess process() throws Exception {
        return new CoordinatorProcess(url, user, password);
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop();
            try {
                keep.close();
            } catch (java.sql.SQLException ignored) {
                // closing anyway
            }
        }
    }
}

