package dev.latchkey.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.time.Duration;

/** The session-capacity benchmark runs briefly in the suite, so it does not rot. */
class SessionCapacitySmokeTest {

    @DatabaseTest(only = {Database.POSTGRESQL, Database.H2})
    void sessionsKeptAliveDoNotExpireAndKeepAlivesAreBatched(TestDatabase db) throws Exception {
        SessionCapacity.Result r = SessionCapacity.run(db.jdbcUrl(), db.user(), db.password(), 200, Duration.ofSeconds(3), Duration.ofSeconds(3));
        assertThat(r.spuriousExpiries()).isZero();
        assertThat(r.liveAtEnd()).isEqualTo(200);
        assertThat(r.keepAlives()).isGreaterThan(200);
        assertThat(r.storeWritesPerSecond()).as("batched: far fewer writes than keep-alives").isLessThan(r.keepAlivesPerSecond() / 2);
    }

    @org.junit.jupiter.api.Test
    void etcdLeasesKeptAliveDoNotExpire() throws Exception {
        java.util.Optional<SessionCapacity.PeerResult> r = SessionCapacity.etcd(200, Duration.ofSeconds(3), Duration.ofSeconds(3));
        if (r.isEmpty()) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new AssertionError(Peers.missing("etcd") + ", and CI=true requires it");
            }
            org.junit.jupiter.api.Assumptions.abort(Peers.missing("etcd"));
        }
        assertThat(r.get().expired()).isZero();
        assertThat(r.get().keepAlivesPerSecond()).isGreaterThan(100);
        assertThat(r.get().serverCores()).isNotNaN();
    }
}
