package dev.latchkey.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import org.junit.jupiter.api.Test;

/** The watch-latency benchmark runs briefly on every database and on ZooKeeper, so it does not rot. */
class WatchLatencySmokeTest {

    @DatabaseTest
    void everyWriteReachesTheWatcher(TestDatabase db) throws Exception {
        WatchLatency.Result r = WatchLatency.latchkey(db.jdbcUrl(), db.user(), db.password(), 20);
        assertThat(r.samples()).isEqualTo(20);
        assertThat(r.p99Millis()).as("every event arrived").isFinite();
        for (boolean channel : new boolean[] {false, true}) {
            WatchLatency.Result many = WatchLatency.latchkey(db.jdbcUrl(), db.user(), db.password(), 10, 5, channel);
            assertThat(many.samples()).isEqualTo(50);
            assertThat(many.p99Millis()).as("every event reached every watcher").isFinite();
            assertThat(WatchLatency.format(many)).contains("5 watchers").contains(channel ? "session channel" : "(");
        }
    }

    @Test
    void zookeeperWatchesFire() throws Exception {
        WatchLatency.Result r = WatchLatency.zookeeper(10);
        assertThat(r.p99Millis()).isFinite();
        assertThat(WatchLatency.format(r)).startsWith("| zookeeper");
        WatchLatency.Result many = WatchLatency.zookeeper(10, 3);
        assertThat(many.samples()).isEqualTo(30);
        assertThat(many.p99Millis()).as("every event reached every watcher").isFinite();
    }

    /** etcd watches and Redis keyspace notifications deliver every write (skipped when the peer is missing, except under CI=true). */
    @Test
    void etcdAndRedisWatchesFire() throws Exception {
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        for (String peer : java.util.List.of("etcd", "redis")) {
            java.util.Optional<WatchLatency.Result> r = peer.equals("etcd") ? WatchLatency.etcd(20, 3) : WatchLatency.redis(20, 3);
            if (r.isEmpty()) {
                if (ci) {
                    throw new AssertionError(Peers.missing(peer) + ", and CI=true requires it");
                }
                System.out.println("skipped " + peer + ": " + Peers.missing(peer));
                continue;
            }
            assertThat(r.get().samples()).isEqualTo(60);
            assertThat(r.get().p99Millis()).as(peer + ": every event reached every watcher").isFinite();
        }
    }
}
