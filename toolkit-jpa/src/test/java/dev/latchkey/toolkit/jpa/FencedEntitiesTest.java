package dev.latchkey.toolkit.jpa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.Grant;
import dev.latchkey.coordinator.store.StoreConfig;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.fencing.FenceOutcome;
import dev.latchkey.toolkit.retry.RetryPolicy;
import jakarta.persistence.EntityNotFoundException;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;

class FencedEntitiesTest {

    @DatabaseTest
    void aStaleSequencersEntityWriteIsRefusedAndTheCurrentHoldersStands(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4);
                Coordinator coordinator = new Coordinator(new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 4),
                        Coordinator.Settings.defaults())) {
            JpaToolkit toolkit = JpaToolkit.create(jpa.emf);
            FencedEntities<Item> items = toolkit.fenced(Item.class, "fence");
            JpaTransactor tx = toolkit.transactor(RetryPolicy.defaults());

            String first = coordinator.sessions().open("first", 10_000).id();
            Grant old = coordinator.locks().acquire("/jobs/restock", first, Grant.Mode.EXCLUSIVE, Duration.ZERO, 0);
            Item written = tx.execute("restock", em -> items.write(em, 1L, old::generation, i -> i.setStock(20)).orThrow());
            assertThat(written.getStock()).isEqualTo(20);
            assertThat(written.getFence()).as("the entity holds what the row holds").isEqualTo(old.generation());

            coordinator.sessions().closeSession(first); // the first holder loses its lock (paused, partitioned, expired)
            String second = coordinator.sessions().open("second", 10_000).id();
            Grant current = coordinator.locks().acquire("/jobs/restock", second, Grant.Mode.EXCLUSIVE, Duration.ZERO, 0);
            assertThat(current.generation()).isGreaterThan(old.generation());
            tx.execute("restock", em -> items.write(em, 1L, current::generation, i -> i.setStock(30)).orThrow());

            // the first holder wakes up and writes with its old sequencer
            FencedEntityOutcome<Item> stale = tx.execute("restock", em -> items.write(em, 1L, old::generation, i -> i.setStock(99)));
            assertThat(stale).isEqualTo(new FencedEntityOutcome.Fenced<Item>(1L, old.generation(), current.generation()));
            assertThatThrownBy(stale::orThrow).isInstanceOf(FenceOutcome.FencedOffException.class);
            assertThat(jpa.stock(1)).isEqualTo(30);
            try (var c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT fence FROM jpa_item WHERE id = 1")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(current.generation());
            }

            FencedEntityOutcome<Item> gone = tx.execute("restock", em -> items.write(em, 404L, current::generation, i -> { }));
            assertThat(gone).isEqualTo(new FencedEntityOutcome.Gone<Item>(404L));
            assertThatThrownBy(gone::orThrow).isInstanceOf(EntityNotFoundException.class);
        }
    }

    @DatabaseTest
    void changesMadeBeforeTheFencedWriteAreFlushedNotLost(TestDatabase db) throws Exception {
        try (Jpa jpa = Jpa.on(db, 1, 4)) {
            JpaToolkit toolkit = JpaToolkit.create(jpa.emf);
            FencedEntities<Item> items = toolkit.fenced(Item.class, "fence");
            Item item = toolkit.transactor(RetryPolicy.none()).execute("rename", em -> {
                Item loaded = em.find(Item.class, 1L);
                loaded.setName("renamed first");
                return items.write(em, 1L, () -> 5, i -> i.setStock(1)).orThrow();
            });
            assertThat(item.getName()).isEqualTo("renamed first");
            assertThat(item.getStock()).isEqualTo(1);
            assertThat(jpa.stock(1)).isEqualTo(1);
        }
    }
}
