package dev.latchkey.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.coordinator.core.Grant;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * The writer holds a batch of nothing but a request that will only be queued (the lock is held),
 * and the holder's release that arrives meanwhile commits in the same transaction: the hand-on
 * does not wait behind the request's own commit. (PostgreSQL: there the writer remembers who holds
 * what, and only then can it tell a request that will be queued.)
 */
class LingerTest {

    /**
     * The window is widened to ten seconds and the release is sent only once the writer has taken
     * the request from its queue, so the release arrives inside the window however slowly a loaded
     * machine schedules the threads. A round may still be written as two batches when the writer
     * forgot what it knew (another write emptied its memory): a few rounds, then.
     */
    @DatabaseTest(only = Database.POSTGRESQL)
    void aReleaseJoinsTheHeldBatchOfARequestThatWillOnlyBeQueued(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Store store = h.coordinator.store();
            store.lingerFor(Duration.ofSeconds(10));
            var locks = h.coordinator.locks();
            String holder = h.api.openSession(60_000);
            String waiter = h.api.openSession(60_000);
            long before = store.lingered();
            for (int round = 0; round < 5 && store.lingered() == before; round++) {
                long generation = locks.acquire("/hot", holder, Grant.Mode.EXCLUSIVE, Duration.ZERO, 0).generation();
                var granted = locks.acquireAsync("/hot", waiter, Grant.Mode.EXCLUSIVE, Duration.ofSeconds(20), 0, null);
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> store.queuedWrites() == 0);
                assertThat(granted).isNotDone();
                long sent = System.nanoTime();
                var released = locks.releaseAsync("/hot", holder);
                var grant = granted.get(20, TimeUnit.SECONDS);
                long grantedMs = (System.nanoTime() - sent) / 1_000_000;
                assertThat(grant.session()).isEqualTo(waiter);
                assertThat(grant.generation()).isEqualTo(generation + 1);
                released.get(20, TimeUnit.SECONDS);
                locks.release("/hot", waiter);
                if (store.lingered() != before) {
                    // the held batch ended when the release came, not when the window ran out
                    assertThat(grantedMs).as("ms from the release to the grant").isLessThan(5_000);
                }
            }
            assertThat(store.lingered()).as("commands that joined a held batch").isGreaterThan(before);
        }
    }
}
