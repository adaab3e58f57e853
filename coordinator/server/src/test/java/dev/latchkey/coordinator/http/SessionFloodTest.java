package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.coordinator.store.Schema;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** A flood of sessions does not outpace the reaper: it speeds up with its backlog. */
class SessionFloodTest {

    @DatabaseTest
    void twoThousandSessionsOpenedAtOnceAreAllExpiredWithinTheirTtlAndTwoSeconds(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            long ttlMs = 2_000;
            ExecutorService pool = Executors.newFixedThreadPool(32);
            long lastOpened;
            try {
                List<Future<Long>> opens = new ArrayList<>();
                for (int i = 0; i < 2_000; i++) {
                    opens.add(pool.submit(() -> {
                        h.api.openSession(ttlMs);
                        return System.nanoTime();
                    }));
                }
                lastOpened = 0;
                for (Future<Long> f : opens) {
                    lastOpened = Math.max(lastOpened, f.get());
                }
            } finally {
                pool.shutdownNow();
            }
            long deadline = lastOpened + (ttlMs + 2_000) * 1_000_000L;
            java.util.function.IntSupplier live = () -> h.coordinator.store().read(c -> h.coordinator.store().dsl(c).fetchCount(Schema.SESSION));
            org.awaitility.Awaitility.await().pollInterval(java.time.Duration.ofMillis(50))
                    .atMost(java.time.Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))
                    .until(() -> live.getAsInt() == 0);
            long lateMs = (System.nanoTime() - lastOpened) / 1_000_000 - ttlMs;
            System.out.printf("%s: 2,000 sessions; the last was gone %d ms after its TTL%n", db, lateMs);
            assertThat(live.getAsInt()).as("sessions still live %d ms after the last one's TTL", lateMs).isZero();
        }
    }
}
