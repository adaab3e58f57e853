package dev.latchkey.coordinator.clienttest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.Lease;
import dev.latchkey.client.Sequencer;
import dev.latchkey.client.Session;
import dev.latchkey.client.SessionState;
import dev.latchkey.coordinator.http.CoordinatorProcess;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.coordinator.http.SharedDatabase;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.fencing.CoordinatorFence;
import dev.latchkey.toolkit.fencing.FenceOutcome;
import dev.latchkey.toolkit.fencing.FencedTable;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

class ClientSessionTest {

    /** Kill one of two coordinators while the client holds a lock: it carries on through the other. */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.H2, Database.MARIADB})
    void theClientCarriesOnThroughTheOtherCoordinatorKeepingSessionAndLock(TestDatabase db) throws Exception {
        try (SharedDatabase shared = new SharedDatabase(db); Harness survivor = shared.harness(); CoordinatorProcess doomed = shared.process();
                LatchkeyClient client = LatchkeyClient.connect(doomed.api.base, survivor.api.base);
                Session session = client.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(2)).cache(false))) {
            StateRecorder recorder = new StateRecorder();
            session.addListener(recorder);
            Lease lease = session.acquire("/job", Duration.ofSeconds(5));
            doomed.kill();
            Thread.sleep(3_000); // longer than the TTL: only keep-alives through the survivor can have kept the session
            assertThat(session.state()).isEqualTo(SessionState.SAFE);
            assertThat(lease.isHeld()).isTrue();
            assertThat(client.check(lease.sequencer())).isTrue();
            if (recorder.states.contains(SessionState.JEOPARDY)) {
                assertThat(recorder.states).containsSubsequence(SessionState.JEOPARDY, SessionState.SAFE);
            }
            assertThat(recorder.states).doesNotContain(SessionState.EXPIRED);
            lease.release();
        }
    }

    /** A pause longer than the client's lease but shorter than the coordinator's: jeopardy, then safe again. */
    @DatabaseTest(only = Database.H2)
    void aShortFreezeIsJeopardyThenSafe(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db, Harness.fastReaper()); LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session session = client.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(3))
                        .leaseMargin(Duration.ofMillis(1_500)))) {
            StateRecorder recorder = new StateRecorder();
            session.addListener(recorder);
            Lease lease = session.acquire("/job", Duration.ZERO);
            session.freezeKeepAlives(Duration.ofMillis(1_700));
            await().atMost(Duration.ofSeconds(3)).until(() -> session.state() == SessionState.JEOPARDY);
            assertThat(lease.isHeld()).as("not trusted in jeopardy").isFalse();
            await().atMost(Duration.ofSeconds(3)).until(() -> session.state() == SessionState.SAFE);
            assertThat(lease.isHeld()).isTrue();
            assertThat(recorder.states).containsExactly(SessionState.JEOPARDY, SessionState.SAFE);
        }
    }

    /**
     * Freeze a client past its TTL: jeopardy, then expired; its lease is not held; its sequencer is
     * refused by a fenced write; another client gets the lock only after the lock-delay.
     */
    @DatabaseTest
    void aClientFrozenPastItsTtlExpiresAndIsFencedOff(TestDatabase db) throws Exception {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE register (id BIGINT PRIMARY KEY, val VARCHAR(64), fence BIGINT)");
            s.execute("INSERT INTO register (id, val) VALUES (1, 'initial')");
        }
        FencedTable register = Toolkit.create(db.dataSource()).fenced(TableSpec.table("register").key("id").fence("fence"));
        try (Harness h = new Harness(db, Harness.fastReaper()); LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session frozen = client.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(2)).cache(false));
                Session other = client.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(10)).cache(false))) {
            StateRecorder recorder = new StateRecorder();
            frozen.addListener(recorder);
            Lease old = frozen.acquire("/register", Sequencer.Mode.EXCLUSIVE, Duration.ZERO, Duration.ofMillis(1_500));
            try (Connection c = db.dataSource().getConnection()) {
                assertThat(register.update(1L, old.sequencer()::generation).set("val", "old leader").execute(c).accepted()).isTrue();
            }
            long frozenAt = System.nanoTime();
            frozen.freezeKeepAlives(Duration.ofSeconds(5));
            CompletableFuture<Lease> next = CompletableFuture.supplyAsync(() -> other.acquire("/register", Duration.ofSeconds(15)));

            await().atMost(Duration.ofSeconds(3)).until(() -> frozen.state() == SessionState.JEOPARDY);
            assertThat(old.isHeld()).isFalse();
            Lease newer = next.get();
            long grantedAfterMs = (System.nanoTime() - frozenAt) / 1_000_000;
            assertThat(grantedAfterMs).as("not before TTL + lock-delay").isGreaterThanOrEqualTo(2_000 + 1_500 - 700);
            try (Connection c = db.dataSource().getConnection()) {
                assertThat(register.update(1L, newer.sequencer()::generation).set("val", "new leader").execute(c).accepted()).isTrue();
                FenceOutcome stale = register.update(1L, old.sequencer()::generation).set("val", "zombie").execute(c);
                assertThat(stale).isInstanceOf(FenceOutcome.Fenced.class);
            }
            await().atMost(Duration.ofSeconds(8)).until(() -> frozen.state() == SessionState.EXPIRED);
            assertThat(recorder.states).containsExactly(SessionState.JEOPARDY, SessionState.EXPIRED);
            assertThat(old.isHeld()).isFalse();
            assertThat(client.check(old.sequencer())).isFalse();

            // inside a transaction on the store's own database, the sequencer is checked with a share lock
            try (Connection c = db.dataSource().getConnection()) {
                c.setAutoCommit(false);
                var kind = h.coordinator.store().kind();
                Sequencer s = newer.sequencer();
                assertThat(CoordinatorFence.holds(c, kind, s.path(), s.mode().name(), s.generation(), s.session())).isTrue();
                Sequencer o = old.sequencer();
                assertThat(CoordinatorFence.holds(c, kind, o.path(), o.mode().name(), o.generation(), o.session())).isFalse();
                c.commit();
            }
        }
        try (Connection c = db.connect(); Statement s = c.createStatement(); var rs = s.executeQuery("SELECT val FROM register WHERE id = 1")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("new leader");
        }
    }
}
