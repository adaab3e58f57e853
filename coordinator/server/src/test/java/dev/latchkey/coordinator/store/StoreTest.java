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
