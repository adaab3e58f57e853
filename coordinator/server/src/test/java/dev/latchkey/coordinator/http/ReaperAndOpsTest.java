package dev.latchkey.coordinator.http;

import static dev.latchkey.coordinator.store.Schema.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.time.Duration;

class ReaperAndOpsTest {

    private static final Coordinator.Settings MANUAL_REAPER =
            new Coordinator.Settings(Duration.ofMillis(20), Duration.ofHours(1), Duration.ofSeconds(2), 100_000);

    private static void setTickAndExpiry(Harness h, String session, long tickAgoMs, long expiredAgoMs) {
        h.coordinator.store().read(c -> {
            try {
                long now = h.coordinator.store().nowMillis(c);
                var dsl = h.coordinator.store().dsl(c);
                dsl.update(CELL).set(CELL_VALUE, now - tickAgoMs).where(CELL_NAME.eq("reaper_tick")).execute();
                dsl.update(SESSION).set(SESSION_EXPIRES, now - expiredAgoMs).where(SESSION_ID.eq(session)).execute();
                return null;
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** After a store outage longer than the threshold, leases are extended by the outage before anything is reaped. */
    @DatabaseTest
    void anOutageExtendsLeasesInsteadOfExpiringThem(TestDatabase db) {
        try (Harness h = new Harness(db, MANUAL_REAPER)) {
            Api api = h.api;
            String session = api.openSession(2_000);
            String sequencer = api.acquire("/job", session, "exclusive", 0, 0).json().get("sequencer").asText();
            setTickAndExpiry(h, session, 30_000, 1_000); // 30 s without a tick; the lease ran out 1 s ago
            assertThat(h.coordinator.reaper().tick()).as("sessions expired").isZero();
            assertThat(api.keepAlive(session).status()).isEqualTo(200);
            assertThat(api.check(sequencer)).isTrue();
        }
    }

    /**
     * After an outage, a keep-alive or an operation can reach a coordinator before its reaper has
     * ticked: it is judged as the reaper is about to judge it, with the outage credited.
     */
    @DatabaseTest
    void beforeTheFirstTickAfterAnOutageTheOutageIsAlreadyCredited(TestDatabase db) {
        try (Harness h = new Harness(db, MANUAL_REAPER)) {
            Api api = h.api;
            String session = api.openSession(2_000);
            String other = api.openSession(2_000);
            setTickAndExpiry(h, session, 30_000, 1_000);
            assertThat(api.keepAlive(session).status()).as("renewed, not refused").isEqualTo(200);
            setTickAndExpiry(h, other, 30_000, 1_000);
            assertThat(api.acquire("/job", other, "exclusive", 0, 0).status()).as("a lock for a session the outage kept").isEqualTo(200);
            // an outage shorter than the threshold (2 s) is no excuse
            setTickAndExpiry(h, other, 1_000, 1_000);
            assertThat(api.acquire("/job2", other, "exclusive", 0, 0).status()).isEqualTo(404);
            assertThat(api.keepAlive(other).status()).isEqualTo(404);
        }
    }

    @DatabaseTest
    void withoutAnOutageAnExpiredLeaseIsReaped(TestDatabase db) {
        try (Harness h = new Harness(db, MANUAL_REAPER)) {
            Api api = h.api;
            String session = api.openSession(2_000);
            String sequencer = api.acquire("/job", session, "exclusive", 0, 0).json().get("sequencer").asText();
            setTickAndExpiry(h, session, 100, 1_000);
            assertThat(api.keepAlive(session).status()).as("expiry is the database clock's call").isEqualTo(404);
            assertThat(h.coordinator.reaper().tick()).isEqualTo(1);
            assertThat(api.check(sequencer)).isFalse();
        }
    }

    /** The revisions in the event log, oldest first. */
    private static java.util.List<Long> loggedRevisions(Harness h) {
        return h.coordinator.store().read(c -> h.coordinator.store().dsl(c).select(EVENT_REV).from(EVENT).orderBy(EVENT_REV).fetch(EVENT_REV));
    }

    /**
     * Retention keeps exactly the newest events, tick after tick: each tick deletes what lies between
     * the previous horizon and the new one (a range closed on both sides), and nothing is left below.
     */
    @DatabaseTest
    void retentionKeepsExactlyTheNewestEventsTickAfterTick(TestDatabase db) {
        try (Harness h = new Harness(db, MANUAL_REAPER.withEventRetention(10))) {
            Api api = h.api;
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 12 + 9 * round; i++) {
                    assertThat(api.put("/retained-" + (i % 4), Integer.toString(i)).status()).isIn(200, 201);
                }
                h.coordinator.reaper().tick();
                long current = h.coordinator.events().currentRevision();
                assertThat(loggedRevisions(h)).as("round %d", round)
                        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(current - 9, current).boxed().toList());
            }
            h.coordinator.reaper().tick(); // nothing new: nothing more goes
            long current = h.coordinator.events().currentRevision();
            assertThat(loggedRevisions(h)).hasSize(10).startsWith(current - 9);
        }
    }

    @DatabaseTest
    void healthAndMetricsReportTheStore(TestDatabase db) {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            String session = api.openSession(10_000);
            api.acquire("/job", session, "exclusive", 0, 0);
            Api.Reply health = api.call("GET", "/v1/health", null);
            assertThat(health.status()).isEqualTo(200);
            assertThat(health.json().get("store").asText()).isEqualTo("reachable");
            String metrics = api.call("GET", "/metrics", null).body();
            assertThat(metrics).contains("latchkey_sessions 1.0", "latchkey_locks_held 1.0", "latchkey_lock_waiters 0.0",
                    "latchkey_event_lag", "latchkey_http_requests_seconds_count");
            // the writer committed the acquire (and the session's other writes) and timed it
            assertThat(metric(metrics, "latchkey_store_batches_total")).isGreaterThanOrEqualTo(1);
            assertThat(metric(metrics, "latchkey_store_batches_from_memory_total")).isGreaterThanOrEqualTo(0);
            assertThat(metric(metrics, "latchkey_store_batches_stale_memory_total")).isGreaterThanOrEqualTo(0);
            assertThat(metric(metrics, "latchkey_store_batch_operations_total")).isGreaterThanOrEqualTo(metric(metrics, "latchkey_store_batches_total"));
            assertThat(metric(metrics, "latchkey_store_batch_time_seconds_total{phase=\"total\"}")).isPositive()
                    .isGreaterThanOrEqualTo(metric(metrics, "latchkey_store_batch_time_seconds_total{phase=\"commit\"}"))
                    .isGreaterThanOrEqualTo(metric(metrics, "latchkey_store_batch_time_seconds_total{phase=\"head\"}"));
            assertThat(api.call("GET", "/v1/nope", null).status()).isEqualTo(404);
        }
    }

    /** A sample's value in Prometheus text, by its name and labels as written. */
    private static double metric(String metrics, String sample) {
        return metrics.lines().filter(l -> l.startsWith(sample + " ")).mapToDouble(l -> Double.parseDouble(l.substring(sample.length() + 1)))
                .findFirst().orElseThrow(() -> new AssertionError("no " + sample + " in the metrics"));
    }

    /** A coordinator on its embedded default stopped the usual way (SIGTERM) says nothing alarming on the way out. */
    @org.junit.jupiter.api.Test
    void aCleanStopOfTheEmbeddedDefaultLogsNoWarnings(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        for (int i = 0; i < 3; i++) {
            CoordinatorProcess p = new CoordinatorProcess(java.util.List.of("--data-dir", dir.toString()));
            try {
                assertThat(p.api.put("/stop-" + i, "x").status()).isEqualTo(201);
                String session = p.api.openSession(10_000);
                assertThat(p.api.acquire("/stop-lock-" + i, session, "exclusive", 0, 0).status()).isEqualTo(200);
            } finally {
                p.close(); // SIGTERM, and waits for the exit
            }
            assertThat(p.output.toString()).as("stop %d", i).doesNotContain("WARN", "ERROR", "Exception");
        }
    }
}
