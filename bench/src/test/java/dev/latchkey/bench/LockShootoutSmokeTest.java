package dev.latchkey.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Every lock contender runs for a moment in the test suite, so the shootout does not rot. */
class LockShootoutSmokeTest {

    @DatabaseTest(only = Database.POSTGRESQL)
    void everyContenderTakesAndReleasesLocks(TestDatabase db) throws Exception {
        HikariDataSource pool = db.newPool(8);
        List<LockShootout.Contender> contenders = List.of(LockShootout.latchkey(db.jdbcUrl(), db.user(), db.password()),
                LockShootout.curator(), LockShootout.shedLock(pool), LockShootout.httpFloor(pool), LockShootout.pgAdvisory(pool));
        List<LockShootout.Cell> cells = new ArrayList<>();
        try {
            for (LockShootout.Contender c : contenders) {
                cells.add(LockShootout.measure(c, "distinct", 2, Duration.ofMillis(300)));
                cells.add(LockShootout.measure(c, "hot", 2, Duration.ofMillis(300)));
            }
        } finally {
            for (LockShootout.Contender c : contenders) {
                c.close();
            }
        }
        assertThat(cells).hasSize(10).allSatisfy(c -> assertThat(c.opsPerSecond()).as(c.toString()).isGreaterThan(0));
        if (java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/stat"))) {
            assertThat(cells).allSatisfy(c -> assertThat(c.cpuMillisPerOp()).as(c.toString()).isNotNaN().isBetween(0.0, 1_000.0));
        }
        assertThat(LockShootout.markdown(cells)).contains("| latchkey | hot | 2 |", "| curator |", "| shedlock |", "| http-floor |", "| pg-advisory |");
    }
}
