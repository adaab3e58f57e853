package dev.latchkey.coordinator.core;

import dev.latchkey.coordinator.store.Event;
import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.store.Store;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.jooq.impl.DSL;

/**
 * Exclusive and shared locks on nodes, with FIFO waiters, generations and lock-delay.
 *
 * <p>How an acquire runs:
 * <ol>
 *   <li>as a command in the writer's next batch ({@link LockBatch}, decided in memory with the
 *       batch's other lock commands and written set-based): check the session, create an empty file
 *       if the path is new, and grant when {@link LockPolicy} allows it: the mode is compatible
 *       with the holders, no lock-delay is running, and no live waiter is queued ahead;</li>
 *   <li>a grant on a free lock bumps the node's lock generation; the sequencer carries it;</li>
 *   <li>otherwise the acquirer joins the FIFO queue (once) and sleeps until a release (here, or on
 *       another coordinator) hands it the lock in the release's own transaction (grant on release):
 *       the event stream fills in its grant slot and wakes it, with no write of its own. It asks
 *       the store itself only when a lock-delay it met ends, and then once a second; when its wait
 *       runs out it leaves the queue and gets "busy".</li>
 * </ol>
 */
public final class Locks {

    public static final long MAX_LOCK_DELAY_MS = 60_000;
    /** How often a waiter that nothing has handed the lock to asks the store whether it could take it. */
    static final long RECHECK_MS = 1_000;

    private final Store store;

    public Locks(Store store, EventHub hub) {
        this.store = store;
        hub.addListener(events -> {
            noticeGrants(events);
            noticeConflicts(events);
        });
    }

    /*
     * Held keep-alives waiting for a conflicting request on a lock their session holds. They hear of
     * it from the event stream this coordinator already follows, not by reading the store on every
     * commit (which, with many sessions holding locks, cost a read per holder per commit).
     */
    private final Object notices = new Object();
    private final List<ConflictWatch> conflictWatches = new java.util.ArrayList<>(); // guarded by notices

    /** How many held keep-alives are waiting for a conflicting request (a gauge). */
    public int heldKeepAlives() {
        synchronized (notices) {
            return conflictWatches.size();
        }
    }

    /** One held keep-alive's interest: its session, the locks it holds (null until read), what it found. */
    private static final class ConflictWatch {
        final String session;
        java.util.Set<String> held; // guarded by notices
        final List<Event> found = new java.util.ArrayList<>(); // guarded by notices

        ConflictWatch(String session) {
            this.session = session;
        }

        boolean wants(Event e) {
            return e.kind() == Event.Kind.CONFLICTING_LOCK_REQUEST && !session.equals(e.session()) && (held == null || held.contains(e.path()));
        }
    }

    private void noticeConflicts(List<Event> events) {
        synchronized (notices) {
            boolean any = false;
            for (Event e : events) {
                if (e.kind() == Event.Kind.CONFLICTING_LOCK_REQUEST) {
                    for (ConflictWatch w : conflictWatches) {
                        if (w.wants(e)) {
                            w.found.add(e);
                            any = true;
                        }
                    }
                }
            }
            if (any) {
                notices.notifyAll();
            }
        }
    }

    /**
     * Waits until another session asks for a lock this session holds (a conflicting lock request
     * committed after this call began), or the timeout passes; returns those requests' events.
     * {@code heldLocks} reads what the session holds; it runs after the watch is in place, so a
     * request committed while it reads is not missed.
     */
    public List<Event> awaitConflictingRequest(String session, java.util.function.Supplier<? extends java.util.Collection<String>> heldLocks,
            Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ConflictWatch watch = new ConflictWatch(session);
        synchronized (notices) {
            conflictWatches.add(watch);
        }
        try {
            java.util.Set<String> held = java.util.Set.copyOf(heldLocks.get());
            synchronized (notices) {
                watch.held = held;
                watch.found.removeIf(e -> !held.contains(e.path()));
                while (watch.found.isEmpty()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    // (with nothing held, nothing can be reported early: the call is just held)
                    java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(notices, left);
                }
                return List.copyOf(watch.found);
            }
        } finally {
            synchronized (notices) {
                conflictWatches.remove(watch);
            }
        }
    }

    public Grant acquire(String path, String session, Grant.Mode mode, Duration wait, long lockDelayMs) {
        return acquire(path, session, mode, wait, lockDelayMs, null);
    }

