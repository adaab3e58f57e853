package dev.latchkey.coordinator.http;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.TestDatabase;

/** The URL both processes use: the test database's, or for H2 the same database over TCP. */
public final class SharedDatabase implements AutoCloseable {
    public final String url;
    final String user;
    final String password;
    private final org.h2.tools.Server server;

    public SharedDatabase(TestDatabase db) throws Exception {
        user = db.user();
        password = db.password();
        if (db.database() == Database.H2) {
            server = org.h2.tools.Server.createTcpServer("-tcpPort", "0", "-ifExists").start();
            url = "jdbc:h2:tcp://127.0.0.1:" + server.getPort() + "/mem:" + db.name();
            try (var keep = db.connect()) {
                keep.isValid(1); // the in-memory database exists before the TCP clients ask for it
            }
        } else {
            server = null;
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
        }
    }
}

