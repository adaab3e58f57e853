package dev.latchkey.coordinator.http;

import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import org.junit.jupiter.api.Tag;

/**
 * {@link GrantOnReleaseTest}'s frozen hand-off, round after round over one pair of coordinators:
 * the run that found a rare failure (5 in 600 rounds through PgBouncer) and, once its cause was
 * fixed, passed 300 of 300 (docs/coordinator.md). Too long for the suite's budget, so it is tagged
 * {@code stress} and left out of the default run; a nightly job runs it:
 *
 * <pre>mvn -pl coordinator/server -am test -Dlatchkey.test.excluded=none -Dgroups=stress -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dtest=FrozenHandOffStressTest -Dlatchkey.stress.rounds=2000</pre>
 *
 * (with {@code LATCHKEY_TEST_PG_POOLER=pgbouncer} as well, through PgBouncer). Each round takes
 * about a second.
 */
@Tag("stress")
class FrozenHandOffStressTest {

    /** Rounds per database: {@code -Dlatchkey.stress.rounds}, default 300. */
    private static final int ROUNDS = Integer.getInteger("latchkey.stress.rounds", 300);

    @DatabaseTest(only = {Database.POSTGRESQL, Database.MARIADB})
    void everyRoundHandsTheLockToTheHeadWaiter(TestDatabase db) throws Exception {
        try (SharedDatabase shared = new SharedDatabase(db); Harness one = shared.harness(); CoordinatorProcess two = shared.process()) {
            for (int round = 1; round <= ROUNDS; round++) {
                try {
                    GrantOnReleaseTest.handOffWhileFrozen(one, two, "/stress/handoff-" + round);
                } catch (AssertionError | Exception e) {
                    throw new AssertionError("round " + round + " of " + ROUNDS + ": " + e.getMessage(), e);
                }
            }
        }
    }
}
