package dev.latchkey.coordinator.http;

import static dev.latchkey.coordinator.store.Schema.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.coordinator.Main;
import dev.latchkey.coordinator.store.AfterRestore;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.StoreConfig;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.jooq.impl.DSL;

/**
 * A store restored from a backup is older than what its clients saw. After {@code after-restore}
 * no sequencer, file generation or watch cursor from before the restore can pass for a current one.
 */
class AfterRestoreTest {

    @DatabaseTest
    void afterARestoreNothingIssuedBeforeCanPassForCurrent(TestDatabase db) {
        String session;
        String seenSequencer;
        long seenGeneration;
        long seenRevision;
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            session = api.openSession(60_000);
            for (int i = 0; i < 3; i++) {
                api.acquire("/job", session, "exclusive", 0, 0);
                api.release("/job", session);
            }
            Api.Reply grant = api.acquire("/job", session, "exclusive", 0, 0);
            seenSequencer = grant.json().get("sequencer").asText();
            seenGeneration = grant.json().get("generation").asLong();
            for (int i = 0; i < 3; i++) {
                api.put("/config", "v" + i);
            }
            seenRevision = h.coordinator.events().currentRevision();
            // the backup was taken earlier: restoring it rolls generations and revisions back
            h.coordinator.store().read(c -> {
                var dsl = h.coordinator.store().dsl(c);
                dsl.update(NODE).set(NODE_LOCK_GEN, 1L).set(NODE_CONTENT_GEN, 1L).execute();
                dsl.update(HOLDER).set(HOLDER_GENERATION, 1L).execute();
                dsl.update(CELL).set(CELL_VALUE, 2L).where(CELL_NAME.eq("revision")).execute();
                return dsl.deleteFrom(EVENT).where(EVENT_REV.gt(2L)).execute();
            });
        }
        assertThat(seenGeneration).isEqualTo(4);

        StoreConfig config = new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 2);
        try (Store store = Store.open(config)) {
            assertThatThrownBy(() -> AfterRestore.repair(store, false)).as("a coordinator ticked moments ago")
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("stop every coordinator");
            int sessions = store.read(c -> store.dsl(c).fetchCount(SESSION));
            assertThat(sessions).as("refusing changed nothing").isEqualTo(1);
            // as if the coordinators had been stopped for a while
            store.read(c -> store.dsl(c).update(CELL).set(CELL_VALUE, CELL_VALUE.minus(60_000L)).where(CELL_NAME.eq("reaper_tick")).execute());
        }
        StringWriter out = new StringWriter();
        int exit = Main.run(new String[] {"after-restore", "--db-url", db.jdbcUrl(), "--db-user", db.user(), "--db-password", db.password()},
                new PrintWriter(out, true), new PrintWriter(new StringWriter(), true));
        assertThat(exit).as(out.toString()).isZero();
        assertThat(out.toString()).contains("1 sessions ended (1 locks, 0 ephemeral nodes)");

        try (Harness h = new Harness(db)) {
            Api api = h.api;
            assertThat(api.keepAlive(session).status()).as("sessions from the backup are over").isEqualTo(404);
            assertThat(api.check(seenSequencer)).isFalse();
            String fresh = api.openSession(60_000);
            long generation = api.acquire("/job", fresh, "exclusive", 0, 0).json().get("generation").asLong();
            assertThat(generation).as("fencing tokens keep going up across the restore").isGreaterThan(seenGeneration);
            assertThat(api.put("/config", "stale", "If-Match", "\"3\"").status()).as("a generation seen before the restore").isEqualTo(412);
            JsonNode poll = api.call("GET", "/v1/events?after=" + seenRevision + "&waitMs=0", null).json();
            assertThat(poll.get("resync").asBoolean()).as("a watcher from before the restore is told to resync").isTrue();
            long revision = h.coordinator.events().currentRevision();
            assertThat(revision).isGreaterThan(seenRevision);
            long lowestContentGeneration = h.coordinator.store().read(c -> h.coordinator.store().dsl(c).select(DSL.min(NODE_CONTENT_GEN))
                    .from(NODE).fetchOne(0, Long.class));
            assertThat(lowestContentGeneration).isGreaterThan(3L);
        }
    }
}
