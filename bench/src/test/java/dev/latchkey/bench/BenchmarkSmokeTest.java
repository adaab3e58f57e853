package dev.latchkey.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every benchmark operation runs a few times in the test suite, so no benchmark rots. */
class BenchmarkSmokeTest {

    @DatabaseTest(only = Database.POSTGRESQL)
    void everyOverheadOperationRunsAndDoesItsWork(TestDatabase db) throws Exception {
        OverheadFixture fixture = new OverheadFixture(db.dataSource());
        for (int i = 0; i < 3 * OverheadFixture.ROWS / 100; i++) {
            fixture.handCas();
            fixture.toolkitCas();
            fixture.jooqOptimisticLocking();
            fixture.handLockThenUpdate();
            fixture.toolkitLockThenUpdate();
        }
        try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT SUM(version), SUM(CASE WHEN stock = 999999 THEN 1 ELSE 0 END) FROM bench_item")) {
            rs.next();
            assertThat(rs.getLong(1)).as("versions bumped by the three CAS contenders").isEqualTo(90);
            assertThat(rs.getLong(2)).as("rows decremented by the two lock-then-update contenders").isEqualTo(60);
        }
    }

    @DatabaseTest(only = Database.POSTGRESQL)
    void theWriterMemoryComparisonRunsBothWays(TestDatabase db) {
        var config = new dev.latchkey.coordinator.store.StoreConfig(db.jdbcUrl(), db.user(), db.password(), 4);
        WriterMemory.Round off = WriterMemory.round(false, 30, config);
        WriterMemory.Round on = WriterMemory.round(true, 30, config);
        assertThat(off.writer().fromMemory()).isZero();
        assertThat(off.writer().batches()).as("60 batches (the last may be counted just after its answer)").isGreaterThanOrEqualTo(59);
        assertThat(on.writer().fromMemory()).as("%s", on.writer()).isGreaterThanOrEqualTo(on.writer().batches() / 2);
        assertThat(on.pairMs()).isPositive();
    }

    @Test
    void theChartAndTableCarryRatios() {
        String svg = SvgBarChart.render("t", "ops/s", List.of(new SvgBarChart.Bar("casHandJdbc", 100, 5, "(1.000)"),
                new SvgBarChart.Bar("casToolkit", 98, 4, "(0.980)")));
        assertThat(svg).startsWith("<svg").contains("casToolkit", "98 ops/s (0.980)");
    }
}
