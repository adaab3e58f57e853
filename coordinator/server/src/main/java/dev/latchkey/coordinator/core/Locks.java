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
 *   <li>otherwise the acquirer joins the FIFO queue (once) and, holding no thread, waits until a
 *       release (here, or on another coordinator) hands it the lock in the release's own
 *       transaction (grant on release): the event stream fills in its grant slot and completes it,
 *       with no write of its own. It asks the store itself only when a lock-delay it met ends, and
 *       then once a second; when its wait runs out it leaves the queue and gets "busy".</li>
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
     * Waits on the calling thread; an interrupt gives up the wait ("busy").
     */
    public Grant acquire(String path, String session, Grant.Mode mode, Duration wait, long lockDelayMs, byte[] contentOnGrant) {
        var result = acquireAsync(path, session, mode, wait, lockDelayMs, contentOnGrant);
        try {
            return result.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            var busy = new CoordinatorException(Problem.LOCK_BUSY, "interrupted while waiting for '" + path + "'");
            result.completeExceptionally(busy);
            throw busy;
        }
    }

    /**
     * Acquires without holding a thread while the lock is busy: the future completes with the grant,
     * or fails with "busy" when the wait runs out (or with the refusal), usually on the writer's or
     * the event stream's thread, so what depends on it must not block. Argument errors are thrown
     * at once.
     */
    public java.util.concurrent.CompletableFuture<Grant> acquireAsync(String path, String session, Grant.Mode mode, Duration wait,
            long lockDelayMs, byte[] contentOnGrant) {
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
        return new Attempt(path, session, mode, wait, lockDelayMs, contentOnGrant).start();
    }

    /**
     * Wakes waiting attempts when a lock-delay ends, when their wait runs out, and once a second
     * meanwhile. A granted attempt cancels its timer, which then leaves the queue at once (a hot
     * lock hands on hundreds of times a second, each time cancelling one).
     */
    private static final java.util.concurrent.ScheduledThreadPoolExecutor TIMERS = timers();

    private static java.util.concurrent.ScheduledThreadPoolExecutor timers() {
        var timers = new java.util.concurrent.ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("latchkey-lock-timers").daemon().factory());
        timers.setRemoveOnCancelPolicy(true);
        return timers;
    }

    /**
     * One acquire, from its first command to its grant or refusal. Its command goes to the writer's
     * next batch ({@link LockBatch}), which grants, refuses, or queues it as a waiter. A queued
     * waiter holds no thread: a release that hands it the lock (here or on another coordinator)
     * commits a lock-acquired event for it, which fills its {@link GrantSlot} and completes it,
     * with no write of its own. It asks the store again only when a lock-delay it met ends, then
     * once a second (by the first of this coordinator's waiters on the path), for what no release
     * hands on: a lock whose node was deleted, or a delay that began after it queued; and once more
     * when its wait runs out, which leaves the queue and says "busy".
     */
    private final class Attempt {
        final String path;
        final String session;
        final Grant.Mode mode;
        final long lockDelayMs;
        final byte[] contentOnGrant;
        final long deadline;
        final GrantSlot slot;
        final java.util.concurrent.CompletableFuture<Grant> result = new java.util.concurrent.CompletableFuture<>();
        long waiterId = -1; // guarded by this
        java.util.concurrent.ScheduledFuture<?> timer; // guarded by this

        Attempt(String path, String session, Grant.Mode mode, Duration wait, long lockDelayMs, byte[] contentOnGrant) {
            this.path = path;
            this.session = session;
            this.mode = mode;
            this.lockDelayMs = lockDelayMs;
            this.contentOnGrant = contentOnGrant;
            this.deadline = System.nanoTime() + wait.toNanos();
            // in place before the request can be queued: a hand-on that commits after it is never missed
            this.slot = wait.isZero() ? null : new GrantSlot(path, session, this::handedOn);
        }

        java.util.concurrent.CompletableFuture<Grant> start() {
            if (slot != null) {
                grantSlots.put(slot.key, slot);
            }
            result.whenComplete((grant, failure) -> finished());
            ask();
            return result;
        }

        /** Sends this attempt's command to the next batch. */
        private void ask() {
            long remainingMs = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
            long myWaiter;
            synchronized (this) {
                myWaiter = waiterId;
            }
            store.<LockBatch.Command, LockBatch.Outcome>commandAsync(LockBatch.INSTANCE,
                    new LockBatch.Acquire(path, session, mode, lockDelayMs, myWaiter, remainingMs, contentOnGrant)).whenComplete(this::answered);
        }

        /** The batch's decision (on the writer's thread). */
        private void answered(LockBatch.Outcome outcome, Throwable failure) {
            if (failure != null) {
                result.completeExceptionally(failure instanceof java.util.concurrent.CompletionException c && c.getCause() != null ? c.getCause() : failure);
                return;
            }
            switch (outcome) {
                case LockBatch.Granted g -> result.complete(g.grant());
                case LockBatch.Busy b -> result.completeExceptionally(new CoordinatorException(Problem.LOCK_BUSY, b.why()));
                case LockBatch.Wait w -> {
                    synchronized (this) {
                        // (not once the attempt has ended, say by an interrupt: nothing would take it off this coordinator's queue)
                        if (waiterId < 0 && slot != null && !result.isDone()) {
                            waiterId = w.waiterId();
                            enqueueLocally(path, waiterId, slot);
                        }
                    }
                    if (!handedOn()) {
                        wakeIn(w.delayRemainingMs() > 0 ? w.delayRemainingMs() : RECHECK_MS);
                    }
                }
            }
        }

        /** Completes the attempt if a release has handed it the lock; on the event stream's thread, or the writer's. */
        private boolean handedOn() {
            Event handedOn = slot == null ? null : slot.granted();
            if (handedOn == null) {
                return false;
            }
            // a release granted it in its own transaction, which has committed: no write of ours is needed
            // (with its content written by the same transaction, if it had one)
            String[] modeAndGeneration = handedOn.detail().split(":");
            result.complete(new Grant(path, Grant.Mode.valueOf(modeAndGeneration[0].toUpperCase(Locale.ROOT)),
                    Long.parseLong(modeAndGeneration[1]), session));
            return true;
        }

        /** Wakes this attempt after {@code ms}, or when its wait runs out if that is sooner. */
        private void wakeIn(long ms) {
            long delay = Math.min(TimeUnit.MILLISECONDS.toNanos(ms), deadline - System.nanoTime());
            synchronized (this) {
                if (!result.isDone()) {
                    // (the check may read the store: on a virtual thread, not the timer's)
                    timer = TIMERS.schedule(() -> Thread.startVirtualThread(this::woken), Math.max(0, delay), TimeUnit.NANOSECONDS);
                }
            }
        }

        private void woken() {
            if (result.isDone() || handedOn()) {
                return;
            }
            long waiter;
            synchronized (this) {
                waiter = waiterId;
            }
            try {
                if (System.nanoTime() >= deadline || (firstLocally(path, waiter) && mightGrant(path, session, mode, waiter))) {
                    ask(); // (at the deadline this leaves the queue: "busy", unless the lock was handed on meanwhile)
                } else {
                    wakeIn(RECHECK_MS);
                }
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        }

        private void finished() {
            synchronized (this) {
                if (timer != null) {
                    timer.cancel(false);
                }
                if (waiterId >= 0) {
                    dequeueLocally(path, waiterId);
                }
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
        final Runnable onFill;
        volatile long waiterId = Long.MAX_VALUE; // set once the request is queued; nothing matches before
        volatile Event latest; // the newest lock-acquired event for this path and session

        GrantSlot(String path, String session, Runnable onFill) {
            this.key = path + '\0' + session;
            this.onFill = onFill;
        }

        /** The grant handed to this waiter, if one has been committed since it joined the queue. */
        Event granted() {
            Event e = latest;
            return e != null && e.rev() > waiterId ? e : null;
        }

        void fill(Event e) {
            latest = e;
            onFill.run();
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
        Store.join(releaseAsync(path, session));
    }

    /** Releases without waiting: the future completes (on the writer's thread) once the release committed. */
    public java.util.concurrent.CompletableFuture<Void> releaseAsync(String path, String session) {
        Paths.require(path);
        return store.<LockBatch.Command, Object>commandAsync(LockBatch.INSTANCE, new LockBatch.Release(path, session)).thenApply(done -> null);
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
