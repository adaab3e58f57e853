package dev.latchkey.coordinator.failover;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.coordinator.store.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The coordinator on a Galera cluster ({@code bin/ha galera}): its store connections read causally
 * (it sets wsrep_sync_wait itself), so a write acknowledged through one node is read back through
 * another at once; then coordinators on different nodes under lock and compare-and-set load
 * (certification conflicts at commit are retried by the writer) lose a node. The checks are
 * {@link FaultScenario}'s, the gap-free revision log among them.
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
            }
            FaultScenario.run(stack);
        }
    }
}
