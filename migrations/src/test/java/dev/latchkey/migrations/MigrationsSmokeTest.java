package dev.latchkey.migrations;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import java.sql.Connection;
import java.time.LocalDateTime;
import java.util.List;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.impl.DSL;

class MigrationsSmokeTest {

    /** The changesets of both changelogs (coordinator and shop). */
    private static final int CHANGESETS = 6;

    private static final List<String> STORE_TABLES =
            List.of("lk_session", "lk_node", "lk_lock_holder", "lk_lock_waiter", "lk_event", "lk_cell");

    @DatabaseTest
    void migrationsApplyAndARowWrittenThroughHikariAndJooqReadsBack(TestDatabase db) throws Exception {
        DataSource ds = db.dataSource();
        Migrations.apply(ds, Migrations.Changelog.COORDINATOR, Migrations.Changelog.SHOP);
        DSLContext dsl = dsl(ds);

        for (String t : STORE_TABLES) {
            assertThat(dsl.fetchCount(table(name(t)))).as(t).isGreaterThanOrEqualTo(0);
        }
        assertThat(dsl.select(field(name("value"))).from(table(name("lk_cell")))
                .where(field(name("name")).eq("revision")).fetchOne(0, Long.class)).isZero();

        dsl.insertInto(table(name("shop_item")))
                .columns(field(name("id")), field(name("sku")), field(name("name")), field(name("price_cents")),
                        field(name("stock")), field(name("updated_at")))
                .values(1L, "LK-1", "Brass latch key", 1250L, 1, LocalDateTime.of(2026, 11, 26, 6, 0, 1))
                .execute();
        Record row = dsl.select().from(table(name("shop_item"))).where(field(name("id")).eq(1L)).fetchOne();
        assertThat(row).isNotNull();
        assertThat(row.get(name("name"), String.class)).isEqualTo("Brass latch key");
        assertThat(row.get(name("stock"), Integer.class)).isEqualTo(1);
        assertThat(row.get(name("version"), Long.class)).isZero();
        assertThat(row.get(name("updated_at"), LocalDateTime.class)).isEqualTo(LocalDateTime.of(2026, 11, 26, 6, 0, 1));
    }

    /**
     * On PostgreSQL a run waits for whoever holds the migration lock, and holds it only as long as
     * its own run: afterwards no advisory lock on the key is left in the database (a session lock
     * taken through a transaction pooler could stay behind on a server connection the run no longer
     * uses, and the next coordinator waited five minutes for it).
     */
    @DatabaseTest(only = dev.latchkey.testing.Database.POSTGRESQL)
    void aRunWaitsForTheMigrationLockAndLeavesNoLockBehind(TestDatabase db) throws Exception {
        DataSource ds = db.dataSource();
        long key = dev.latchkey.toolkit.advisory.AdvisoryLocks.key(Migrations.LOCK_NAME);
        java.util.concurrent.CompletableFuture<Void> run;
        try (Connection holder = ds.getConnection()) {
            holder.setAutoCommit(false);
            try (var s = holder.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                s.setLong(1, key);
                s.executeQuery().close();
            }
            run = java.util.concurrent.CompletableFuture.runAsync(() -> Migrations.apply(ds, Migrations.Changelog.COORDINATOR));
            // (until the run's request for the lock is queued behind the holder's, then: it must still be waiting)
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> migrationLocks(ds, key) == 2 || run.isDone());
            assertThat(run).as("waits while another process holds the lock").isNotDone();
            assertThat(migrationLocks(ds, key)).as("the holder's, and the waiting run's request").isEqualTo(2);
            holder.rollback();
        }
        run.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(dsl(ds).fetchCount(table(name("lk_cell")))).isPositive();
        assertThat(migrationLocks(ds, key)).as("advisory locks on the migrations' key after the run").isZero();
    }

    private static int migrationLocks(DataSource ds, long key) throws Exception {
        try (Connection c = ds.getConnection()) {
            return dev.latchkey.testing.PgAdvisoryLocks.count(c, key);
        }
    }

    @DatabaseTest
    void applyingTwiceIsANoOp(TestDatabase db) throws Exception {
        DataSource ds = db.dataSource();
        Migrations.apply(ds, Migrations.Changelog.COORDINATOR, Migrations.Changelog.SHOP);
        DSLContext dsl = dsl(ds);
        int applied = dsl.fetchCount(table(name(changelogTable(ds))));
        Migrations.apply(ds, Migrations.Changelog.COORDINATOR, Migrations.Changelog.SHOP);
        assertThat(dsl.fetchCount(table(name(changelogTable(ds))))).isEqualTo(applied).isEqualTo(CHANGESETS);
        assertThat(dsl.select(field(name("value"))).from(table(name("lk_cell"))).fetch()).hasSize(3);
        // the write stamp the coordinator's writers compare (coordinator-5), starting at 0
        assertThat(dsl.select(field(name("stamp"), Long.class)).from(table(name("lk_cell"))).where(field(name("name")).eq("revision"))
                .fetchOne(0, Long.class)).isZero();
    }

    @DatabaseTest
    void aBrokenConnectionIsReportedClearly(TestDatabase db) throws Exception {
        Connection closed = db.connect();
        closed.close();
        assertThatThrownBy(() -> Migrations.apply(closed, Migrations.Changelog.COORDINATOR))
                .isInstanceOf(Migrations.MigrationException.class)
                .hasMessageContaining("coordinator.yaml");
    }

    /**
     * Processes rolled out together each migrate a fresh database at once: all succeed, each change
     * applies once. (H2's case, several processes on one file, is the coordinator's SimultaneousStartTest.)
     */
    @DatabaseTest(only = {dev.latchkey.testing.Database.POSTGRESQL, dev.latchkey.testing.Database.MARIADB})
    void runsThatStartTogetherOnAFreshDatabaseAllSucceedAndApplyEachChangeOnce(TestDatabase db) throws Exception {
        int runs = 4;
        java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(runs);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(runs);
        try {
            List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int i = 0; i < runs; i++) {
                done.add(pool.submit(() -> {
                    try (Connection c = db.connect()) {
                        together.await(10, java.util.concurrent.TimeUnit.SECONDS);
                        Migrations.apply(c, Migrations.Changelog.COORDINATOR, Migrations.Changelog.SHOP);
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get(120, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        DataSource ds = db.dataSource();
        DSLContext dsl = dsl(ds);
        assertThat(dsl.fetchCount(table(name(changelogTable(ds))))).isEqualTo(CHANGESETS);
        assertThat(dsl.select(field(name("value"))).from(table(name("lk_cell"))).fetch()).hasSize(3);
    }

    private static String changelogTable(DataSource ds) throws Exception {
        try (Connection c = ds.getConnection()) {
            // Liquibase names its own table in upper case; only PostgreSQL folds that to lower case.
            return DatabaseKind.detect(c) == DatabaseKind.POSTGRES ? "databasechangelog" : "DATABASECHANGELOG";
        }
    }

    private static DSLContext dsl(DataSource ds) throws Exception {
        try (Connection c = ds.getConnection()) {
            return DSL.using(ds, DatabaseKind.detect(c).jooqDialect());
        }
    }
}
