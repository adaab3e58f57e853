package dev.latchkey.coordinator.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.Lease;
import dev.latchkey.client.Session;
import dev.latchkey.coordinator.clienttest.StateRecorder;
import dev.latchkey.client.SessionState;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.Api;
import dev.latchkey.coordinator.http.CoordinatorProcess;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.coordinator.http.SharedDatabase;
import dev.latchkey.coordinator.store.Schema;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.FaultProxy;
import dev.latchkey.testing.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the coordinator does when its surroundings fail: a database that goes away and comes back,
 * a slow database, a coordinator frozen past its clients' leases, a transaction left open by a
 * stalled coordinator. (A coordinator killed outright: {@code ClientSessionTest}.)
 */
class FaultsTest {

    /** A fast reaper whose outage threshold (1 s) is shorter than the outages these tests cause. */
    private static final Coordinator.Settings SETTINGS = Harness.fastReaper().withOutageThreshold(Duration.ofSeconds(1));

    /**
     * The database is unreachable for twice the sessions' TTL, then back. Live clients go into
     * jeopardy and come back safe with their locks; the outage is not held against their leases.
     * A client that died before the outage still expires afterwards. (On database servers: an
     * embedded H2 store cannot be unreachable, and H2's own TCP server does not survive having
     * every connection cut.)
     */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB})
    void theDatabaseAwayForTwiceTheTtlCostsLiveSessionsNothing(TestDatabase db) throws Exception {
        try (SharedDatabase shared = new SharedDatabase(db); FaultProxy proxy = FaultProxy.inFrontOf(shared.url);
                Harness h = new Harness(proxy.jdbcUrl(), shared.user, shared.password, SETTINGS);
                LatchkeyClient client = LatchkeyClient.connect(h.api.base);
                Session live = client.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(2)).cache(false));
                Session dead = client.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(2)).cache(false))) {
            StateRecorder states = new StateRecorder();
            live.addListener(states);
            Lease lease = live.acquire("/job", Duration.ZERO);
            Lease deadLease = dead.acquire("/dead-job", Duration.ZERO);
            dead.abandon(); // crashed just before the outage: nobody renews it

            long cutAt = System.nanoTime();
            proxy.cut();
            await().atMost(Duration.ofSeconds(4)).until(() -> live.state() == SessionState.JEOPARDY);
            // the store stays away for 4 s in all, twice the TTL: the outage itself is what is tested
            Thread.sleep(Math.max(0, 4_000 - (System.nanoTime() - cutAt) / 1_000_000));
            assertThat(live.state()).as("jeopardy, not expiry, while nothing can be decided").isEqualTo(SessionState.JEOPARDY);
            proxy.restore();

            await().atMost(Duration.ofSeconds(15)).until(() -> live.state() != SessionState.JEOPARDY);
            assertThat(live.state()).as("states seen: %s", states.states).isEqualTo(SessionState.SAFE);
            assertThat(client.check(lease.sequencer())).as("the lock survived the outage").isTrue();
            assertThat(states.states).containsExactly(SessionState.JEOPARDY, SessionState.SAFE);
            // the outage was credited to every lease, but the dead client's still runs out afterwards
            await().atMost(Duration.ofSeconds(10)).until(() -> !client.check(deadLease.sequencer()));
            assertThat(client.check(lease.sequencer())).isTrue();
            assertThat(live.state()).isEqualTo(SessionState.SAFE);
            lease.release();
        }
    }

    /**
     * Every database round trip takes 40 ms more. Clients contending for one lock still never
     * overlap, lose no update, and keep their sessions.
     */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB})
    void aSlowDatabaseSlowsLocksDownWithoutBreakingThem(TestDatabase db) throws Exception {
        try (SharedDatabase shared = new SharedDatabase(db); FaultProxy proxy = FaultProxy.inFrontOf(shared.url);
                Harness h = new Harness(proxy.jdbcUrl(), shared.user, shared.password, SETTINGS);
                LatchkeyClient client = LatchkeyClient.connect(h.api.base)) {
            client.write("/counter", "0".getBytes(StandardCharsets.UTF_8), null);
            proxy.delay(20);
            AtomicInteger inside = new AtomicInteger();
            AtomicBoolean overlap = new AtomicBoolean();
            AtomicInteger done = new AtomicInteger();
            List<StateRecorder> states = new ArrayList<>();
            List<CompletableFuture<Integer>> workers = new ArrayList<>();
            long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
            for (int i = 0; i < 3; i++) {
                Session session = client.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(3)).cache(false));
                StateRecorder s = new StateRecorder();
                session.addListener(s);
                states.add(s);
                workers.add(CompletableFuture.supplyAsync(() -> {
                    int mine = 0;
                    try (session) {
                        while (System.nanoTime() < until) {
                            try (Lease lease = session.acquire("/counter-lock", Duration.ofSeconds(20))) {
                                if (inside.incrementAndGet() != 1) {
                                    overlap.set(true);
                                }
                                var file = client.read("/counter");
                                int value = Integer.parseInt(file.text());
                                client.write("/counter", Integer.toString(value + 1).getBytes(StandardCharsets.UTF_8), file.generation());
                                mine++;
                                done.incrementAndGet();
                                inside.decrementAndGet();
                            }
                        }
                    }
                    return mine;
                }));
            }
            for (CompletableFuture<Integer> w : workers) {
                assertThat(w.get()).as("every client got the lock").isPositive();
            }
            proxy.restore();
            assertThat(overlap).as("two holders at once").isFalse();
            assertThat(client.read("/counter").text()).isEqualTo(Integer.toString(done.get()));
            for (StateRecorder s : states) {
                assertThat(s.states).doesNotContain(SessionState.EXPIRED);
            }
        }
    }

    /**
     * A coordinator frozen (SIGSTOP) past its clients' leases, then resumed: the requests it
     * accepted before and during the freeze are judged by the store as it is now, so it cannot
     * renew an expired session, grant it a lock, or write for it. (Not on H2: H2 has no limit on
     * idle transactions, so a coordinator frozen inside a store transaction holds up the others
     * until it resumes; several coordinators on one H2 database are for development only.)
     */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB})
    void aCoordinatorFrozenPastTheLeaseCannotActForItsExpiredSessions(TestDatabase db) throws Exception {
        try (SharedDatabase shared = new SharedDatabase(db); Harness healthy = new Harness(shared.url, shared.user, shared.password, SETTINGS);
                CoordinatorProcess frozen = shared.process();
                LatchkeyClient viaFrozen = LatchkeyClient.connect(frozen.api.base);
                LatchkeyClient viaHealthy = LatchkeyClient.connect(healthy.api.base);
                Session stranded = viaFrozen.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(2)).cache(false));
                Session other = viaHealthy.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(20)).cache(false))) {
            Lease old = stranded.acquire("/job", Duration.ZERO);
            Api frozenApi = frozen.api;

            frozen.freeze();
            try {
                // requests that reach the frozen coordinator wait in its socket's backlog
                CompletableFuture<Api.Reply> renew = CompletableFuture.supplyAsync(
                        () -> frozenApi.call("POST", "/v1/sessions/" + stranded.id() + "/keepalive", null));
                CompletableFuture<Api.Reply> grab = CompletableFuture.supplyAsync(
                        () -> frozenApi.acquire("/second-job", stranded.id(), "exclusive", 0, 0));
                CompletableFuture<Api.Reply> ephemeral = CompletableFuture.supplyAsync(
                        () -> frozenApi.call("PUT", "/v1/nodes/members/stranded?ephemeral=true&session=" + stranded.id(), "here"));

                // meanwhile the healthy coordinator expires the stranded session and hands the lock on
                Lease next = other.acquire("/job", Duration.ofSeconds(15));
                assertThat(next.sequencer().generation()).isGreaterThan(old.sequencer().generation());
                assertThat(healthy.api.keepAlive(stranded.id()).status()).isEqualTo(404);

                frozen.thaw();
                assertThat(renew.get().status()).as(renew.get().body()).isEqualTo(404);
                assertThat(grab.get().status()).as(grab.get().body()).isEqualTo(404);
                assertThat(ephemeral.get().status()).as(ephemeral.get().body()).isEqualTo(404);
            } finally {
                frozen.thaw();
            }
            assertThat(frozenApi.keepAlive(stranded.id()).status()).isEqualTo(404);
            assertThat(frozenApi.check(old.sequencer().encode())).isFalse();
            assertThat(viaHealthy.check(other.acquire("/job", Duration.ZERO).sequencer())).as("re-entrant, still held").isTrue();
            assertThat(frozenApi.call("GET", "/v1/nodes/members/stranded", null).status()).isEqualTo(404);
            assertThat(frozenApi.call("GET", "/v1/locks/second-job", null).json().get("holders")).isEmpty();
            await().atMost(Duration.ofSeconds(5)).until(() -> stranded.state() == SessionState.EXPIRED);
        }
    }

    /**
     * A coordinator that stalls inside a store transaction holds the revision counter's row lock,
     * which every writer needs first. The database ends such a transaction after
     * {@link Store#IDLE_IN_TRANSACTION_LIMIT}, and the other coordinators' writes go on.
     */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB})
    void aTransactionLeftOpenByAStalledCoordinatorIsCutLoose(TestDatabase db) throws Exception {
        try (Harness stalled = new Harness(db); Harness healthy = new Harness(db)) {
            Store store = stalled.coordinator.store();
            Connection c = store.dataSource().getConnection();
            try {
                c.setAutoCommit(false);
                store.dsl(c).select(Schema.CELL_VALUE).from(Schema.CELL).where(Schema.CELL_NAME.eq("revision")).forUpdate().fetch();
                long start = System.nanoTime();
                assertThat(healthy.api.put("/after-the-stall", "v").status()).isEqualTo(201);
                long waitedMs = (System.nanoTime() - start) / 1_000_000;
                assertThat(waitedMs).as("blocked behind the stalled transaction, then freed by the database")
                        .isBetween(Store.IDLE_IN_TRANSACTION_LIMIT.toMillis() - 500, Store.IDLE_IN_TRANSACTION_LIMIT.toMillis() + 3_000);
                org.assertj.core.api.Assertions.assertThatThrownBy(c::commit).as("the stalled transaction was ended")
                        .isInstanceOf(java.sql.SQLException.class);
            } finally {
                try {
                    c.close();
                } catch (java.sql.SQLException closing) {
                    // the server already ended it
                }
            }
            assertThat(stalled.api.put("/stalled-coordinator-recovers", "v").status()).isEqualTo(201);
        }
    }
}
