package dev.latchkey.coordinator.core;

import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.client.Sequencer;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.WriteTx;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.jooq.Record;

/**
 * Exclusive and shared locks on nodes, with FIFO waiters, generations and lock-delay.
 *
 * <p>How an acquire runs:
 * <ol>
 *   <li>in one writing transaction: check the session, lock the node row (creating an empty file
 *       if the path is new), and grant when the mode is compatible with the holders, no lock-delay
 *       is running, and no live waiter is queued ahead (leading shared waiters may share);</li>
 *   <li>a grant on a free lock bumps the node's lock generation; the sequencer carries it;</li>
 *   <li>otherwise the acquirer joins the FIFO queue (once) and sleeps until an event on the path
 *       wakes it (a release here, or on another coordinator through the event stream), then tries
 *       again; when its wait runs out it leaves the queue and gets "busy".</li>
 * </ol>
 */
public final class Locks {

    public static final long MAX_LOCK_DELAY_MS = 60_000;

    private final Store store;
    /**
     * Waiters sleep on one of a fixed set of monitors chosen by the path's hash, each with a
     * change counter: memory stays bounded however many distinct lock paths a coordinator sees,
     * and a wake-up meant for another path on the same stripe only costs a read.
     */
    private static final int STRIPES = 1024;
    private final Object[] monitors = new Object[STRIPES];
    private final long[] versions = new long[STRIPES];

    public Locks(Store store, EventHub hub) {
        this.store = store;
        for (int i = 0; i < STRIPES; i++) {
            monitors[i] = new Object();
        }
        hub.addListener(events -> {
            for (Event e : events) {
                if (e.kind() == Event.Kind.SESSION_EXPIRED) {
                    for (int i = 0; i < STRIPES; i++) {
                        signalStripe(i);
                    }
                } else {
                    signal(e.path());
                }
            }
        });
    }

    private sealed interface Attempt {
    }

    private record Granted(Sequencer sequencer) implements Attempt {
    }

    private record Wait(long waiterId, long delayRemainingMs) implements Attempt {
    }

    private record Busy(String why) implements Attempt {
    }

