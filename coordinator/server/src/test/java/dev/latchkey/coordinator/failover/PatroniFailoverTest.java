package dev.latchkey.coordinator.failover;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fault scenario on Patroni: the primary member is killed with SIGKILL and Patroni promotes the standby with no help. */
class PatroniFailoverTest {

    @Test
    @Timeout(300)
    void patroniPromotesAloneAndNothingAcknowledgedIsLost() throws Exception {
        try (PatroniStack stack = PatroniStack.start()) {
            FaultScenario.Report report = FaultScenario.run(stack);
            // Patroni's leader key lives 10 s (bin/ha): writes cannot resume before it expires, and should soon after
            assertThat(report.killToFirstWriteMs()).as("time from the kill to the first acknowledged write").isBetween(1L, 60_000L);
        }
    }
}
