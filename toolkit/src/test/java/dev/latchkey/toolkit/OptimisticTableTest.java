package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.optimistic.CasOutcome;
import dev.latchkey.toolkit.optimistic.CasUpdate;
import dev.latchkey.toolkit.optimistic.Guard;
import dev.latchkey.toolkit.optimistic.OptimisticTable;
import java.sql.Connection;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;

class OptimisticTableTest {

    private static OptimisticTable items(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 5);
        return Toolkit.create(db.dataSource()).optimistic(Fixtures.ITEM);
    }

    @DatabaseTest
    void matchingVersionAppliesAndBumpsTheVersion(TestDatabase db) throws Exception {
        OptimisticTable items = items(db);
        try (Connection c = db.dataSource().getConnection()) {
            CasOutcome outcome = items.update(1L).expectVersion(0).set("stock", 4).execute(c);
            assertThat(outcome).isEqualTo(new CasOutcome.Applied(1L, 1L));
            assertThat(items.currentVersion(c, 1L)).contains(1L);
        }
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT stock FROM item WHERE id = 1")).isEqualTo(4);
    }

    @DatabaseTest
    void staleVersionIsReportedWithTheCurrentOneAndNothingIsOverwritten(TestDatabase db) throws Exception {
        OptimisticTable items = items(db);
        try (Connection c = db.dataSource().getConnection()) {
            items.update(1L).expectVersion(0).set("stock", 4).execute(c).orThrow();
            CasOutcome second = items.update(1L).expectVersion(0).set("stock", 99).execute(c);
            assertThat(second).isEqualTo(new CasOutcome.Stale(1L, 0L, 1L));
            assertThatThrownBy(second::orThrow).isInstanceOf(CasOutcome.StaleVersionException.class)
                    .satisfies(e -> assertThat(((CasOutcome.StaleVersionException) e).contention()).isEqualTo(Contention.CONFLICT));
        }
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT stock FROM item WHERE id = 1")).isEqualTo(4);
    }

    @DatabaseTest
    void aMissingRowIsGoneNotStale(TestDatabase db) throws Exception {
        OptimisticTable items = items(db);
        try (Connection c = db.dataSource().getConnection()) {
            assertThat(items.update(42L).expectVersion(0).set("stock", 1).execute(c)).isEqualTo(new CasOutcome.Gone(42L));
            assertThatThrownBy(() -> items.update(42L).expectVersion(0).set("stock", 1).execute(c).orThrow())
                    .isInstanceOf(CasOutcome.WriteRefusedException.class).hasMessageContaining("no row with key 42");
        }
    }

    @DatabaseTest
    void aGuardThatIsFalseRejectsTheWrite(TestDatabase db) throws Exception {
        OptimisticTable items = items(db);
        try (Connection c = db.dataSource().getConnection()) {
            for (int i = 0; i < 5; i++) {
                assertThat(items.update(1L).add("stock", -1).when(Guard.greaterThan("stock", 0)).execute(c).applied()).isTrue();
            }
            CasOutcome soldOut = items.update(1L).add("stock", -1).when(Guard.greaterThan("stock", 0)).execute(c);
            assertThat(soldOut).isEqualTo(new CasOutcome.Rejected(1L, 5L));
            assertThat(items.currentVersion(c, 1L)).contains(5L);
        }
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT stock FROM item WHERE id = 1")).isZero();
    }

    @DatabaseTest
    void guardsCombineWithAVersionCheck(TestDatabase db) throws Exception {
        OptimisticTable items = items(db);
        try (Connection c = db.dataSource().getConnection()) {
            CasOutcome outcome = items.update(1L).expectVersion(0).add("stock", -5)
                    .when(Guard.atLeast("stock", 5).and(Guard.isNull("fence"))).execute(c);
            assertThat(outcome.applied()).isTrue();
            assertThat(items.update(1L).expectVersion(1).add("stock", -1).when(Guard.atLeast("stock", 1)).execute(c))
                    .isEqualTo(new CasOutcome.Rejected(1L, 1L));
        }
    }

    @DatabaseTest
    void timestampVersionsMoveForwardAndCatchStaleWriters(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 5);
        OptimisticTable items = Toolkit.create(db.dataSource())
                .optimistic(TableSpec.table("item").key("id").timestampVersion("updated_at"));
        try (Connection c = db.dataSource().getConnection()) {
            Instant initial = (Instant) items.currentVersion(c, 1L).orElseThrow();
            CasOutcome.Applied first = items.update(1L).expectVersion(initial).set("stock", 4).execute(c).orThrow();
            Instant next = (Instant) first.newVersion();
            assertThat(next).isAfter(initial);
            assertThat(items.currentVersion(c, 1L)).contains(next);
            CasOutcome.Applied second = items.update(1L).expectVersion(next).set("stock", 3).execute(c).orThrow();
            assertThat((Instant) second.newVersion()).isAfter(next);
            assertThat(items.update(1L).expectVersion(next).set("stock", 0).execute(c))
                    .isEqualTo(new CasOutcome.Stale(1L, next, second.newVersion()));
        }
    }

    @DatabaseTest
    void deleteHonoursTheVersion(TestDatabase db) throws Exception {
        OptimisticTable items = items(db);
        try (Connection c = db.dataSource().getConnection()) {
            items.update(1L).expectVersion(0).set("stock", 4).execute(c).orThrow();
            assertThat(items.delete(c, 1L, 0)).isEqualTo(new CasOutcome.Stale(1L, 0L, 1L));
            assertThat(items.delete(c, 1L, 1)).isEqualTo(new CasOutcome.Applied(1L, null));
            assertThat(items.delete(c, 1L, 1)).isEqualTo(new CasOutcome.Gone(1L));
            Fixtures.insertItem(db.dataSource(), 2, 0);
            assertThat(items.deleteWhen(c, 2L, Guard.greaterThan("stock", 0))).isEqualTo(new CasOutcome.Rejected(2L, 0L));
            assertThat(items.deleteWhen(c, 2L, Guard.equalTo("stock", 0)).applied()).isTrue();
        }
    }

    @DatabaseTest
    void batchedUpdatesReportAnOutcomePerRowInOrder(TestDatabase db) throws Exception {
        OptimisticTable items = items(db);
        DataSource ds = db.dataSource();
        Fixtures.insertItem(ds, 2, 5);
        Fixtures.insertItem(ds, 3, 0);
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            List<CasUpdate> batch = List.of(
                    items.update(1L).expectVersion(0).set("stock", 1),
                    items.update(2L).expectVersion(7).set("stock", 1),
                    items.update(9L).expectVersion(0).set("stock", 1),
                    items.update(3L).add("stock", -1).when(Guard.greaterThan("stock", 0)),
                    items.update(2L).expectVersion(0).set("name", "renamed"));
            List<CasOutcome> outcomes = items.executeBatch(c, batch);
            c.commit();
            assertThat(outcomes).containsExactly(
                    new CasOutcome.Applied(1L, 1L),
                    new CasOutcome.Stale(2L, 7L, 0L),
                    new CasOutcome.Gone(9L),
                    new CasOutcome.Rejected(3L, 0L),
                    new CasOutcome.Applied(2L, 1L));
        }
    }
}
