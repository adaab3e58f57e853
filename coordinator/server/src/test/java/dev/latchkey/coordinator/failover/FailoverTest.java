package dev.latchkey.coordinator.failover;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The store is a PostgreSQL primary with a synchronous standby ({@code bin/pg-pair}); the fault:
 * the primary is killed with SIGKILL and, a second later, the standby promoted by hand. Two
 * coordinators on the multi-host URL recover by themselves. The checks are {@link FaultScenario}'s.
 */
class FailoverTest {

    @Test
    @Timeout(240)
    void aPrimaryKilledUnderLoadLosesNothingAcknowledged() throws Exception {
        try (PgPair pair = PgPair.start()) {
            FaultScenario.run(new FaultScenario.Stack() {
                @Override
                public String name() {
                    return "pg-pair failover";
                }

                @Override
                public String coordinatorUrl(int which) {
                    return pair.jdbcUrl();
                }

                @Override
                public String user() {
                    return "postgres";
                }

                @Override
                public long fault(Runnable killed) throws Exception {
                    pair.killPrimary(); // returns once the postmaster is gone
                    killed.run();
                    Thread.sleep(1_000); // what a failover manager would take to notice
                    pair.promote();
                    return System.nanoTime();
                }

                @Override
                public String status() throws Exception {
                    return pair.status();
                }

                @Override
                public void close() {
                }
            });
        }
    }
}
