package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

/**
 * Regression: coordinators rolled out at the same moment on a fresh store all came up but one. The
 * others waited for Liquibase's changelog lock on a pooled connection whose idle-in-transaction
 * limit (3 s) ended it, and exited. Three processes start at once here: all serve (within 60 s,
 * a hang's bound; 12-15 s on an unloaded machine) and every migration is applied exactly once. H2 runs as the embedded default, a file in a data
 * folder that all three open.
 */
class SimultaneousStartTest {

    private static final int COORDINATORS = 3;

    @DatabaseTest
    void threeCoordinatorsStartedAtOnceOnAFreshStoreAllServe(TestDatabase db) throws Exception {
        Path dataDir = Files.createTempDirectory("latchkey-simultaneous");
        List<String> options = db.database() == Database.H2
                ? List.of("--data-dir", dataDir.toString())
                : List.of("--db-url", db.jdbcUrl(), "--db-user", db.user(), "--db-password", db.password());
        CyclicBarrier together = new CyclicBarrier(COORDINATORS);
        List<CompletableFuture<CoordinatorProcess>> starting = new ArrayList<>();
        java.util.concurrent.ExecutorService launcher = java.util.concurrent.Executors.newFixedThreadPool(COORDINATORS);
        for (int i = 0; i < COORDINATORS; i++) {
            starting.add(CompletableFuture.supplyAsync(() -> {
                try {
                    together.await(10, TimeUnit.SECONDS);
                    return new CoordinatorProcess(options);
                } catch (Exception e) {
                    throw new IllegalStateException(e.getMessage(), e);
                }
            }, launcher));
        }
        List<CoordinatorProcess> started = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        long began = System.nanoTime();
        for (CompletableFuture<CoordinatorProcess> f : starting) {
            try {
                started.add(f.get(60, TimeUnit.SECONDS));
            } catch (Exception e) {
                failures.add(e.getCause() == null ? e : e.getCause());
            }
        }
        launcher.shutdown();
        try {
            assertThat(failures).as("coordinators that did not start").extracting(Throwable::getMessage).isEmpty();
            // A bound against a hang, not a speed test: on an unloaded 2-core machine all three listen
            // within 12-15 s (the target is 30 s), but beside a full build it took 33-35 s.
            assertThat((System.nanoTime() - began) / 1_000_000_000).as("seconds until all listen").isLessThan(60);
            for (int i = 0; i < started.size(); i++) {
                Api api = started.get(i).api;
                Api.Reply health = api.call("GET", "/v1/health", null);
                assertThat(health.status()).as(health.body()).isEqualTo(200);
                api.openSession(10_000);
                assertThat(api.put("/started-" + i, "up").status()).isEqualTo(201);
            }
            String url = db.database() == Database.H2 ? dev.latchkey.coordinator.store.StoreConfig.embedded(dataDir).jdbcUrl() : db.jdbcUrl();
            try (Connection c = DriverManager.getConnection(url, db.database() == Database.H2 ? "sa" : db.user(),
                    db.database() == Database.H2 ? "" : db.password());
                    Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT COUNT(*), COUNT(DISTINCT id) FROM " + changelogTable(db.database()))) {
                rs.next();
                assertThat(rs.getInt(1)).as("changesets recorded").isPositive().isEqualTo(rs.getInt(2));
            }
        } finally {
            for (CoordinatorProcess p : started) {
                p.close();
            }
        }
    }

    private static String changelogTable(Database database) {
        return database == Database.POSTGRESQL ? "databasechangelog" : "DATABASECHANGELOG";
    }
}
