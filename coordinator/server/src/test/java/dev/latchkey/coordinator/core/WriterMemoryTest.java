package dev.latchkey.coordinator.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.StoreConfig;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.dialect.DatabaseKind;

/**
 * The writer decides lock commands from what it remembers of its own last commit (on PostgreSQL),
 * and that memory is never trusted past what it can know: another coordinator's write since, or a
 * lease it remembers as run out, sends the batch to the store. The same expectations hold on every
 * database, whichever way the writer decides.
 */
class WriterMemoryTest {

    // the writer's memory is off by default (see Store): these tests cover it, so they turn it on
    @org.junit.jupiter.api.BeforeAll
    static void memoryOn() {
        System.setProperty("latchkey.store.memory", "true");
    }

    @org.junit.jupiter.api.AfterAll
    static void memoryAsBefore() {
        System.clearProperty("latchkey.store.memory");
    }

    /** No reaper ticks during a test: the exact counts of batches from memory are then the test's own. */
    private static final Coordinator.Settings QUIET = new Coordinator.Settings(java.time.Duration.ofMillis(20), java.time.Duration.ofHours(1),
            java.time.Duration.ofHours(2), 100_000);

    private static Object command(Coordinator c, LockBatch.Command command) {
        try {
            return c.store().command(LockBatch.INSTANCE, command);
        } catch (CoordinatorException refused) {
            return refused;
        }
    }