    /**
     * Acquires, and on the grant writes {@code contentOnGrant} (when not null) into the lock's file in
     * the same transaction: whoever sees the grant sees the content with it (an election's value).
     */
    public Grant acquire(String path, String session, Grant.Mode mode, Duration wait, long lockDelayMs, byte[] contentOnGrant) {
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
        GrantSlot slot = null;
        if (!wait.isZero()) {
            // in place before the request can be queued: a hand-on that commits after it is never missed
            slot = new GrantSlot(path, session);
            grantSlots.put(slot.key, slot);
        }
        try {
            while (true) {
                long remainingMs = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
                long myWaiter = waiterId;
                LockBatch.Outcome outcome = store.command(LockBatch.INSTANCE,
                        new LockBatch.Acquire(path, session, mode, lockDelayMs, myWaiter, remainingMs, contentOnGrant));
                switch (outcome) {
                    case LockBatch.Granted g -> {
                        return g.grant();
                    }
                    case LockBatch.Busy b -> throw new CoordinatorException(Problem.LOCK_BUSY, b.why());
                    case LockBatch.Wait w -> {
                        if (waiterId < 0) {
                            waiterId = w.waiterId();
                            enqueueLocally(path, waiterId, slot);
                        }
                        // Sleep until a release hands the lock on: the event stream fills in this waiter's
                        // slot and wakes this waiter alone (waking every waiter on every event cost a hot
                        // lock's 32 waiters 32 wake-ups per hand-off). The store is asked again (by the
                        // first of this coordinator's waiters on the path) only when a lock-delay ends and
                        // then once a second, for what no release hands on: a lock whose node was deleted,
                        // or a delay that began after this waiter queued.
                        long nextCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(w.delayRemainingMs() > 0 ? w.delayRemainingMs() : RECHECK_MS);
                        while (System.nanoTime() < deadline && slot.granted() == null) {
                            slot.await(Math.min(deadline, nextCheck), path);
                            if (slot.granted() == null && System.nanoTime() >= nextCheck) {
                                if (firstLocally(path, waiterId) && mightGrant(path, session, mode, waiterId)) {
                                    break;
                                }
                                nextCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RECHECK_MS);
                            }
                        }
                        Event handedOn = slot.granted();
                        if (handedOn != null) {
                            // a release granted it in its own transaction, which has committed: no write of ours is needed
                            String[] modeAndGeneration = handedOn.detail().split(":");
                            Grant granted = new Grant(path, Grant.Mode.valueOf(modeAndGeneration[0].toUpperCase(Locale.ROOT)),
                                    Long.parseLong(modeAndGeneration[1]), session);
                            return granted; // (with its content written by the same transaction, if it had one)
                        }
                    }
                }
            }
        } finally {
            if (waiterId >= 0) {
                dequeueLocally(path, waiterId);
            }
            if (slot != null) {
                grantSlots.remove(slot.key, slot);
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

    /**
     * A local waiter's place for the grant a release hands it: the lock-acquired event for its
     * session on its path, committed after it joined the queue. The event stream fills it in.
     */
    private static final class GrantSlot {
        final String key;
        volatile long waiterId = Long.MAX_VALUE; // set once the request is queued; nothing matches before
        volatile Event latest; // the newest lock-acquired event for this path and session

        GrantSlot(String path, String session) {
            this.key = path + '\0' + session;
        }

        /** The grant handed to this waiter, if one has been committed since it joined the queue. */
        Event granted() {
            Event e = latest;
            return e != null && e.rev() > waiterId ? e : null;
        }

        synchronized void fill(Event e) {
            latest = e;
            notifyAll();
        }

        /** Waits until a grant is handed to this waiter or {@code untilNanos} (System.nanoTime) passes. */
        synchronized void await(long untilNanos, String path) {
            while (granted() == null) {
                long left = untilNanos - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CoordinatorException(Problem.LOCK_BUSY, "interrupted while waiting for '" + path + "'");
                }
            }
        }
    }

    private final java.util.concurrent.ConcurrentHashMap<String, GrantSlot> grantSlots = new java.util.concurrent.ConcurrentHashMap<>();

    private void noticeGrants(List<Event> events) {
        if (grantSlots.isEmpty()) {
            return;
        }
        for (Event e : events) {
            if (e.kind() == Event.Kind.LOCK_ACQUIRED && e.session() != null) {
                GrantSlot slot = grantSlots.get(e.path() + '\0' + e.session());
                if (slot != null) {
                    slot.fill(e);
                }
            }
        }
    }

    private void enqueueLocally(String path, long waiterId, GrantSlot slot) {
        slot.waiterId = waiterId;
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
    }

    private boolean firstLocally(String path, long waiterId) {
        var ids = localWaiters.get(path);
        return ids == null || ids.isEmpty() || ids.first() == waiterId;
    }

    /** A read-only look: would a write attempt by this waiter be granted now? */
    private boolean mightGrant(String path, String session, Grant.Mode mode, long waiterId) {
        return store.readAt((dsl, now) -> {
            Long delayUntil = dsl.select(NODE_LOCK_DELAY_UNTIL).from(NODE).where(NODE_PATH.eq(path)).fetchOne(NODE_LOCK_DELAY_UNTIL);
            if (delayUntil == null) {
                return true; // the node is gone: the write attempt will say what happened
            }
            if (delayUntil > now) {
                return false; // (lock-delay: no need to read the rest)
            }
            var holding = dsl.select(HOLDER_SESSION, HOLDER_MODE).from(HOLDER).where(HOLDER_PATH.eq(path)).fetch();
            if (holding.stream().anyMatch(h -> h.get(HOLDER_SESSION).equals(session))) {
                return true; // handed on already (its event not yet seen here): the attempt returns the grant
            }
            List<Boolean> holders = holding.stream().map(h -> isShared(h.get(HOLDER_MODE))).toList();
            List<Boolean> ahead = dsl.select(WAITER_MODE).from(WAITER).where(WAITER_PATH.eq(path)).and(WAITER_DEADLINE.ge(now))
                    .and(WAITER_ID.lt(waiterId)).fetch(WAITER_MODE).stream().map(Locks::isShared).toList();
            return LockPolicy.mayGrant(mode == Grant.Mode.SHARED, holders, ahead, false);
        });
    }

    private static boolean isShared(String storedMode) {
        return storedMode.equals(Grant.Mode.SHARED.name());
    }

    public void release(String path, String session) {
        Paths.require(path);
        store.command(LockBatch.INSTANCE, new LockBatch.Release(path, session));
    }

    /** Whether the sequencer names a grant that still holds: same holder, mode and generation, live session. */
    public boolean check(Grant sequencer) {
        return store.readAt((dsl, now) -> {
            return dsl.fetchExists(dsl.select(HOLDER_PATH).from(HOLDER).join(SESSION).on(SESSION_ID.eq(HOLDER_SESSION))
                    .where(HOLDER_PATH.eq(sequencer.path())).and(HOLDER_SESSION.eq(sequencer.session()))
                    .and(HOLDER_MODE.eq(sequencer.mode().name())).and(HOLDER_GENERATION.eq(sequencer.generation()))
                    .and(SESSION_EXPIRES.ge(now)));
        });
    }

    /** The paths of the locks a session holds. */
    public List<String> heldBy(String session) {
        return store.read(c -> store.dsl(c).select(HOLDER_PATH).from(HOLDER).where(HOLDER_SESSION.eq(session)).fetch(HOLDER_PATH));
    }

    /** The current holders of a lock, as sequencers. */
    public List<Grant> holders(String path) {
        Paths.require(path);
        return store.read(c -> store.dsl(c).select(HOLDER_MODE, HOLDER_GENERATION, HOLDER_SESSION).from(HOLDER).where(HOLDER_PATH.eq(path))
                .orderBy(HOLDER_ACQUIRED).fetch(r -> new Grant(path, Grant.Mode.valueOf(r.get(HOLDER_MODE)), r.get(HOLDER_GENERATION),
                        r.get(HOLDER_SESSION))));
    }

    /** A holder of a lock with the content of the lock's file, read together. */
    public record HolderWithContent(Grant sequencer, byte[] content) {
    }

    /** The first holder of a lock and its file's content, in one statement (one snapshot). */
    public java.util.Optional<HolderWithContent> holderWithContent(String path) {
        Paths.require(path);
        var content = DSL.field(DSL.select(NODE_CONTENT).from(NODE).where(NODE_PATH.eq(path))).as(NODE_CONTENT.getName());
        return store.read(c -> store.dsl(c).select(HOLDER_MODE, HOLDER_GENERATION, HOLDER_SESSION, content).from(HOLDER)
                .where(HOLDER_PATH.eq(path)).orderBy(HOLDER_ACQUIRED).limit(1)
                .fetchOptional(r -> new HolderWithContent(new Grant(path, Grant.Mode.valueOf(r.get(HOLDER_MODE)),
                        r.get(HOLDER_GENERATION), r.get(HOLDER_SESSION)), r.get(content) == null ? new byte[0] : r.get(content))));
    }
}
