package dev.latchkey.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One round of the failover benchmark on each side, so that it does not rot. */
class FailoverTimingSmokeTest {

    @DatabaseTest(only = Database.POSTGRESQL)
    void aKilledLatchkeyLeaderIsReplaced(TestDatabase db) throws Exception {
        FailoverTiming.Result r = FailoverTiming.latchkey(db.jdbcUrl(), db.user(), db.password(), 1);
        assertThat(r.millis()).hasSize(1);
        // no sooner than the dead leader's lease allowed (at least two thirds of it were left), no later than it plus slack
        assertThat(r.median()).isBetween(FailoverTiming.SESSION_TIMEOUT.toMillis() * 2 / 3 - 200, FailoverTiming.SESSION_TIMEOUT.toMillis() + 3_000);
    }

    @Test
    void aKilledCuratorLeaderIsReplaced() throws Exception {
        FailoverTiming.Result r = FailoverTiming.zookeeper(1);
        assertThat(r.median()).isPositive();
        assertThat(FailoverTiming.markdown(List.of(r))).contains("| curator LeaderLatch (ZooKeeper) | 1 |");
    }

    @Test
    void aKilledEtcdLeaderIsReplaced() throws Exception {
        java.util.Optional<FailoverTiming.Result> r = FailoverTiming.etcd(1);
        if (r.isEmpty()) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new AssertionError(Peers.missing("etcd") + ", and CI=true requires it");
            }
            org.junit.jupiter.api.Assumptions.abort(Peers.missing("etcd"));
        }
        // etcd's lease expires within its TTL after the last keep-alive; then the standby's campaign wins
        assertThat(r.get().median()).isBetween(500L, FailoverTiming.SESSION_TIMEOUT.toMillis() + 5_000);
        assertThat(FailoverTiming.markdown(List.of(r.get()))).contains("| etcd election");
    }
}
