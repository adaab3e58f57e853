package dev.latchkey.coordinator.core;

import dev.latchkey.coordinator.store.Event;
import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.WriteTx;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jooq.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sessions: lease rows whose expiry is set and judged by the database clock alone.
 *
 * <p>Keep-alives are batched: requests that arrive within a few milliseconds of each other are
 * extended by one {@code UPDATE ... SET expires_ms = :now + ttl_ms WHERE id IN (...)}, so the store
 * pays one write per batch, not one per session.
 */
public final class Sessions implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Sessions.class);
    public static final long MIN_TTL_MS = 1_000;
    public static final long MAX_TTL_MS = 600_000;
    /** How long the keep-alive batcher gathers requests into one store write. */
    static final long BATCH_WINDOW_MS = 25;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A session as the API reports it. */
    public record Info(String id, String owner, long ttlMs, long expiresMs, long remainingMs) {
    }

    private record Pending(String id, CompletableFuture<Info> result) {
    }

    private final Store store;
    private final LinkedBlockingQueue<Pending> keepAlives = new LinkedBlockingQueue<>();
    private final Thread batcher;
    private volatile boolean running = true;
    private volatile long storeWrites;

    public Sessions(Store store) {
        this.store = store;
        this.batcher = Thread.ofPlatform().name("latchkey-keepalive-batcher").daemon().start(this::batchLoop);
    }

    /** Opens a session for the anonymous identity (a coordinator without authentication). */
    public Info open(String owner, long ttlMs) {
        return open(owner, ttlMs, ANONYMOUS);
    }

    /** The identity of a coordinator that runs without authentication: everyone. */
    public static final String ANONYMOUS = "anonymous";

    /** Opens a session that belongs to {@code identity}: only it may keep it alive, act with it or close it. */
    public Info open(String owner, long ttlMs, String identity) {
        return open(owner, ttlMs, identity, Integer.MAX_VALUE);
    }

    /**
     * Opens a session for {@code identity}, refused (TOO_MANY) when the identity already holds
     * {@code maxLive} sessions. Opens that race may pass the cap by as many as race.
     */
    public Info open(String owner, long ttlMs, String identity, int maxLive) {
        if (ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
            throw new CoordinatorException(Problem.TTL_OUT_OF_RANGE,
                    "ttlMs must be between " + MIN_TTL_MS + " and " + MAX_TTL_MS + ", not " + ttlMs);
        }
        String o = owner == null || owner.isBlank() ? "anonymous" : owner;
        if (o.length() > 255) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "owner is longer than 255 characters");
        }
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        // through the writer: opens that arrive together share one commit (an auto-committed INSERT each
        // capped opens at about 1,250 a second on this machine)
        return store.write("session-open", tx -> {
            var dsl = tx.dsl();
            long now = tx.now();
            if (maxLive < Integer.MAX_VALUE && mayBeNearCap(identity, maxLive)) {
                int live = dsl.fetchCount(SESSION, SESSION_IDENTITY.eq(identity));
                liveCounts.put(identity, new long[] {live, 1}); // this open, if it is allowed, is the one since
                if (live >= maxLive) {
                    throw new CoordinatorException(Problem.TOO_MANY, "'" + identity + "' holds " + maxLive
                            + " sessions, the most one identity may; close some, or let them expire");
                }
            }
            dsl.insertInto(SESSION, SESSION_ID, SESSION_OWNER, SESSION_TTL, SESSION_EXPIRES, SESSION_CREATED, SESSION_RENEWED,
                    SESSION_IDENTITY).values(id, o, ttlMs, now + ttlMs, now, now, identity).execute();
            rememberIdentity(id, identity);
            tx.keepsRemembered(); // (a new session: no writer remembers its lease yet)
            return new Info(id, o, ttlMs, now + ttlMs, ttlMs);
        });
    }

    /*
     * Which identity each session belongs to. A session's identity never changes, so what was read
     * once stays true; the map is emptied when it grows past its bound (entries are re-read on demand).
     */
    private static final int IDENTITIES_KEPT = 100_000;
    private final java.util.concurrent.ConcurrentHashMap<String, String> identities = new java.util.concurrent.ConcurrentHashMap<>();

    private void rememberIdentity(String id, String identity) {
        if (identities.size() >= IDENTITIES_KEPT) {
            identities.clear();
        }
        identities.put(id, identity);
    }

    /** The identity a session belongs to; empty when there is no such session (any more). */
    public java.util.Optional<String> identityOf(String id) {
        String known = identities.get(id);
        if (known != null) {
            return java.util.Optional.of(known);
        }
        String read = store.read(c -> store.dsl(c).select(SESSION_IDENTITY).from(SESSION).where(SESSION_ID.eq(id)).fetchOne(SESSION_IDENTITY));
        if (read != null) {
            rememberIdentity(id, read);
        }
        return java.util.Optional.ofNullable(read);
    }

    /*
     * Per identity: the live sessions last counted in the store, and the opens since. Counting on
     * every open would cost a scan of the identity's sessions each time; while the last count plus
     * the opens since stays under 90 % of the cap, no count is needed (expiries only lower it).
     */
    private final java.util.concurrent.ConcurrentHashMap<String, long[]> liveCounts = new java.util.concurrent.ConcurrentHashMap<>();

    private boolean mayBeNearCap(String identity, int maxLive) {
        long[] known = liveCounts.computeIfAbsent(identity, i -> new long[] {0, Long.MAX_VALUE / 2});
        synchronized (known) {
            if (known[0] + known[1] < maxLive * 0.9) {
                known[1]++;
                return false;
            }
            return true;
        }
    }

    /** Extends the session's lease from the database's now; fails with 404 when it has expired. */
    public CompletableFuture<Info> keepAlive(String id) {
        CompletableFuture<Info> result = new CompletableFuture<>();
        keepAlives.add(new Pending(id, result));
        return result;
    }

    /** Store writes spent on keep-alives since start (one per batch). */
    public long keepAliveWrites() {
        return storeWrites;
    }

    public List<Info> list() {
        return list(null, Page.MAX).items();
    }

    /** Up to {@code limit} sessions in id order, after the id {@code after} ({@code null}: from the first). */
    public Page<Info> list(String after, int limit) {
        int n = Math.max(1, Math.min(limit, Page.MAX));
        return store.readAt((dsl, now) -> {
            var rows = dsl.select(SESSION_ID, SESSION_OWNER, SESSION_TTL, SESSION_EXPIRES).from(SESSION)
                    .where(after == null ? org.jooq.impl.DSL.noCondition() : SESSION_ID.gt(after)).orderBy(SESSION_ID).limit(n + 1)
                    .fetch(r -> new Info(r.get(SESSION_ID), r.get(SESSION_OWNER), r.get(SESSION_TTL), r.get(SESSION_EXPIRES),
                            Math.max(0, r.get(SESSION_EXPIRES) - now)));
            return Page.of(rows, n, Info::id);
        });
    }

    /** Ends a session cleanly: its locks are released (no lock-delay), its ephemeral nodes deleted. */
    public void closeSession(String id) {
        store.write("session-close", tx -> {
            requireLive(tx, id);
            end(tx, id, false);
            return null;
        });
    }

    /**
     * Refuses an unknown or expired session (by the database clock). A lease that ran out while the
     * store was away, before the reaper has credited the outage, is still live: leases do not run
     * during an outage (see {@link #uncreditedOutage}).
     */
    public static void requireLive(WriteTx tx, String id) {
        if (id == null || id.isBlank()) {
            throw new CoordinatorException(Problem.SESSION_NOT_FOUND, "a session id is required");
        }
        requireLive(tx, id, tx.dsl().select(SESSION_EXPIRES).from(SESSION).where(SESSION_ID.eq(id)).fetchOne(SESSION_EXPIRES));
    }

    /**
     * Refuses unless a session whose lease runs out at {@code expires} (null: no such session) is
     * live. No row lock is needed: everything that ends a session is a writing transaction, and
     * those run one at a time; a keep-alive only ever extends a lease.
     */
    static void requireLive(WriteTx tx, String id, Long expires) {
        if (expires != null && expires < tx.now()) {
            expires += uncreditedOutage(tx.dsl(), tx.now(), tx.outageThresholdMs());
        }
        if (expires == null || expires < tx.now()) {
            throw new CoordinatorException(Problem.SESSION_NOT_FOUND, "session '" + id + "' is unknown or has expired");
        }
    }

    /**
     * Ends a session inside a writing transaction. An expired session's locks pass through their
     * lock-delay before anyone else may take them; a cleanly closed one's are free at once.
     */
    /**
     * Expires many sessions in one transaction, in the order given. A session with nothing attached
     * (no lock held or queued, no ephemeral node: the usual case in a flood of abandoned sessions)
     * costs one event and its share of one DELETE; the others end one by one as {@link #end} ends
     * them. The events come out in the same order as ending each in turn would give.
     */
    static void expireAll(WriteTx tx, List<String> ids) {
        if (ids.isEmpty()) {
            return;
        }
        var dsl = tx.dsl();
        java.util.Set<String> attached = new java.util.HashSet<>();
        attached.addAll(dsl.selectDistinct(HOLDER_SESSION).from(HOLDER).where(HOLDER_SESSION.in(ids)).fetch(HOLDER_SESSION));
        attached.addAll(dsl.selectDistinct(WAITER_SESSION).from(WAITER).where(WAITER_SESSION.in(ids)).fetch(WAITER_SESSION));
        attached.addAll(dsl.selectDistinct(NODE_EPHEMERAL).from(NODE).where(NODE_EPHEMERAL.in(ids)).fetch(NODE_EPHEMERAL));
        List<String> bare = new ArrayList<>();
        for (String id : ids) {
            if (attached.contains(id)) {
                end(tx, id, true);
            } else {
                bare.add(id);
                tx.emit("/", Event.Kind.SESSION_EXPIRED, null, id);
            }
        }
        if (!bare.isEmpty()) {
            dsl.deleteFrom(SESSION).where(SESSION_ID.in(bare)).execute();
        }
    }

    static void end(WriteTx tx, String id, boolean expired) {
        var dsl = tx.dsl();
        java.util.Set<String> freed = new java.util.TreeSet<>();
        for (Record h : dsl.select(HOLDER_PATH, HOLDER_LOCK_DELAY).from(HOLDER).where(HOLDER_SESSION.eq(id)).orderBy(HOLDER_PATH).fetch()) {
            String path = h.get(HOLDER_PATH);
            long delay = h.get(HOLDER_LOCK_DELAY);
            if (expired && delay > 0) {
                dsl.update(NODE).set(NODE_LOCK_DELAY_UNTIL, org.jooq.impl.DSL.greatest(NODE_LOCK_DELAY_UNTIL, org.jooq.impl.DSL.val(tx.now() + delay)))
                        .where(NODE_PATH.eq(path)).execute();
            }
            dsl.deleteFrom(HOLDER).where(HOLDER_PATH.eq(path)).and(HOLDER_SESSION.eq(id)).execute();
            tx.emit(path, Event.Kind.LOCK_RELEASED, expired ? "session expired" : "session closed", id);
            freed.add(path);
        }
        // its queued requests go too; a waiter behind one of them may now be first
        freed.addAll(dsl.selectDistinct(WAITER_PATH).from(WAITER).where(WAITER_SESSION.eq(id)).fetch(WAITER_PATH));
        dsl.deleteFrom(WAITER).where(WAITER_SESSION.eq(id)).execute();
        List<String> ephemeral = dsl.select(NODE_PATH).from(NODE).where(NODE_EPHEMERAL.eq(id)).orderBy(NODE_PATH.desc()).fetch(NODE_PATH);
        for (String path : ephemeral) {
            Namespace.deleteNode(tx, path);
        }
        dsl.deleteFrom(SESSION).where(SESSION_ID.eq(id)).execute();
        LockBatch.handOn(tx, freed); // (a lock in lock-delay is handed on by its waiters when the delay ends)
        if (expired) {
            tx.emit("/", Event.Kind.SESSION_EXPIRED, null, id);
        }
    }

    /**
     * Leases stand still while the store, or every coordinator, is away: the reaper credits such an
     * outage by extending every lease by the gap since its previous tick (see {@link Reaper}). Until
     * that first tick after the outage has run, this is the credit still owed, so that a keep-alive
     * or operation arriving first is judged as the reaper is about to judge it: the gap since the
     * last reaper tick when it exceeds the outage threshold, otherwise zero.
     */
    static long uncreditedOutage(org.jooq.DSLContext dsl, long now, long thresholdMs) {
        Long last = dsl.select(CELL_VALUE).from(CELL).where(CELL_NAME.eq("reaper_tick")).fetchOne(CELL_VALUE);
        long gap = last == null || last <= 0 ? 0 : now - last;
        return gap > thresholdMs ? gap : 0;
    }

    private void batchLoop() {
        while (running) {
            List<Pending> batch = new ArrayList<>();
            try {
                Pending first = keepAlives.poll(1, TimeUnit.SECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                // gather whatever else arrives within the window into the same write: at 10,000 sessions
                // renewing every 4 s, a 25 ms window costs about 40 store writes a second
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BATCH_WINDOW_MS);
                while (batch.size() < 5000) {
                    long left = until - System.nanoTime();
                    Pending next = left <= 0 ? keepAlives.poll() : keepAlives.poll(left, TimeUnit.NANOSECONDS);
                    if (next == null) {
                        break;
                    }
                    batch.add(next);
                }
                extend(batch);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                batch.forEach(p -> p.result().completeExceptionally(e));
                if (EventHub.shuttingDown()) {
                    return; // the JVM is stopping: the embedded database may have been closed first
                }
                LOG.warn("keep-alive batch failed: {}", e.getMessage());
            }
        }
    }

    private void extend(List<Pending> batch) throws InterruptedException {
        List<String> ids = batch.stream().map(Pending::id).distinct().toList();
        Map<String, Info> extended;
        for (int attempt = 1; ; attempt++) {
            try {
                extended = extendOnce(ids);
                break;
            } catch (RuntimeException e) {
                // the UPDATE locks many session rows; a writing transaction ending some of them (the
                // reaper, a close) may lock them in another order: a deadlock, retried, not a failed keep-alive
                if (attempt >= KEEP_ALIVE_RETRY.maxAttempts() || dev.latchkey.toolkit.failure.FailureClassifier.classify(e).isEmpty()) {
                    throw e;
                }
                Thread.sleep(KEEP_ALIVE_RETRY.backoff(attempt));
            }
        }
        for (Pending p : batch) {
            Info info = extended.get(p.id());
            if (info == null) {
                p.result().completeExceptionally(new CoordinatorException(Problem.SESSION_NOT_FOUND,
                        "session '" + p.id() + "' is unknown or has expired"));
            } else {
                p.result().complete(info);
            }
        }
    }

    private static final dev.latchkey.toolkit.retry.RetryPolicy KEEP_ALIVE_RETRY = dev.latchkey.toolkit.retry.RetryPolicy.defaults()
            .withMaxAttempts(5).withBackoff(java.time.Duration.ofMillis(2), java.time.Duration.ofMillis(50));

    private Map<String, Info> extendOnce(List<String> ids) {
        return store.readAt((dsl, now) -> {
            long owed = uncreditedOutage(dsl, now, store.outageThresholdMs());
            dsl.update(SESSION).set(SESSION_EXPIRES, org.jooq.impl.DSL.val(now).plus(SESSION_TTL)).set(SESSION_RENEWED, now)
                    .where(SESSION_ID.in(ids)).and(SESSION_EXPIRES.plus(owed).ge(now)).execute();
            storeWrites++;
            Map<String, Info> found = new HashMap<>();
            for (Record r : dsl.select(SESSION_ID, SESSION_OWNER, SESSION_TTL, SESSION_EXPIRES).from(SESSION).where(SESSION_ID.in(ids)).fetch()) {
                if (r.get(SESSION_EXPIRES) >= now + r.get(SESSION_TTL)) {
                    found.put(r.get(SESSION_ID), new Info(r.get(SESSION_ID), r.get(SESSION_OWNER), r.get(SESSION_TTL),
                            r.get(SESSION_EXPIRES), r.get(SESSION_EXPIRES) - now));
                }
            }
            return found;
        });
    }

    @Override
    public void close() {
        running = false;
        batcher.interrupt();
    }
}
