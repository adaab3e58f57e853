package dev.latchkey.coordinator.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The grant rule without a database. */
class LockPolicyTest {

    private static final boolean SHARED = true;
    private static final boolean EXCLUSIVE = false;

    @Test
    void aFreeLockIsGrantedInEitherMode() {
        assertThat(LockPolicy.mayGrant(EXCLUSIVE, List.of(), List.of(), false)).isTrue();
        assertThat(LockPolicy.mayGrant(SHARED, List.of(), List.of(), false)).isTrue();
    }

    @Test
    void sharedHoldersAdmitSharedRequestsOnly() {
        assertThat(LockPolicy.mayGrant(SHARED, List.of(SHARED, SHARED), List.of(), false)).isTrue();
        assertThat(LockPolicy.mayGrant(EXCLUSIVE, List.of(SHARED), List.of(), false)).isFalse();
        assertThat(LockPolicy.mayGrant(SHARED, List.of(EXCLUSIVE), List.of(), false)).isFalse();
        assertThat(LockPolicy.mayGrant(EXCLUSIVE, List.of(EXCLUSIVE), List.of(), false)).isFalse();
    }

    @Test
    void nobodyJumpsAQueuedConflictingWaiter() {
        assertThat(LockPolicy.mayGrant(SHARED, List.of(SHARED), List.of(EXCLUSIVE), false))
                .as("a shared request behind a queued writer waits, though the holders are shared").isFalse();
        assertThat(LockPolicy.mayGrant(EXCLUSIVE, List.of(), List.of(SHARED), false)).isFalse();
        assertThat(LockPolicy.mayGrant(SHARED, List.of(SHARED), List.of(SHARED, SHARED), false))
                .as("leading shared waiters may share with it").isTrue();
    }

    @Test
    void lockDelayRefusesEveryone() {
        assertThat(LockPolicy.mayGrant(SHARED, List.of(), List.of(), true)).isFalse();
        assertThat(LockPolicy.grantable(List.of(), List.of(w(1, EXCLUSIVE)), true)).isEmpty();
    }

    @Test
    void aReleaseHandsAnExclusiveLockToTheHeadAlone() {
        assertThat(LockPolicy.grantable(List.of(), List.of(w(1, EXCLUSIVE), w(2, EXCLUSIVE), w(3, SHARED)), false))
                .extracting(LockPolicy.Waiter::id).containsExactly(1L);
    }

    @Test
    void aReleaseHandsASharedLockToEveryLeadingSharedWaiter() {
        assertThat(LockPolicy.grantable(List.of(), List.of(w(1, SHARED), w(2, SHARED), w(3, EXCLUSIVE), w(4, SHARED)), false))
                .extracting(LockPolicy.Waiter::id).containsExactly(1L, 2L);
    }

    @Test
    void aReleaseWhileOthersStillHoldGrantsOnlyWhatIsCompatible() {
        assertThat(LockPolicy.grantable(List.of(SHARED), List.of(w(1, EXCLUSIVE), w(2, SHARED)), false)).isEmpty();
        assertThat(LockPolicy.grantable(List.of(SHARED), List.of(w(1, SHARED), w(2, EXCLUSIVE)), false))
                .extracting(LockPolicy.Waiter::id).containsExactly(1L);
        assertThat(LockPolicy.grantable(List.of(EXCLUSIVE), List.of(w(1, SHARED)), false)).isEmpty();
    }

    @Test
    void aGrantedSessionsOtherRequestsLeaveTheQueueWithItsGrant() {
        List<LockPolicy.Waiter> queue = List.of(new LockPolicy.Waiter(1, "a", SHARED), new LockPolicy.Waiter(2, "a", EXCLUSIVE),
                new LockPolicy.Waiter(3, "b", SHARED), new LockPolicy.Waiter(4, "c", EXCLUSIVE));
        assertThat(LockPolicy.grantable(List.of(), queue, false))
                .as("a's exclusive request went with a's shared grant: b shares, c waits").extracting(LockPolicy.Waiter::id).containsExactly(1L, 3L);
        assertThat(LockPolicy.grantable(List.of(), List.of(new LockPolicy.Waiter(1, "a", EXCLUSIVE), new LockPolicy.Waiter(2, "a", SHARED),
                new LockPolicy.Waiter(3, "b", SHARED)), false)).extracting(LockPolicy.Waiter::id).containsExactly(1L);
    }

    /** Granting on release agrees with each waiter asking in turn: the rule is one rule. */
    @Test
    void handingOnAtReleaseAgreesWithEachWaiterAskingInTurn() {
        Random random = new Random(42);
        for (int round = 0; round < 2_000; round++) {
            boolean holdersShared = random.nextBoolean();
            int holderCount = holdersShared ? random.nextInt(3) : random.nextInt(2);
            List<Boolean> holders = new ArrayList<>();
            for (int i = 0; i < holderCount; i++) {
                holders.add(holdersShared);
            }
            List<LockPolicy.Waiter> queue = new ArrayList<>();
            int waiters = random.nextInt(6);
            for (int i = 0; i < waiters; i++) {
                queue.add(w(i + 1, random.nextBoolean()));
            }
            List<LockPolicy.Waiter> granted = LockPolicy.grantable(holders, queue, false);
            for (int i = 0; i < queue.size(); i++) {
                LockPolicy.Waiter me = queue.get(i);
                List<Boolean> ahead = queue.subList(0, i).stream().filter(x -> !granted.contains(x)).map(LockPolicy.Waiter::shared).toList();
                List<Boolean> holding = new ArrayList<>(holders);
                granted.stream().filter(g -> g.id() < me.id()).forEach(g -> holding.add(g.shared()));
                boolean asked = LockPolicy.mayGrant(me.shared(), holding, ahead, false);
                assertThat(granted.contains(me)).as("round %d, waiter %d", round, i).isEqualTo(asked);
            }
        }
    }

    private static LockPolicy.Waiter w(long id, boolean shared) {
        return new LockPolicy.Waiter(id, "s" + id, shared);
    }
}
