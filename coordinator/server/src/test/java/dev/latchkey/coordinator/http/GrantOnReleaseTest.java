package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.coordinator.store.Schema;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;

/**
 * A release grants the lock to the head of the queue in its own transaction, and a coordinator's
 * own commits reach its waiters and watchers without being read back from the store.
 */
class GrantOnReleaseTest {

    /**
     * The waiter's coordinator is frozen when the holder releases: nothing on the waiter's side can
     * run, yet the lock is the waiter's the moment the release commits. Thawed, it answers with the
     * generation the release granted. (PostgreSQL and MariaDB: H2 has no idle-in-transaction limit,
     * so a coordinator frozen inside one of its own store transactions, its reaper's tick say, holds
     * the other's writes up; on H2 the hand-on runs, and its order is checked, in TwoCoordinatorsTest's queue replay.)
     */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB})
    void theReleaseItselfGrantsTheHeadWaiterEvenWhileItsCoordinatorIsFrozen(TestDatabase db) throws Exception {
        try (SharedDatabase shared = new SharedDatabase(db); Harness one = shared.harness(); CoordinatorProcess two = shared.process()) {
            handOffWhileFrozen(one, two, "/handoff");
        }
    }

    /**
     * The scenario above, on {@code path}: {@code one} holds it, a session of {@code two} waits
     * (exclusive) and behind it one of {@code one} (shared); {@code two} is frozen while {@code one}
     * releases. Repeated thousands of times by {@link FrozenHandOffStressTest}.
     */
    static void handOffWhileFrozen(Harness one, CoordinatorProcess two, String path) throws Exception {
        String holder = one.api.openSession(60_000);
        String waiter = two.api.openSession(60_000);
        String shared1 = one.api.openSession(60_000);
        assertThat(one.api.acquire(path, holder, "exclusive", 0, 0).status()).isEqualTo(200);
        CompletableFuture<Api.Reply> waiting = CompletableFuture.supplyAsync(() -> two.api.acquire(path, waiter, "exclusive", 30_000, 0));
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> waiters(one, path) == 1);
        // behind it, a shared request: it must not be granted with or before the exclusive head
        CompletableFuture<Api.Reply> behind = CompletableFuture.supplyAsync(() -> one.api.acquire(path, shared1, "shared", 30_000, 0));
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> waiters(one, path) == 2);

        String before = queue(one, path); // (what the store held before the release, for a failure's message)
        long frozenAt = System.nanoTime();
        two.freeze();
        try {
            assertThat(one.api.release(path, holder).status()).isEqualTo(204);
            long releasedMs = (System.nanoTime() - frozenAt) / 1_000_000;
            List<String> holders = one.coordinator.store().read(c -> one.coordinator.store().dsl(c).select(Schema.HOLDER_SESSION)
                    .from(Schema.HOLDER).where(Schema.HOLDER_PATH.eq(path)).fetch(Schema.HOLDER_SESSION));
            assertThat(holders).as(() -> "held by the head waiter (" + waiter + ") as soon as the release committed; the release took "
                    + releasedMs + " ms; before it: " + before + "; after it: " + queue(one, path) + "; the writer: " + one.coordinator.store().batchStats())
                    .containsExactly(waiter);
            assertThat(waiters(one, path)).isEqualTo(1);
            assertThat(behind).isNotDone();
        } finally {
            two.thaw();
        }
        Api.Reply granted = waiting.get();
        assertThat(granted.status()).as(granted.body()).isEqualTo(200);
        long generation = granted.json().get("generation").asLong();
        assertThat(one.api.check(granted.json().get("sequencer").asText())).isTrue();

        // its release hands the lock on to the shared request, one generation later
        assertThat(two.api.release(path, waiter).status()).isEqualTo(204);
        Api.Reply next = behind.get();
        assertThat(next.status()).as(next.body()).isEqualTo(200);
        assertThat(next.json().get("generation").asLong()).isEqualTo(generation + 1);
        assertThat(next.json().get("mode").asText()).isEqualTo("shared");
    }

    @DatabaseTest
    void thisCoordinatorsCommitsReachItsListenersWithoutAStoreRead(TestDatabase db) {
        try (Harness h = new Harness(db)) {
            long before = h.coordinator.events().directDeliveries();
            for (int i = 0; i < 50; i++) {
                assertThat(h.api.put("/direct-" + i, "v").status()).isEqualTo(201);
            }
            // (a commit the poller happened to read first is delivered by it instead: most are not)
            assertThat(h.coordinator.events().directDeliveries() - before).isGreaterThanOrEqualTo(25);
        }
    }

    /** The lock's holders and waiters (session, mode, deadline) and the database's clock, as text. */
    private static String queue(Harness h, String path) {
        var store = h.coordinator.store();
        return store.read(c -> "holders " + store.dsl(c).select(Schema.HOLDER_SESSION, Schema.HOLDER_MODE).from(Schema.HOLDER)
                .where(Schema.HOLDER_PATH.eq(path)).fetch().formatCSV(false)
                + " waiters " + store.dsl(c).select(Schema.WAITER_SESSION, Schema.WAITER_MODE, Schema.WAITER_DEADLINE).from(Schema.WAITER)
                        .where(Schema.WAITER_PATH.eq(path)).orderBy(Schema.WAITER_ID).fetch().formatCSV(false)
                + " clock " + store.nowMillis()).replace('\n', ' ');
    }

    private static int waiters(Harness h, String path) {
        return h.coordinator.store().read(c -> h.coordinator.store().dsl(c).fetchCount(Schema.WAITER, Schema.WAITER_PATH.eq(path)));
    }
}
