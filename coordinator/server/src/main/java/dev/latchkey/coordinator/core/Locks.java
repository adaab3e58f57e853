package dev.latchkey.coordinator.core;

import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.WriteTx;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.jooq.Record;
import org.jooq.impl.DSL;

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
            noticeGrants(events);
            for (Event e : events) {
                if (e.kind() == Event.Kind.SESSION_EXPIRED) {
                    for (int i = 0; i < STRIPES; i++) {
                        signalStripe(i);
                    }
                } else {
                    signal(e.path());
                }
            }
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

    private sealed interface Attempt {
    }

    private record Granted(Grant grant) implements Attempt {
    }

    private record Wait(long waiterId, long delayRemainingMs) implements Attempt {
    }

    private record Busy(String why) implements Attempt {
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
                long seen = version(path);
                long remainingMs = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
                long myWaiter = waiterId;
                Attempt attempt = store.writeRarelyRefused("lock-acquire", tx -> {
                    Attempt a = attempt(tx, path, session, mode, lockDelayMs, myWaiter, remainingMs, contentOnGrant);
                    if (a instanceof Granted && contentOnGrant != null) {
                        long generation = tx.dsl().select(NODE_CONTENT_GEN).from(NODE).where(NODE_PATH.eq(path)).fetchOne(NODE_CONTENT_GEN);
                        Namespace.overwrite(tx, path, generation, contentOnGrant);
                    }
                    return a;
                });
                switch (attempt) {
                    case Granted g -> {
                        return g.grant();
                    }
                    case Busy b -> throw new CoordinatorException(Problem.LOCK_BUSY, b.why());
                    case Wait w -> {
                        if (waiterId < 0) {
                            waiterId = w.waiterId();
                            enqueueLocally(path, waiterId, slot);
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
                        } while (System.nanoTime() < deadline && slot.granted() == null
                                && !(firstLocally(path, waiterId) && mightGrant(path, session, mode, waiterId)));
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
                    slot.latest = e; // (the path's stripe is signalled for this event next)
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
        signal(path); // the next local waiter, if any, is now first
    }

    private boolean firstLocally(String path, long waiterId) {
        var ids = localWaiters.get(path);
        return ids == null || ids.isEmpty() || ids.first() == waiterId;
    }

    /**
     * One acquire attempt inside a writing transaction: a single read for the lock's state, then
     * (when granted) two writes. No row locks are taken: writing transactions run one at a time
     * behind the revision counter's row lock, so nothing can change what was read before commit.
     */
    private Attempt attempt(WriteTx tx, String path, String session, Grant.Mode mode, long lockDelayMs, long waiterId, long remainingMs,
            byte[] contentOnGrant) {
        var dsl = tx.dsl();
        if (session == null || session.isBlank()) {
            throw new CoordinatorException(Problem.SESSION_NOT_FOUND, "a session id is required");
        }
        LockState state = LockState.read(tx, path, session, waiterId);
        if (!state.nodeExists) {
            Sessions.requireLive(tx, session, state.sessionExpires);
            Namespace.ensureFile(tx, path); // the first lock on a path creates it as an empty file
            state = LockState.read(tx, path, session, waiterId);
        }
        Sessions.requireLive(tx, session, state.sessionExpires);
        for (LockState.Holder mine : state.holders) {
            if (mine.session().equals(session)) {
                removeWaiter(tx, waiterId);
                return new Granted(new Grant(path, Grant.Mode.valueOf(mine.mode()), mine.generation(), session));
            }
        }
        List<Boolean> holdersShared = state.holders.stream().map(h -> isShared(h.mode())).toList();
        long delayUntil = state.lockDelayUntil;
        boolean delayed = delayUntil > tx.now();
        if (LockPolicy.mayGrant(mode == Grant.Mode.SHARED, holdersShared, state.waitersAhead.stream().map(Locks::isShared).toList(), delayed)) {
            long generation = holdersShared.isEmpty() ? state.lockGeneration + 1 : state.lockGeneration;
            var hold = dsl.insertInto(HOLDER, HOLDER_PATH, HOLDER_SESSION, HOLDER_MODE, HOLDER_GENERATION, HOLDER_LOCK_DELAY, HOLDER_ACQUIRED)
                    .values(path, session, mode.name(), generation, lockDelayMs, tx.now());
            if (!holdersShared.isEmpty()) {
                hold.execute();
            } else {
                var bump = dsl.update(NODE).set(NODE_LOCK_GEN, generation).where(NODE_PATH.eq(path));
                if (tx.postgres()) {
                    dsl.execute("WITH g AS ({0}) {1}", bump, hold); // one round trip for both
                } else {
                    bump.execute();
                    hold.execute();
                }
            }
            removeWaiter(tx, waiterId);
            tx.emit(path, Event.Kind.LOCK_ACQUIRED, mode.name().toLowerCase(Locale.ROOT) + ":" + generation, session);
            return new Granted(new Grant(path, mode, generation, session));
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
            dsl.insertInto(WAITER, WAITER_ID, WAITER_PATH, WAITER_SESSION, WAITER_MODE, WAITER_ENQUEUED, WAITER_DEADLINE, WAITER_LOCK_DELAY,
                            WAITER_CONTENT_ON_GRANT)
                    .values(id, path, session, mode.name(), tx.now(), tx.now() + remainingMs, lockDelayMs, contentOnGrant).execute();
        }
        return new Wait(id, delayed ? delayUntil - tx.now() : 0);
    }

    /** What an acquire needs to know about a lock, read in one round trip. */
    private static final class LockState {
        private static final int NODE_ROW = 0;
        private static final int SESSION_ROW = 1;
        private static final int HOLDER_ROW = 2;
        private static final int WAITER_ROW = 3;
        private static final org.jooq.Field<Integer> ROW_KIND = DSL.field(DSL.name("row_kind"), Integer.class);

        boolean nodeExists;
        long lockGeneration;
        long lockDelayUntil;
        Long sessionExpires;
        final List<Holder> holders = new java.util.ArrayList<>();
        final List<String> waitersAhead = new java.util.ArrayList<>();

        /**
         * The node's lock columns, the session's lease, the holders and the live waiters queued ahead
         * of {@code waiterId} (all of them when it is negative), as one UNION ALL: four rows kinds
         * sharing the columns (kind, a number, a number, a session, a mode).
         */
        static LockState read(WriteTx tx, String path, String session, long waiterId) {
            var dsl = tx.dsl();
            org.jooq.Field<String> noText = DSL.castNull(String.class);
            org.jooq.Field<Long> zero = DSL.inline(0L);
            var union = dsl.select(DSL.inline(NODE_ROW).as(ROW_KIND), NODE_LOCK_GEN.as("n1"), NODE_LOCK_DELAY_UNTIL.as("n2"),
                            noText.as("s"), noText.as("m"))
                    .from(NODE).where(NODE_PATH.eq(path))
                    .unionAll(DSL.select(DSL.inline(SESSION_ROW), SESSION_EXPIRES, zero, noText, noText)
                            .from(SESSION).where(SESSION_ID.eq(session)))
                    .unionAll(DSL.select(DSL.inline(HOLDER_ROW), HOLDER_GENERATION, zero, HOLDER_SESSION, HOLDER_MODE)
                            .from(HOLDER).where(HOLDER_PATH.eq(path)))
                    .unionAll(DSL.select(DSL.inline(WAITER_ROW), WAITER_ID, zero, noText, WAITER_MODE)
                            .from(WAITER).where(WAITER_PATH.eq(path)).and(WAITER_DEADLINE.ge(tx.now()))
                            .and(waiterId < 0 ? DSL.trueCondition() : WAITER_ID.lt(waiterId)));
            LockState state = new LockState();
            for (Record r : union.fetch()) {
                long n1 = r.get(1, Long.class);
                switch (r.get(0, Integer.class)) {
                    case NODE_ROW -> {
                        state.nodeExists = true;
                        state.lockGeneration = n1;
                        state.lockDelayUntil = r.get(2, Long.class);
                    }
                    case SESSION_ROW -> state.sessionExpires = n1;
                    case HOLDER_ROW -> state.holders.add(new Holder(r.get(3, String.class), r.get(4, String.class), n1));
                    default -> state.waitersAhead.add(r.get(4, String.class));
                }
            }
            return state;
        }

        record Holder(String session, String mode, long generation) {
        }
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

    private static void removeWaiter(WriteTx tx, long waiterId) {
        if (waiterId >= 0) {
            tx.dsl().deleteFrom(WAITER).where(WAITER_ID.eq(waiterId)).execute();
        }
    }

    public void release(String path, String session) {
        Paths.require(path);
        store.writeRarelyRefused("lock-release", tx -> {
            int deleted = tx.dsl().deleteFrom(HOLDER).where(HOLDER_PATH.eq(path)).and(HOLDER_SESSION.eq(session)).execute();
            if (deleted == 0) {
                throw new CoordinatorException(Problem.NOT_LOCK_HOLDER, "session '" + session + "' does not hold '" + path + "'");
            }
            tx.emit(path, Event.Kind.LOCK_RELEASED, "released", session);
            handOn(tx, path);
            return null;
        });
        signal(path);
    }

    private static final org.jooq.Field<Long> Q_WAITER_ID = DSL.field(DSL.name("lk_lock_waiter", "id"), Long.class);
    private static final org.jooq.Field<String> Q_WAITER_SESSION = DSL.field(DSL.name("lk_lock_waiter", "session_id"), String.class);
    private static final org.jooq.Field<String> Q_SESSION_ID = DSL.field(DSL.name("lk_session", "id"), String.class);
    /** How many waiters at the head of a queue a release looks at (the rest wait for the next hand-on). */
    private static final int HAND_ON_LOOKAHEAD = 64;

    /**
     * Grant on release: after a holder left {@code path} in this transaction, hands the lock to the
     * waiters at the head of its queue that {@link LockPolicy#grantable} names, in the same
     * transaction: their holder rows, one generation bump when the lock was free, their queue rows
     * gone, their content written, a lock-acquired event each. A waiter learns of its grant from
     * that event once the transaction commits. It stops at the first waiter whose session looks
     * expired (the reaper, or the waiter's own retry, decides it): nobody is skipped.
     */
    static void handOn(WriteTx tx, String path) {
        var dsl = tx.dsl();
        // the queue first: most releases have nobody waiting, and then this one read is all they cost
        var queue = dsl.select(Q_WAITER_ID, Q_WAITER_SESSION, WAITER_MODE, WAITER_LOCK_DELAY, WAITER_CONTENT_ON_GRANT, SESSION_EXPIRES)
                .from(WAITER).leftJoin(SESSION).on(Q_SESSION_ID.eq(Q_WAITER_SESSION))
                .where(WAITER_PATH.eq(path)).and(WAITER_DEADLINE.ge(tx.now())).orderBy(Q_WAITER_ID).limit(HAND_ON_LOOKAHEAD).fetch();
        if (queue.isEmpty()) {
            return;
        }
        Record node = dsl.select(NODE_LOCK_GEN, NODE_LOCK_DELAY_UNTIL).from(NODE).where(NODE_PATH.eq(path)).fetchOne();
        if (node == null || node.get(NODE_LOCK_DELAY_UNTIL) > tx.now()) {
            return; // gone, or in lock-delay: the waiters retry when it ends
        }
        List<Boolean> holders = dsl.select(HOLDER_MODE).from(HOLDER).where(HOLDER_PATH.eq(path)).fetch(HOLDER_MODE).stream()
                .map(Locks::isShared).toList();
        List<LockPolicy.Waiter> live = new java.util.ArrayList<>();
        for (Record w : queue) {
            Long expires = w.get(SESSION_EXPIRES);
            if (expires == null || expires < tx.now()) {
                break;
            }
            live.add(new LockPolicy.Waiter(w.get(Q_WAITER_ID), w.get(Q_WAITER_SESSION), isShared(w.get(WAITER_MODE))));
        }
        List<LockPolicy.Waiter> granted = LockPolicy.grantable(holders, live, false);
        if (granted.isEmpty()) {
            return;
        }
        long generation = holders.isEmpty() ? node.get(NODE_LOCK_GEN) + 1 : node.get(NODE_LOCK_GEN);
        if (holders.isEmpty()) {
            dsl.update(NODE).set(NODE_LOCK_GEN, generation).where(NODE_PATH.eq(path)).execute();
        }
        var hold = dsl.insertInto(HOLDER, HOLDER_PATH, HOLDER_SESSION, HOLDER_MODE, HOLDER_GENERATION, HOLDER_LOCK_DELAY, HOLDER_ACQUIRED);
        List<Long> ids = new java.util.ArrayList<>();
        for (LockPolicy.Waiter w : granted) {
            Record row = queue.stream().filter(r -> r.get(Q_WAITER_ID) == w.id()).findFirst().orElseThrow();
            Grant.Mode mode = w.shared() ? Grant.Mode.SHARED : Grant.Mode.EXCLUSIVE;
            hold = hold.values(path, w.session(), mode.name(), generation, row.get(WAITER_LOCK_DELAY), tx.now());
            ids.add(w.id());
            byte[] content = row.get(WAITER_CONTENT_ON_GRANT);
            if (content != null) {
                long contentGeneration = dsl.select(NODE_CONTENT_GEN).from(NODE).where(NODE_PATH.eq(path)).fetchOne(NODE_CONTENT_GEN);
                Namespace.overwrite(tx, path, contentGeneration, content);
            }
            tx.emit(path, Event.Kind.LOCK_ACQUIRED, mode.name().toLowerCase(Locale.ROOT) + ":" + generation, w.session());
        }
        hold.execute();
        dsl.deleteFrom(WAITER).where(WAITER_ID.in(ids)).execute();
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
