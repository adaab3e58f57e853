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

    /**
     * etcd's lock and Redisson's RLock, each on its peer started as a process of its own: skipped
     * with the install command when the peer is missing, except under CI=true.
     */
    @org.junit.jupiter.api.Test
    void thePeersContendersTakeAndReleaseLocks() throws Exception {
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        for (String name : List.of("etcd", "redisson-always", "redisson-everysec")) {
            java.util.Optional<LockShootout.Contender> contender = name.equals("etcd") ? LockShootout.etcd()
                    : LockShootout.redisson(name.substring("redisson-".length()));
            if (contender.isEmpty()) {
                String why = Peers.missing(name.equals("etcd") ? "etcd" : "redis");
                if (ci) {
                    throw new AssertionError(why + ", and CI=true requires it");
                }
                System.out.println("skipped " + name + ": " + why);
                continue;
            }
            try (LockShootout.Contender c = contender.get()) {
                LockShootout.Cell distinct = LockShootout.measure(c, "distinct", 2, Duration.ofMillis(400));
                LockShootout.Cell hot = LockShootout.measure(c, "hot", 4, Duration.ofMillis(400));
                assertThat(distinct.opsPerSecond()).as(distinct.toString()).isGreaterThan(50);
                assertThat(hot.opsPerSecond()).as(hot.toString()).isGreaterThan(10);
            }
        }
    }
}