    /** The writer's counters since {@code before}, once they count the batch just answered (it counts a batch after answering it). */
    private static Store.BatchStats since(Coordinator c, Store.BatchStats before) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> c.store().batchStats().batches() > before.batches());
        return c.store().batchStats().minus(before);
    }

    /** Waits until the reaper of each coordinator has committed two more ticks (each a batch of its writer). */
    private static void awaitReaperTicks(Coordinator... coordinators) {
        long[] before = java.util.Arrays.stream(coordinators).mapToLong(c -> c.store().batchStats().batches()).toArray();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> java.util.stream.IntStream
                .range(0, coordinators.length).allMatch(i -> coordinators[i].store().batchStats().batches() >= before[i] + 2));
    }

    private static LockBatch.Acquire tryAcquire(String path, String session) {
        return new LockBatch.Acquire(path, session, Grant.Mode.EXCLUSIVE, 0, -1, 0, null);
    }

    @DatabaseTest
    void aReleaseThroughAnotherCoordinatorIsSeenByTheNextDecision(TestDatabase db) {
        StoreConfig config = new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 4);
        try (Coordinator one = new Coordinator(config, QUIET); Coordinator two = new Coordinator(config, QUIET)) {
            boolean postgres = one.store().kind() == DatabaseKind.POSTGRES;
            String first = one.sessions().open("memory", 60_000).id();
            String second = one.sessions().open("memory", 60_000).id();

            assertThat(command(one, tryAcquire("/mem", first))).isInstanceOf(LockBatch.Granted.class);
            assertThat(command(one, tryAcquire("/mem", second))).isInstanceOf(LockBatch.Busy.class);
            Store.BatchStats before = one.store().batchStats();
            assertThat(command(one, tryAcquire("/mem", second))).isInstanceOf(LockBatch.Busy.class);
            Store.BatchStats busy = since(one, before);
            if (postgres) {
                // everything it needed was remembered: the lock's rows and both leases
                assertThat(busy.fromMemory()).isEqualTo(1);
            }

            // the other coordinator frees the lock; what the first remembers says it is held
            assertThat(command(two, new LockBatch.Release("/mem", first))).isEqualTo(Boolean.TRUE);
            before = one.store().batchStats();
            Object outcome = command(one, tryAcquire("/mem", second));
            assertThat(outcome).isInstanceOf(LockBatch.Granted.class);
            assertThat(((LockBatch.Granted) outcome).grant().generation()).isEqualTo(2);
            Store.BatchStats granted = since(one, before);
            if (postgres) {
                assertThat(granted.staleMemory()).as("the guard saw the other writer's commit").isEqualTo(1);
            }
            assertThat(one.events().currentRevision()).isEqualTo(two.events().currentRevision());
        }
    }

    /**
     * A batch that reads the store (here: a lock the writer has not seen) after another
     * coordinator's write must not make what the writer remembered of other locks look current.
     */
    @DatabaseTest
    void aBatchReadFromTheStoreAfterAnotherWriterDoesNotVouchForOlderMemory(TestDatabase db) {
        StoreConfig config = new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 4);
        try (Coordinator one = new Coordinator(config, QUIET); Coordinator two = new Coordinator(config, QUIET)) {
            String first = one.sessions().open("memory", 60_000).id();
            String second = one.sessions().open("memory", 60_000).id();
            assertThat(command(one, tryAcquire("/old", first))).isInstanceOf(LockBatch.Granted.class);
            assertThat(command(one, tryAcquire("/old", second))).isInstanceOf(LockBatch.Busy.class); // (both leases remembered)
            assertThat(command(two, new LockBatch.Release("/old", first))).isEqualTo(Boolean.TRUE);
            assertThat(command(one, tryAcquire("/new", first))).isInstanceOf(LockBatch.Granted.class); // read from the store
            Object outcome = command(one, tryAcquire("/old", second));
            assertThat(outcome).as("%s", outcome).isInstanceOf(LockBatch.Granted.class);
        }
    }

    /**
     * Every coordinator's reaper writes four times a second; a tick that ends no session changes
     * nothing a writer remembers, so neither its own writer nor the other coordinator's forgets.
     */
    @DatabaseTest
    void quietReaperTicksOnEitherCoordinatorLeaveTheMemoryInPlace(TestDatabase db) throws Exception {
        StoreConfig config = new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 4);
        try (Coordinator one = new Coordinator(config, Coordinator.Settings.defaults());
                Coordinator two = new Coordinator(config, Coordinator.Settings.defaults())) {
            String session = one.sessions().open("memory", 60_000).id();
            assertThat(command(one, tryAcquire("/quiet", session))).isInstanceOf(LockBatch.Granted.class);
            Store.BatchStats before = one.store().batchStats();
            for (int i = 0; i < 5; i++) {
                awaitReaperTicks(one, two); // (ticks of each reaper in between)
                assertThat(command(one, new LockBatch.Release("/quiet", session))).isEqualTo(Boolean.TRUE);
                assertThat(command(one, tryAcquire("/quiet", session))).isInstanceOf(LockBatch.Granted.class);
            }
            if (one.store().kind() == DatabaseKind.POSTGRES) {
                // Ten batches. Were the memory emptied by the ticks, each release after a pause would read
                // the store (five from memory at most); a decision's clock that a loaded machine holds up
                // past the guard's slack is read again too (allowed twice).
                // (the writer counts a batch just after answering it)
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).untilAsserted(() -> {
                    Store.BatchStats d = one.store().batchStats().minus(before);
                    assertThat(d.fromMemory() + d.staleMemory()).as("%s", d).isGreaterThanOrEqualTo(10);
                });
                assertThat(one.store().batchStats().minus(before).fromMemory()).isGreaterThanOrEqualTo(8);
            }
        }
    }

    @DatabaseTest
    void aLeaseRememberedAsRunOutButKeptAliveSinceIsStillLive(TestDatabase db) throws Exception {
        StoreConfig config = new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 4);
        try (Coordinator one = new Coordinator(config, Coordinator.Settings.defaults())) {
            Sessions.Info opened = one.sessions().open("memory", Sessions.MIN_TTL_MS);
            String session = opened.id();
            assertThat(command(one, tryAcquire("/lease", session))).isInstanceOf(LockBatch.Granted.class);
            // keep-alives extend the lease in the store, outside the writer, until the database clock
            // is past the lease the writer remembers
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).pollInterval(java.time.Duration.ofMillis(Sessions.MIN_TTL_MS / 4))
                    .until(() -> {
                        one.sessions().keepAlive(session).get();
                        return one.store().nowMillis() > opened.expiresMs() + Sessions.MIN_TTL_MS / 4;
                    });
            Object again = command(one, tryAcquire("/lease", session));
            assertThat(again).as("%s", again).isInstanceOf(LockBatch.Granted.class);
            assertThat(command(one, new LockBatch.Release("/lease", session))).isEqualTo(Boolean.TRUE);
        }
    }
}
