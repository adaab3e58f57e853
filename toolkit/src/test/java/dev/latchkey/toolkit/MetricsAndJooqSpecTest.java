package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.metrics.micrometer.MicrometerToolkitMetrics;
import dev.latchkey.toolkit.optimistic.OptimisticTable;
import dev.latchkey.toolkit.pessimistic.RowLocker;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.Transactor;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.Field;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

class MetricsAndJooqSpecTest {

    @DatabaseTest
    void attemptsConflictsRetriesAndLockWaitsAreCountedPerOperation(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 5);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Toolkit toolkit = Toolkit.create(db.dataSource(), new MicrometerToolkitMetrics(registry));
        OptimisticTable items = toolkit.optimistic(Fixtures.ITEM);
        RowLocker locker = toolkit.rowLocks(Fixtures.ITEM);
        Transactor tx = toolkit.transactor(RetryPolicy.defaults().withBackoff(Duration.ZERO, Duration.ZERO));

        AtomicInteger attempt = new AtomicInteger();
        tx.execute("rename", c -> {
            long expected = attempt.incrementAndGet() == 1 ? 99 : 0; // the first attempt carries a stale version
            return items.update(1L).expectVersion(expected).set("name", "renamed").execute(c).orThrow();
        });
        try (Connection holder = db.dataSource().getConnection(); Connection other = db.dataSource().getConnection()) {
            holder.setAutoCommit(false);
            other.setAutoCommit(false);
            locker.lock(1L).operation("checkout").execute(holder).orThrow();
            assertThat(locker.lock(1L).noWait().operation("checkout").execute(other).locked()).isFalse();
            holder.rollback();
            other.rollback();
        }

        assertThat(registry.get("latchkey.attempts").tag("operation", "rename").counter().count()).isEqualTo(2);
        assertThat(registry.get("latchkey.contention").tags("operation", "rename", "kind", "conflict").counter().count()).isEqualTo(1);
        assertThat(registry.get("latchkey.retries").tags("operation", "rename", "kind", "conflict").counter().count()).isEqualTo(1);
        assertThat(registry.get("latchkey.lock.wait").tags("operation", "checkout", "acquired", "true").timer().count()).isEqualTo(1);
        assertThat(registry.get("latchkey.lock.wait").tags("operation", "checkout", "acquired", "false").timer().count()).isEqualTo(1);
        assertThat(registry.get("latchkey.contention").tags("operation", "checkout", "kind", "lock_not_available").counter().count())
                .isEqualTo(1);
    }

    @DatabaseTest
    void aTableCanBeDescribedWithJooqObjects(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 5);
        Table<?> item = DSL.table(DSL.name("item"));
        Field<Long> id = DSL.field(DSL.name("id"), SQLDataType.BIGINT);
        Field<Long> version = DSL.field(DSL.name("version"), SQLDataType.BIGINT);
        OptimisticTable items = Toolkit.create(db.dataSource()).optimistic(TableSpec.of(item, id).version(version));
        try (Connection c = db.dataSource().getConnection()) {
            assertThat(items.update(1L).expectVersion(0).set("stock", 4).execute(c).applied()).isTrue();
        }
    }
}