    public Sequencer acquire(String path, String session, Sequencer.Mode mode, Duration wait, long lockDelayMs) {
        Paths.require(path);
        if (path.equals("/")) {
            throw new CoordinatorException(Problem.INVALID_PATH, "the root directory cannot be locked");
        }
        if (wait.isNegative() || wait.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "waitMs must be between 0 and 600000");
        }
        if (lockDelayMs < 0 || lockDelayMs > MAX_LOCK_DELAY_MS) {
            throw new CoordinatorException(Problem.LOCK_DELAY_OUT_OF_RANGE,
                    "lockDelayMs must be between 0 and " + MAX_LOCK_DELAY_MS + ", not " + lockDelayMs);
        }
        long deadline = System.nanoTime() + wait.toNanos();
        long waiterId = -1;
        try {
            while (true) {
                long seen = version(path);
                long remainingMs = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
                long myWaiter = waiterId;
                Attempt attempt = store.write("lock-acquire", tx -> attempt(tx, path, session, mode, lockDelayMs, myWaiter, remainingMs));
                switch (attempt) {
                    case Granted g -> {
                        return g.sequencer();
                    }
                    case Busy b -> throw new CoordinatorException(Problem.LOCK_BUSY, b.why());
                    case Wait w -> {
                        if (waiterId < 0) {
                            waiterId = w.waiterId();
                            enqueueLocally(path, waiterId);
                        }
                        long delay = w.delayRemainingMs();
                        // sleep until something happens on the path (or the lock-delay ends), and try the
                        // write again only when this is the first of this coordinator's waiters on the path
                        // and a read says it is now at the head of the queue
                        do {
                            long sleep = Math.min(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), 1_000);
                            if (delay > 0) {
                                sleep = Math.min(sleep, delay);
                            }
                            await(path, seen, sleep);
                            seen = version(path);
                            delay = 0;
                        } while (System.nanoTime() < deadline && !(firstLocally(path, waiterId) && mightGrant(path, mode, waiterId)));
                    }
                }
            }
        } finally {
            if (waiterId >= 0) {
                dequeueLocally(path, waiterId);
            }
        }
    }

    /*
     * This coordinator's waiters per path, by queue position. Only the first of them reads the store
     * when the path changes: the others could not be granted before it anyway, and a hot lock with
     * many waiters would otherwise cost a read per waiter per hand-off.
     */
    private final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.ConcurrentSkipListSet<Long>> localWaiters =
            new java.util.concurrent.ConcurrentHashMap<>();

    private void enqueueLocally(String path, long waiterId) {
        localWaiters.compute(path, (k, set) -> {
            var ids = set == null ? new java.util.concurrent.ConcurrentSkipListSet<Long>() : set;
            ids.add(waiterId);
            return ids;
        });
    }

    private void dequeueLocally(String path, long waiterId) {
        localWaiters.compute(path, (k, set) -> {
            if (set == null) {
                return null;
            }
            set.remove(waiterId);
            return set.isEmpty() ? null : set;
        });
        signal(path); // the next local waiter, if any, is now first
    }

    private boolean firstLocally(String path, long waiterId) {
        var ids = localWaiters.get(path);
        return ids == null || ids.isEmpty() || ids.first() == waiterId;
    }

    private Attempt attempt(WriteTx tx, String path, String session, Sequencer.Mode mode, long lockDelayMs, long waiterId, long remainingMs) {
        var dsl = tx.dsl();
        Sessions.requireLive(tx, session);
        Namespace.ensureFile(tx, path);
        Record node = dsl.select(NODE_LOCK_GEN, NODE_LOCK_DELAY_UNTIL, NODE_IS_DIR).from(NODE).where(NODE_PATH.eq(path)).forUpdate().fetchOne();
        var holders = dsl.select(HOLDER_SESSION, HOLDER_MODE, HOLDER_GENERATION).from(HOLDER).where(HOLDER_PATH.eq(path)).fetch();
        for (Record mine : holders) {
            if (mine.get(HOLDER_SESSION).equals(session)) {
                removeWaiter(tx, waiterId);
                return new Granted(new Sequencer(path, Sequencer.Mode.valueOf(mine.get(HOLDER_MODE)), mine.get(HOLDER_GENERATION), session));
            }
        }
        List<String> holderModes = holders.map(h -> h.get(HOLDER_MODE));
        boolean compatible = holderModes.isEmpty()
                || (mode == Sequencer.Mode.SHARED && holderModes.stream().allMatch(m -> m.equals(Sequencer.Mode.SHARED.name())));
        var ahead = dsl.select(WAITER_ID, WAITER_MODE).from(WAITER).where(WAITER_PATH.eq(path)).and(WAITER_DEADLINE.ge(tx.now()))
                .and(waiterId < 0 ? org.jooq.impl.DSL.trueCondition() : WAITER_ID.lt(waiterId)).orderBy(WAITER_ID).fetch(WAITER_MODE);
        boolean fair = ahead.isEmpty() || (mode == Sequencer.Mode.SHARED && ahead.stream().allMatch(m -> m.equals(Sequencer.Mode.SHARED.name())));
        long delayUntil = node.get(NODE_LOCK_DELAY_UNTIL);
        boolean delayed = delayUntil > tx.now();
        if (compatible && fair && !delayed) {
            long generation = node.get(NODE_LOCK_GEN);
            if (holderModes.isEmpty()) {
                generation++;
                dsl.update(NODE).set(NODE_LOCK_GEN, generation).where(NODE_PATH.eq(path)).execute();
            }
            dsl.insertInto(HOLDER, HOLDER_PATH, HOLDER_SESSION, HOLDER_MODE, HOLDER_GENERATION, HOLDER_LOCK_DELAY, HOLDER_ACQUIRED)
                    .values(path, session, mode.name(), generation, lockDelayMs, tx.now()).execute();
            removeWaiter(tx, waiterId);
            tx.emit(path, Event.Kind.LOCK_ACQUIRED, mode.name().toLowerCase(Locale.ROOT) + ":" + generation, session);
            return new Granted(new Sequencer(path, mode, generation, session));
        }
        if (remainingMs <= 0) {
            removeWaiter(tx, waiterId);
            return new Busy(delayed ? "'" + path + "' is in lock-delay for another " + (delayUntil - tx.now()) + " ms"
                    : "'" + path + "' is locked by another session");
        }
        long id = waiterId;
        if (id < 0) {
            // the queue position is the revision of the request's event: unique, and increasing in
            // queue order because writing transactions run one at a time
            id = tx.emit(path, Event.Kind.CONFLICTING_LOCK_REQUEST, mode.name().toLowerCase(Locale.ROOT), session).rev();
            dsl.insertInto(WAITER, WAITER_ID, WAITER_PATH, WAITER_SESSION, WAITER_MODE, WAITER_ENQUEUED, WAITER_DEADLINE)
                    .values(id, path, session, mode.name(), tx.now(), tx.now() + remainingMs).execute();
        }
        return new Wait(id, delayed ? delayUntil - tx.now() : 0);
    }

    /** A read-only look: would a write attempt by this waiter be granted now? */
    private boolean mightGrant(String path, Sequencer.Mode mode, long waiterId) {
        return store.readAt((dsl, now) -> {
            Long delayUntil = dsl.select(NODE_LOCK_DELAY_UNTIL).from(NODE).where(NODE_PATH.eq(path)).fetchOne(NODE_LOCK_DELAY_UNTIL);
            if (delayUntil == null || delayUntil > now) {
                return delayUntil == null;
            }
            List<String> holders = dsl.select(HOLDER_MODE).from(HOLDER).where(HOLDER_PATH.eq(path)).fetch(HOLDER_MODE);
            boolean compatible = holders.isEmpty()
                    || (mode == Sequencer.Mode.SHARED && holders.stream().allMatch(m -> m.equals(Sequencer.Mode.SHARED.name())));
            if (!compatible) {
                return false;
            }
            List<String> ahead = dsl.select(WAITER_MODE).from(WAITER).where(WAITER_PATH.eq(path)).and(WAITER_DEADLINE.ge(now))
                    .and(WAITER_ID.lt(waiterId)).fetch(WAITER_MODE);
            return ahead.isEmpty() || (mode == Sequencer.Mode.SHARED && ahead.stream().allMatch(m -> m.equals(Sequencer.Mode.SHARED.name())));
        });
    }

    private static void removeWaiter(WriteTx tx, long waiterId) {
        if (waiterId >= 0) {
            tx.dsl().deleteFrom(WAITER).where(WAITER_ID.eq(waiterId)).execute();
        }
    }

    public void release(String path, String session) {
        Paths.require(path);
        store.write("lock-release", tx -> {
            int deleted = tx.dsl().deleteFrom(HOLDER).where(HOLDER_PATH.eq(path)).and(HOLDER_SESSION.eq(session)).execute();
            if (deleted == 0) {
                throw new CoordinatorException(Problem.NOT_LOCK_HOLDER, "session '" + session + "' does not hold '" + path + "'");
            }
            tx.emit(path, Event.Kind.LOCK_RELEASED, "released", session);
            return null;
        });
        signal(path);
    }

    /** Whether the sequencer names a grant that still holds: same holder, mode and generation, live session. */
    public boolean check(Sequencer sequencer) {
        return store.readAt((dsl, now) -> {
            return dsl.fetchExists(dsl.select(HOLDER_PATH).from(HOLDER).join(SESSION).on(SESSION_ID.eq(HOLDER_SESSION))
                    .where(HOLDER_PATH.eq(sequencer.path())).and(HOLDER_SESSION.eq(sequencer.session()))
                    .and(HOLDER_MODE.eq(sequencer.mode().name())).and(HOLDER_GENERATION.eq(sequencer.generation()))
                    .and(SESSION_EXPIRES.ge(now)));
        });
    }

    /** The current holders of a lock, as sequencers. */
    public List<Sequencer> holders(String path) {
        Paths.require(path);
        return store.read(c -> store.dsl(c).select(HOLDER_MODE, HOLDER_GENERATION, HOLDER_SESSION).from(HOLDER).where(HOLDER_PATH.eq(path))
                .orderBy(HOLDER_ACQUIRED).fetch(r -> new Sequencer(path, Sequencer.Mode.valueOf(r.get(HOLDER_MODE)), r.get(HOLDER_GENERATION),
                        r.get(HOLDER_SESSION))));
    }

    private static int stripe(String path) {
        return Math.floorMod(path.hashCode(), STRIPES);
    }

    private long version(String path) {
        int i = stripe(path);
        synchronized (monitors[i]) {
            return versions[i];
        }
    }

    private void signal(String path) {
        signalStripe(stripe(path));
    }

    private void signalStripe(int i) {
        synchronized (monitors[i]) {
            versions[i]++;
            monitors[i].notifyAll();
        }
    }

    private void await(String path, long seen, long millis) {
        int i = stripe(path);
        Object monitor = monitors[i];
        long until = System.currentTimeMillis() + millis;
        synchronized (monitor) {
            while (versions[i] == seen) {
                long left = until - System.currentTimeMillis();
                if (left <= 0) {
                    return;
                }
                try {
                    monitor.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CoordinatorException(Problem.LOCK_BUSY, "interrupted while waiting for '" + path + "'");
                }
            }
        }
    }
}
