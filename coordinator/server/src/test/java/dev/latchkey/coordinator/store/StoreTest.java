package dev.latchkey.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

class StoreTest {

    @DatabaseTest
    void twoCoordinatorsOpenOneStoreAndReadTheDatabaseClock(TestDatabase db) throws Exception {
        StoreConfig config = new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 4);
        try (Store first = Store.open(config); Store second = Store.open(config)) {
            assertThat(first.healthy()).isTrue();
            assertThat(second.kind()).isEqualTo(first.kind());
            long a = first.nowMillis();
            long b = second.nowMillis();
            assertThat(b).isGreaterThanOrEqualTo(a);
            assertThat(Duration.between(Instant.ofEpochMilli(a), Instant.now()).abs()).isLessThan(Duration.ofMinutes(5));
            try (Connection c = first.dataSource().getConnection()) {
                assertThat(DSL.using(c, first.kind().jooqDialect()).fetchCount(DSL.table(DSL.name("lk_cell")))).isEqualTo(3);
            }
        }
    }

    /**
     * Operations batched into one transaction: a refused one changes nothing and emits nothing (its
     * savepoint is rolled back), the others commit together.
     */
    @DatabaseTest
    void aRefusedOperationInABatchChangesNothingAndTheOthersCommit(TestDatabase db) throws Exception {
        try (Store store = Store.open(new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 4))) {
            java.util.List<java.util.List<Event>> commits = new java.util.concurrent.CopyOnWriteArrayList<>();
            store.onCommit(commits::add);
            String tag = "sp";
            java.util.concurrent.CountDownLatch writerBusy = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch letGo = new java.util.concurrent.CountDownLatch(1);
            var blocker = java.util.concurrent.CompletableFuture.runAsync(() -> store.write("block", tx -> {
                writerBusy.countDown();
                await(letGo);
                return null;
            }));
            writerBusy.await();
            java.util.function.Function<String, java.util.function.Function<WriteTx, String>> cell = name -> tx -> {
                tx.dsl().insertInto(Schema.CELL, Schema.CELL_NAME, Schema.CELL_VALUE).values(name, 7L).execute();
                tx.emit("/" + name, Event.Kind.CONTENTS_MODIFIED, null, null);
                if (name.contains("refused")) {
                    throw new dev.latchkey.coordinator.core.CoordinatorException(
                            dev.latchkey.coordinator.core.CoordinatorException.Problem.BAD_REQUEST, "no");
                }
                return name;
            };
            java.util.List<java.util.concurrent.CompletableFuture<String>> ops = new java.util.ArrayList<>();
            for (String name : java.util.List.of(tag + "-ok1", tag + "-refused", tag + "-ok2")) {
                ops.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> store.write(name, cell.apply(name))));
                int queued = ops.size();
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> store.queuedWrites() >= queued);
            }
            assertThat(store.queuedWrites()).isEqualTo(3);
            letGo.countDown();
            blocker.join();
            assertThat(ops.get(0).join()).isEqualTo(tag + "-ok1");
            assertThat(ops.get(2).join()).isEqualTo(tag + "-ok2");
            assertThatThrownBy(() -> ops.get(1).join()).hasCauseInstanceOf(dev.latchkey.coordinator.core.CoordinatorException.class);
            try (Connection c = store.dataSource().getConnection()) {
                var names = store.dsl(c).select(Schema.CELL_NAME).from(Schema.CELL).where(Schema.CELL_NAME.like(tag + "-%"))
                        .fetch(Schema.CELL_NAME);
                assertThat(names).containsExactlyInAnyOrder(tag + "-ok1", tag + "-ok2");
            }
            // listeners hear of a commit just after its callers
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !commits.isEmpty());
            assertThat(commits).hasSize(1);
            assertThat(commits.get(0)).extracting(Event::path).containsExactly("/" + tag + "-ok1", "/" + tag + "-ok2");
            assertThat(commits.get(0).get(1).rev()).isEqualTo(commits.get(0).get(0).rev() + 1);
        }
    }

    /**
     * The writer keeps its connection from batch to batch. When the database drops it between
     * batches (a restart, a proxy's idle cut, an operator's kill), the next batch finds out at its
     * first statement, before anything was written, and runs again on a fresh connection: the
     * callers see nothing of it. Both kinds of write are checked: a command whose first read carries
     * the transaction's head, and an operation that takes the head on its own.
     */
    @DatabaseTest
    void aWriterConnectionTheDatabaseDroppedIsReplacedAndTheWriteGoesThrough(TestDatabase db) throws Exception {
        if (db.database() == dev.latchkey.testing.Database.H2 || TestDatabase.pooled(db.jdbcUrl())) {
            System.out.println(db + ": skipped, no other session can drop the writer's connection here (H2 runs in-process; "
                    + "through a pooler the server connection is not the writer's)");
            return;
        }
        boolean postgres = db.database() == dev.latchkey.testing.Database.POSTGRESQL;
        String url = postgres ? db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "ApplicationName=lk-store-under-test" : db.jdbcUrl();
        Store.CommandKind<String> probe = (tx, commands) -> {
            Object[] out = new Object[commands.size()];
            try {
                long[] value = new long[1];
                tx.readFirst(SqlText.quoted(tx.kind(), "SELECT \"value\" FROM \"lk_cell\" WHERE \"name\" = ?"), (st, from) -> {
                    st.setString(from, "revision");
                    return from + 1;
                }, rs -> {
                    rs.next();
                    value[0] = rs.getLong(1);
                });
                for (int i = 0; i < out.length; i++) {
                    tx.emit("/" + commands.get(i), Event.Kind.CONTENTS_MODIFIED, null, null);
                    out[i] = value[0];
                }
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
            return out;
        };
        try (Store store = Store.open(new StoreConfig(url, db.user(), db.password(), 4))) {
            long first = store.<String, Long>command(probe, "first");
            dropStoreConnections(store, db, postgres);
            long second = store.<String, Long>command(probe, "second"); // (its read carries the head)
            assertThat(second).isEqualTo(first + 1);
            dropStoreConnections(store, db, postgres);
            long third = store.<Long>write("third", tx -> tx.emit("/third", Event.Kind.CONTENTS_MODIFIED, null, null).rev());
            assertThat(third).isEqualTo(first + 3);
            try (Connection c = db.connect()) {
                var paths = store.dsl(c).select(Schema.EVENT_PATH).from(Schema.EVENT).where(Schema.EVENT_REV.gt(first))
                        .orderBy(Schema.EVENT_REV).fetch(Schema.EVENT_PATH);
                assertThat(paths).containsExactly("/first", "/second", "/third"); // (gap-free, once each)
            }
        }
    }

    /** Ends every connection of the store under test, from another session. */
    private static void dropStoreConnections(Store store, TestDatabase db, boolean postgres) throws Exception {
        try (Connection admin = db.connect(); java.sql.Statement s = admin.createStatement()) {
            if (postgres) {
                try (var rs = s.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        + "WHERE application_name = 'lk-store-under-test' AND pid <> pg_backend_pid()")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isPositive();
                }
            } else {
                java.util.List<Long> ids = new java.util.ArrayList<>();
                try (var rs = s.executeQuery("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()")) {
                    while (rs.next()) {
                        ids.add(rs.getLong(1));
                    }
                }
                assertThat(ids).isNotEmpty();
                for (long id : ids) {
                    s.execute("KILL CONNECTION " + id);
                }
            }
        }
        // HikariCP lends a connection used within the last 500 ms without checking it: its idle ones
        // (all killed) are evicted, so the fresh connection the writer asks for is a new, live one
        ((com.zaxxer.hikari.HikariDataSource) store.dataSource()).getHikariPoolMXBean().softEvictConnections();
    }

    private static void await(java.util.concurrent.CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theEmbeddedStoreLivesInItsDataFolder() throws Exception {
        Path dir = Files.createTempDirectory("latchkey-store");
        try (Store store = Store.open(StoreConfig.embedded(dir))) {
            assertThat(store.healthy()).isTrue();
        }
        assertThat(dir.resolve("latchkey.mv.db")).exists();
    }

    @Test
    void anUnreachableStoreIsReportedClearly() {
        assertThatThrownBy(() -> Store.open(new StoreConfig("jdbc:postgresql://127.0.0.1:1/none", "x", "", 2)))
                .isInstanceOf(Store.StoreUnavailableException.class).hasMessageContaining("127.0.0.1:1");
        assertThatThrownBy(() -> new StoreConfig("postgres://x", "", "", 4)).hasMessageContaining("not a JDBC URL");
    }
}
