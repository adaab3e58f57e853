package dev.latchkey.coordinator.failover;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.client.FileContent;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.Lease;
import dev.latchkey.client.Session;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.coordinator.store.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The coordinator on a Galera cluster ({@code bin/ha galera}): its store connections read causally
 * (it sets wsrep_sync_wait itself), so a write acknowledged through one node is read back through
 * another at once; then coordinators on different nodes under lock and compare-and-set load
 * (certification conflicts at commit are retried by the writer) lose a node. The checks are
 * {@link FaultScenario}'s, the gap-free revision log among them. Last, a node left alone (not in
 * a primary component) is refused by a coordinator that starts on it.
 */
class GaleraTest {

    @Test
    @Timeout(300)
    void coordinatorsOnDifferentNodesReadTheirWritesAndSurviveANodeLoss() throws Exception {
        try (GaleraStack stack = GaleraStack.start()) {
            try (Harness one = new Harness(new StoreConfig(stack.url(1), "root", "", 8), Coordinator.Settings.defaults());
                    Harness two = new Harness(new StoreConfig(stack.url(2), "root", "", 8), Coordinator.Settings.defaults());
                    LatchkeyClient viaOne = LatchkeyClient.connect(one.api.base);
                    LatchkeyClient viaTwo = LatchkeyClient.connect(two.api.base);
                    Connection c = two.coordinator.store().dataSource().getConnection();
                    Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT @@wsrep_sync_wait")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).as("the coordinator's connections read causally").isEqualTo(1);
                viaOne.mkdir("/ryw");
                for (int i = 0; i < 200; i++) {
                    byte[] value = ("v" + i).getBytes(StandardCharsets.UTF_8);
                    viaOne.write("/ryw/file", value, null);
                    assertThat(viaTwo.read("/ryw/file").text()).as("write %d, read through the other node", i).isEqualTo("v" + i);
                }

                // one hot lock and one counter file, from both nodes at once: every write transaction
                // updates the revision counter's row, so the nodes' commits conflict at certification;
                // the writers retry them, and the clients see only grants and successful writes
                viaOne.write("/ryw/counter", "0".getBytes(StandardCharsets.UTF_8), null);
                AtomicInteger inside = new AtomicInteger();
                AtomicInteger overlaps = new AtomicInteger();
                AtomicLong increments = new AtomicLong();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
                List<CompletableFuture<Void>> workers = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    LatchkeyClient client = t % 2 == 0 ? viaOne : viaTwo;
                    workers.add(CompletableFuture.runAsync(() -> {
                        try (Session session = client.openSession(Session.Options.defaults().cache(false))) {
                            while (System.nanoTime() < until) {
                                try (Lease lease = session.acquire("/ryw/hot", Duration.ofSeconds(10))) {
                                    if (inside.incrementAndGet() > 1) {
                                        overlaps.incrementAndGet();
                                    }
                                    FileContent current = client.read("/ryw/counter");
                                    client.write("/ryw/counter", Long.toString(Long.parseLong(current.text()) + 1).getBytes(StandardCharsets.UTF_8),
                                            current.generation());
                                    increments.incrementAndGet();
                                    inside.decrementAndGet();
                                }
                            }
                        }
                    }));
                }
                CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
                assertThat(overlaps.get()).as("two holders at once").isZero();
                assertThat(Long.parseLong(viaTwo.read("/ryw/counter").text())).as("every compare-and-set counted once").isEqualTo(increments.get());
                long retries = one.coordinator.store().batchRetries() + two.coordinator.store().batchRetries();
                System.out.printf("galera: %d locked increments from two nodes in 4 s; %d write batches retried after a certification conflict%n",
                        increments.get(), retries);
                assertThat(retries).as("certification conflicts happened, and were retried out of the clients' sight").isPositive();
            }
            FaultScenario.run(stack);

            // node 1 is gone; with node 2 gone too, node 3 is alone: not a primary component, not ready
            stack.kill(2);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> !stack.ready(3));
            assertThatThrownBy(() -> new Coordinator(new StoreConfig(stack.url(3), "root", "", 4), Coordinator.Settings.defaults()))
                    .hasMessageContaining("Galera node is not ready");
        }
    }
}
