package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.fencing.FenceOutcome;
import dev.latchkey.toolkit.fencing.FencedTable;
import dev.latchkey.toolkit.fencing.FencingToken;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

class FencedTableTest {

    private static FencedTable register(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 0);
        return Toolkit.create(db.dataSource()).fenced(TableSpec.table("item").key("id").fence("fence"));
    }

    @DatabaseTest
    void anOlderTokenIsRefusedAndTheSameOrANewerOneAccepted(TestDatabase db) throws Exception {
        FencedTable register = register(db);
        try (Connection c = db.dataSource().getConnection()) {
            assertThat(register.update(1L, FencingToken.of(5)).set("stock", 50).execute(c)).isEqualTo(new FenceOutcome.Accepted(1L, 5));
            assertThat(register.update(1L, FencingToken.of(4)).set("stock", 40).execute(c)).isEqualTo(new FenceOutcome.Fenced(1L, 4, 5));
            assertThat(register.update(1L, FencingToken.of(5)).set("stock", 51).execute(c).accepted()).isTrue();
            assertThat(register.update(1L, FencingToken.of(9)).set("stock", 90).execute(c).accepted()).isTrue();
            assertThatThrownBy(() -> register.update(1L, FencingToken.of(6)).set("stock", 60).execute(c).orThrow())
                    .isInstanceOf(FenceOutcome.FencedOffException.class).hasMessageContaining("older than the fence 9");
            assertThat(register.update(7L, FencingToken.of(9)).set("stock", 1).execute(c)).isEqualTo(new FenceOutcome.Gone(7L));
            assertThat(register.currentFence(c, 1L)).contains(9L);
        }
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT stock FROM item WHERE id = 1")).isEqualTo(90);
    }

    @DatabaseTest
    void racingWritersNeverMoveTheFenceBackwards(TestDatabase db) throws Exception {
        FencedTable register = register(db);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                writers.add(pool.submit(() -> {
                    for (int i = 0; i < 40; i++) {
                        long token = i * 8L + thread;
                        try (Connection c = db.dataSource().getConnection()) {
                            FenceOutcome outcome = register.update(1L, FencingToken.of(token)).set("stock", (int) token).execute(c);
                            if (outcome instanceof FenceOutcome.Fenced f) {
                                assertThat(f.currentFence()).isGreaterThan(token);
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : writers) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        // the row holds the value written with the fence it carries: the last accepted writer's
        long fence = Fixtures.queryLong(db.dataSource(), "SELECT fence FROM item WHERE id = 1");
        assertThat(fence).isEqualTo(39 * 8 + 7);
        assertThat(Fixtures.queryLong(db.dataSource(), "SELECT stock FROM item WHERE id = 1")).isEqualTo(fence);
    }
}
