package dev.latchkey.coordinator.core;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The grant rule, in one place and free of I/O: who may hold a lock now. Every path that grants
 * (an acquire, a waiter's retry, a release handing the lock on) asks this class, so the rule
 * cannot drift between them; {@code LockPolicyTest} pins it without a database.
 *
 * <p>The rule:
 * <ol>
 *   <li>nothing is granted while the lock is in lock-delay (its last holder's session died holding it);</li>
 *   <li>an exclusive request is compatible only with no holders; a shared one with shared holders only;</li>
 *   <li>first come, first served: a request is granted only when no live waiter queued before it
 *       conflicts with it, i.e. nobody is ahead, or it and everyone ahead are shared;</li>
 *   <li>on a release, the head of the queue is granted, and with a shared head every shared waiter
 *       that follows it up to the first exclusive one;</li>
 *   <li>a session that holds a lock waits for nothing more on it: when it is granted, its other
 *       requests for that lock leave the queue with the grant, so they hold back nobody behind them.</li>
 * </ol>
 */
public final class LockPolicy {

    private LockPolicy() {
    }

    /** A live waiter in queue order: its queue position, session and mode. */
    public record Waiter(long id, String session, boolean shared) {
    }

    /**
     * Whether a request may be granted now.
     *
     * @param shared       the request's mode
     * @param holdersShared the modes of the current holders (true: shared)
     * @param aheadShared  the modes of the live waiters queued before the request
     * @param delayed      whether the lock is in lock-delay
     */
    public static boolean mayGrant(boolean shared, List<Boolean> holdersShared, List<Boolean> aheadShared, boolean delayed) {
        if (delayed) {
            return false;
        }
        boolean compatible = holdersShared.isEmpty() || (shared && !holdersShared.contains(Boolean.FALSE));
        boolean fair = aheadShared.isEmpty() || (shared && !aheadShared.contains(Boolean.FALSE));
        return compatible && fair;
    }

    /**
     * The waiters that take the lock now, from the head of the queue (in queue order): each is granted
     * as if it asked with the ones granted before it as holders and nobody ahead. A waiter whose
     * session was granted before it in this hand-on is not in the queue any more (rule 5): it is
     * passed over, neither granted nor in the way.
     */
    public static List<Waiter> grantable(List<Boolean> holdersShared, List<Waiter> queue, boolean delayed) {
        List<Waiter> granted = new ArrayList<>();
        Set<String> grantedSessions = new HashSet<>();
        List<Boolean> holders = new ArrayList<>(holdersShared);
        for (Waiter w : queue) {
            if (grantedSessions.contains(w.session())) {
                continue;
            }
            if (!mayGrant(w.shared(), holders, List.of(), delayed)) {
                break;
            }
            granted.add(w);
            grantedSessions.add(w.session());
            holders.add(w.shared());
        }
        return granted;
    }
}
