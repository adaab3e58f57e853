package dev.latchkey.coordinator.core;

import dev.latchkey.coordinator.store.Event;
import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.coordinator.store.Store;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jooq.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Learns of new events and wakes whoever waits for them: lock waiters, held keep-alives, watch
 * streams. One poller per coordinator reads the revision counter; on PostgreSQL a LISTEN
 * connection wakes it the moment another coordinator commits (writers NOTIFY in their
 * transaction); this coordinator's own commits wake it directly.
 *
 * <p>Other coordinators' events are read from the store only while something here needs them
 * (an {@link #interest()}: a watcher, a lock waiter, a held keep-alive). With nothing waiting, a
 * coordinator moves past other coordinators' commits without reading them: an idle coordinator
 * beside a busy one costs the store no reads per commit. Whatever registers an interest needs
 * only events committed after it did (a waiter's grant, a conflicting request after the hold
 * began), and a watcher whose cursor is older than what memory holds reads the store.
 */
public final class EventHub implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventHub.class);
    static final String CHANNEL = "latchkey_events";

    private final Store store;
    private final Duration pollInterval;
    private final List<Consumer<List<Event>>> listeners = new CopyOnWriteArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    /** Held while events are handed out: by the poller, or by the writer offering its own commit. */
    private final ReentrantLock delivering = new ReentrantLock();
    private volatile long directDeliveries;
    /*
     * This coordinator's listener row (PostgreSQL with LISTEN): while it is there, other coordinators'
     * commits NOTIFY (WriteTx#NOTIFY_SQL); without one anywhere, no commit does, and no LISTEN
     * connection wakes for nothing. It is written, through this coordinator's writer (so under the
     * revision counter's lock), before the first interest returns: every commit whose wake-up is
     * evaluated after that sees it, and whatever the interest waits for commits after it. It runs out
     * LISTENER_TTL_MS after its last refresh (a coordinator that died leaves nothing behind for long),
     * and is removed after IDLE_NANOS with no interest.
     */
    private final boolean publishing;
    private final String listenerName = Store.LISTENER_PREFIX + java.util.UUID.randomUUID().toString().replace("-", "");
    private final Object publication = new Object();
    private volatile boolean published;
    private volatile long publishedNanos;
    private volatile long lastInterest = System.nanoTime();
    static final long LISTENER_TTL_MS = 30_000;
    private static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(5);

    /** Writes the listener row if it is not there; a failure leaves it for the next try (the timed poll still runs). */
    private void publish() {
        synchronized (publication) {
            if (published) {
                return;
            }
            try {
                writeListenerRow();
                published = true;
            } catch (RuntimeException e) {
                LOG.warn("could not say that this coordinator listens ({}); other coordinators' commits reach it by the timed poll meanwhile",
                        e.getMessage());
            }
        }
    }

    private void writeListenerRow() {
        store.write("listener", tx -> {
            tx.keepsRemembered(); // (a cell other than the counter: no writer's memory of lock rows changes)
            long until = tx.now() + LISTENER_TTL_MS;
            return tx.dsl().insertInto(CELL).columns(CELL_NAME, CELL_VALUE).values(listenerName, until).onConflict(CELL_NAME).doUpdate()
                    .set(CELL_VALUE, until).execute();
        });
        publishedNanos = System.nanoTime();
    }

    /** On the poller's thread: publishes when asked from the writer's thread, refreshes, and removes the row once idle. */
    private void maintainListenerRow() {
        if (!publishing) {
            return;
        }
        if (!published) {
            if (interested.get() > 0) {
                publish();
            }
            return;
        }
        if (interested.get() == 0 && System.nanoTime() - lastInterest > IDLE_NANOS) {
            unpublishIfIdle();
        } else if (System.nanoTime() - publishedNanos > REFRESH_NANOS) {
            synchronized (publication) {
                try {
                    writeListenerRow();
                } catch (RuntimeException e) {
                    LOG.warn("could not refresh this coordinator's listener row: {}", e.getMessage());
                }
            }
        }
    }

    private void unpublishIfIdle() {
        synchronized (publication) {
            published = false; // first: an interest that read it true went up before the check below, which then sees it
            if (interested.get() > 0) {
                published = true;
                return;
            }
            removeListenerRow();
        }
    }

    private void removeListenerRow() {
        try {
            store.write("listener", tx -> {
                tx.keepsRemembered();
                return tx.dsl().deleteFrom(CELL).where(CELL_NAME.eq(listenerName)).execute();
            });
        } catch (RuntimeException e) {
            LOG.debug("could not remove this coordinator's listener row (it runs out by itself): {}", e.getMessage());
        }
    }

    /** Whether this coordinator's listener row is in place (a gauge for tests). */
    public boolean listenerPublished() {
        return published;
    }

    /** How many things on this coordinator wait for events now (see {@link #interest()}). */
    private final java.util.concurrent.atomic.AtomicInteger interested = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong storeReads = new java.util.concurrent.atomic.AtomicLong();
    private volatile long passedOver;
    private final Condition changed = lock.newCondition();
    private final Object kick = new Object();
    private volatile long lastSeen;
    private volatile boolean running = true;
    private volatile boolean kicked;
    /** Whether the LISTEN connection is up: then NOTIFY wakes the poller, and its timed poll is only a backstop. */
    private volatile boolean listening;
    /** The poll interval while LISTEN is up. */
    static final long LISTENING_POLL_MS = 1_000;
    private final Thread poller;
    private final Thread listener;

    /*
     * The most recent events, by revision, as delivered (read by the poller, or offered by this
     * coordinator's writer): every event whose revision is in (coveredFrom, lastSeen] is here, so a
     * watcher whose cursor is at or above coveredFrom is served from memory instead of reading the
     * store on every commit. Only the holder of `delivering` writes (events in before lastSeen moves
     * past them; coveredFrom raised before an event leaves); watchers read
     * without a lock, so hundreds of them waking on one commit do not queue on one another.
     */
    private final java.util.concurrent.ConcurrentSkipListMap<Long, Event> recent = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final int recentCapacity;
    private int recentCount; // (ConcurrentSkipListMap.size() walks the map); guarded by delivering
    private volatile long coveredFrom;

    /**
     * Keeps up to {@code recentCapacity} of the latest events in memory for watchers (0: none). On
     * PostgreSQL, {@code jdbcUrl} is where to LISTEN for other coordinators' commits; null: nowhere,
     * poll only.
     */
    public EventHub(Store store, Duration pollInterval, String jdbcUrl, String user, String password, int recentCapacity) {
        this.store = store;
        this.pollInterval = pollInterval;
        this.recentCapacity = Math.max(0, recentCapacity);
        this.lastSeen = currentRevision();
        this.coveredFrom = lastSeen;
        boolean listen = store.kind() == DatabaseKind.POSTGRES && jdbcUrl != null;
        this.publishing = listen;
        store.ownListener(listenerName);
        this.poller = Thread.ofPlatform().name("latchkey-event-poller").daemon().start(this::pollLoop);
        if (store.kind() == DatabaseKind.POSTGRES) {
            if (listen) {
                LOG.info("other coordinators' commits: LISTEN on {}, and a poll every {} ms as a backstop", redacted(jdbcUrl), LISTENING_POLL_MS);
            } else {
                LOG.info("other coordinators' commits: a poll every {} ms (the store is behind a transaction pooler and no direct URL "
                        + "was given for LISTEN)", pollInterval.toMillis());
            }
        }
        this.listener = listen
                ? Thread.ofPlatform().name("latchkey-pg-listen").daemon().start(() -> listenLoop(jdbcUrl, user, password))
                : null;
    }

    public void addListener(Consumer<List<Event>> l) {
        listeners.add(l);
    }

    /** Something's need for events, from {@link #interest()} until closed (once). */
    public interface Interest extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Says that something on this coordinator waits for events (a watcher, a lock waiter, a held
     * keep-alive) until the returned handle is closed: meanwhile every commit, this coordinator's
     * or another's, reaches the listeners and memory. It needs to be in place only before whatever
     * it waits for can commit (a waiter before its request is queued, a watcher before it reads):
     * events committed before it may be passed over.
     */
    public Interest interest() {
        interested.incrementAndGet();
        lastInterest = System.nanoTime();
        if (publishing && !published) { // (read after the count went up: see unpublishIfIdle)
            if (store.onWriterThread()) {
                wake(); // (the writer cannot wait for a write of its own: the poller publishes)
            } else {
                publish();
            }
        }
        var closed = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (closed.compareAndSet(false, true)) {
                lastInterest = System.nanoTime(); // (the row goes IDLE_NANOS after the last interest ended)
                interested.decrementAndGet();
            }
        };
    }

    /** How many things on this coordinator wait for events now (watchers, lock waiters, held keep-alives; a gauge). */
    public int interested() {
        return interested.get();
    }

    /** How many times the poller read events from the store (a gauge for tests and metrics). */
    public long storeReads() {
        return storeReads.get();
    }

    /** How many times this hub moved past other coordinators' commits without reading them, nothing here waiting for them. */
    public long passedOver() {
        return passedOver;
    }

    /** The newest revision this coordinator has delivered to its listeners. */
    public long lastSeen() {
        return lastSeen;
    }

    /** Asks the poller to look now (after a local commit, or a NOTIFY). */
    public void wake() {
        synchronized (kick) {
            kicked = true;
            kick.notifyAll();
        }
    }

    /** Waits until the hub has seen a revision above {@code rev}, or the timeout passes. */
    public boolean awaitAfter(long rev, Duration timeout) throws InterruptedException {
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            while (lastSeen <= rev) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = changed.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    public long currentRevision() {
        return store.read(c -> store.dsl(c).select(CELL_VALUE).from(CELL).where(CELL_NAME.eq("revision")).fetchOne(CELL_VALUE));
    }

    private void pollLoop() {
        while (running) {
            try {
                synchronized (kick) {
                    if (!kicked) {
                        kick.wait(listening ? Math.max(pollInterval.toMillis(), LISTENING_POLL_MS) : pollInterval.toMillis());
                    }
                    kicked = false;
                }
                if (!running) {
                    return;
                }
                deliverNew();
                maintainListenerRow();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (shuttingDown()) {
                    return; // the JVM is stopping: the embedded database's own hook may have closed it first
                }
                LOG.warn("event poll failed: {}", e.getMessage());
                sleepQuietly(500);
            }
        }
    }

    /** Whether the JVM is running its shutdown hooks (a hook can no longer be added then). */
    static boolean shuttingDown() {
        try {
            Thread probe = new Thread(() -> { });
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }

    /**
     * Takes in events this coordinator's writer has just committed. When they follow on from the
     * last revision delivered (no other coordinator committed in between), they go straight to the
     * listeners and to memory, with no store read; otherwise, or while the poller is delivering,
     * the poller is woken to read them in order.
     */
    public void offerCommitted(List<Event> events) {
        if (events.isEmpty()) {
            return;
        }
        if (delivering.tryLock()) {
            try {
                if (events.get(0).rev() == lastSeen + 1) {
                    deliver(events, events.get(events.size() - 1).rev());
                    directDeliveries++;
                    return;
                }
            } finally {
                delivering.unlock();
            }
        }
        wake();
    }

    /** How many commits of this coordinator's reached the listeners without a store read (a gauge for tests and metrics). */
    public long directDeliveries() {
        return directDeliveries;
    }

    private void deliverNew() {
        delivering.lock();
        try {
            deliverNewLocked();
        } finally {
            delivering.unlock();
        }
    }

    private void deliverNewLocked() {
        long current = currentRevision();
        // (asked after the counter was read: anything that registers later needs only later events)
        if (interested.get() == 0 && ownCommitsDelivered()) {
            passOverLocked(current);
            return;
        }
        while (current > lastSeen) {
            long from = lastSeen;
            storeReads.incrementAndGet();
            List<Event> batch = store.read(c -> store.dsl(c).select(EVENT_REV, EVENT_PATH, EVENT_KIND, EVENT_DETAIL, EVENT_SESSION, EVENT_CREATED)
                    .from(EVENT).where(EVENT_REV.gt(from)).and(EVENT_REV.le(current)).orderBy(EVENT_REV).limit(2000)
                    .fetch(EventHub::toEvent));
            deliver(batch, batch.isEmpty() ? current : batch.get(batch.size() - 1).rev());
        }
    }

    /** Hands events (in revision order, following on from lastSeen) to the listeners and memory; under {@link #delivering}. */
    private void deliver(List<Event> batch, long upTo) {
        if (!batch.isEmpty()) {
            for (Consumer<List<Event>> l : listeners) {
                try {
                    l.accept(batch);
                } catch (RuntimeException e) {
                    LOG.warn("event listener failed", e);
                }
            }
        }
        remember(batch); // (before lastSeen moves: readers trust memory up to lastSeen)
        publish(upTo);
    }

    /** Moves lastSeen to {@code upTo} and wakes whoever waits for it to move. */
    private void publish(long upTo) {
        lock.lock();
        try {
            lastSeen = upTo;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * With nothing here waiting for events, moves past another coordinator's commit that ended at
     * {@code rev} without reading it, on the LISTEN connection's thread; false when it cannot
     * (something waits for events, or they are being delivered): then the poller reads them.
     */
    private boolean passOver(long rev) {
        if (interested.get() > 0 || !delivering.tryLock()) {
            return false;
        }
        try {
            if (interested.get() > 0 || !ownCommitsDelivered()) {
                return false;
            }
            passOverLocked(rev);
            return true;
        } finally {
            delivering.unlock();
        }
    }

    /**
     * Whether every commit of this coordinator's own writer has been delivered: only then may the hub
     * move past unread events (they are other coordinators'). Its own commits reach memory without a
     * store read (offerCommitted), and a watcher that comes later is served them from there; the
     * poller, reading the counter a moment before the writer offers a commit, must not drop them.
     * Asked after the counter was read: a revision of this writer's that the read saw was committed
     * inside a batch that either still runs or has been offered.
     */
    private boolean ownCommitsDelivered() {
        // (a batch in flight may have committed already, before lastCommittedRevision says so)
        return !store.writing() && lastSeen >= store.lastCommittedRevision();
    }

    /** Moves lastSeen to {@code rev} without reading the events up to it; memory then covers nothing before {@code rev}. Under {@link #delivering}. */
    private void passOverLocked(long rev) {
        if (rev <= lastSeen) {
            return;
        }
        coveredFrom = rev; // first: a watcher that reads memory meanwhile sees that it no longer reaches back, and reads the store
        recent.clear();
        recentCount = 0;
        passedOver++;
        publish(rev);
    }

    private void remember(List<Event> batch) {
        if (recentCapacity == 0) {
            coveredFrom = Long.MAX_VALUE; // nothing is kept: every watcher reads the store
            return;
        }
        for (Event e : batch) {
            if (recent.put(e.rev(), e) == null) {
                recentCount++;
            }
        }
        while (recentCount > recentCapacity) {
            long oldest = recent.firstKey();
            coveredFrom = oldest; // first: a reader that looks after this knows the event may be gone
            recent.remove(oldest);
            recentCount--;
        }
    }

    /**
     * The events after {@code afterRev} that match, up to {@code limit}, from memory, with the
     * revision through which every event was examined; empty when memory does not reach back to
     * {@code afterRev} (the caller reads the store instead).
     */
    Optional<Watches.Batch.Events> recentAfter(long afterRev, Predicate<Event> matches, int limit) {
        long through = lastSeen; // every event up to here was put in before lastSeen was published
        if (afterRev < coveredFrom) {
            return Optional.empty();
        }
        List<Event> found = new java.util.ArrayList<>();
        long scanned = Math.max(afterRev, through);
        var window = afterRev >= through ? java.util.Collections.<Long, Event>emptyNavigableMap() : recent.subMap(afterRev, false, through, true);
        for (Event e : window.values()) {
            if (matches.test(e)) {
                found.add(e);
                if (found.size() == limit) {
                    scanned = e.rev();
                    break;
                }
            }
        }
        if (afterRev < coveredFrom) {
            return Optional.empty(); // the poller dropped events this read may have needed: the store answers
        }
        return Optional.of(new Watches.Batch.Events(found, scanned));
    }

    static Event toEvent(Record r) {
        return new Event(r.get(EVENT_REV), r.get(EVENT_PATH), Event.Kind.valueOf(r.get(EVENT_KIND)), r.get(EVENT_DETAIL),
                r.get(EVENT_SESSION), r.get(EVENT_CREATED));
    }

    /** A URL as a log may show it: without its parameters (a password may be one). */
    private static String redacted(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q);
    }

    private void listenLoop(String url, String user, String password) {
        while (running) {
            try (Connection c = DriverManager.getConnection(url, user, password)) {
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + CHANNEL);
                }
                wake(); // whatever committed before LISTEN took effect
                org.postgresql.PGConnection pg = c.unwrap(org.postgresql.PGConnection.class);
                if (!hearsItsOwnProbe(pg)) {
                    if (!running) {
                        return; // (closed while it waited: nothing to say)
                    }
                    // a LISTEN through a transaction pooler registers on whichever server session ran it, which
                    // then serves other clients: nothing reaches this connection. Poll at the usual pace instead.
                    deaf = true;
                    LOG.warn("LISTEN on {} heard nothing of a NOTIFY sent through the store within {} ms: is that URL a transaction "
                            + "pooler's (PgBouncer)? Then start the coordinator with --db-pooled, and --db-direct-url for LISTEN "
                            + "(without them it also uses prepared statements and session settings that a transaction pooler mixes "
                            + "up between its clients). Polling every {} ms instead.", redacted(url), PROBE_WAIT_MS, pollInterval.toMillis());
                    return;
                }
                listening = true;
                while (running) {
                    org.postgresql.PGNotification[] notes = pg.getNotifications(1000);
                    if (notes != null && notes.length > 0) {
                        long others = othersNewest(notes);
                        if (others == UNKNOWN || (others > 0 && !passOver(others))) {
                            wake();
                        }
                    }
                }
            } catch (Exception e) {
                listening = false;
                if (running) {
                    LOG.warn("LISTEN connection failed ({}); polling meanwhile", e.getMessage());
                    sleepQuietly(1000);
                }
            }
        }
    }

    /** How long the LISTEN connection waits for its own probe before it concludes that it hears nothing. */
    static final long PROBE_WAIT_MS = 5_000;

    /** Set when the LISTEN connection did not hear its own probe: the coordinator polls instead. */
    private volatile boolean deaf;

    /** Whether LISTEN is up and heard its probe (false while connecting, after a failure, or when it heard nothing). */
    public boolean listening() {
        return listening;
    }

    /** Whether the LISTEN connection heard nothing of its own probe, and the coordinator polls instead (see the log's warning). */
    public boolean listenHeardNothing() {
        return deaf;
    }

    /**
     * Sends a NOTIFY with a payload of its own through the store (as a commit would) and waits for it
     * on the LISTEN connection. Other notifications that arrive meanwhile wake the poller as usual.
     */
    private boolean hearsItsOwnProbe(org.postgresql.PGConnection pg) throws java.sql.SQLException {
        String probe = "probe:" + java.util.UUID.randomUUID();
        try (Connection c = store.dataSource().getConnection();
                java.sql.PreparedStatement notify = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            if (!c.getAutoCommit()) {
                c.setAutoCommit(true);
            }
            notify.setString(1, CHANNEL);
            notify.setString(2, probe);
            notify.execute();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PROBE_WAIT_MS);
        while (running) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                return false;
            }
            org.postgresql.PGNotification[] notes = pg.getNotifications((int) left);
            if (notes == null) {
                continue;
            }
            for (org.postgresql.PGNotification n : notes) {
                if (probe.equals(n.getParameter())) {
                    return true;
                }
            }
            wake(); // (another coordinator's commit, or its probe)
        }
        return false;
    }

    /** {@link #othersNewest}'s answer for a notification that names no revision (a probe). */
    private static final long UNKNOWN = Long.MAX_VALUE;

    /**
     * The newest revision other coordinators' commits among these notifications ended at (the
     * payload is the revision a commit ended at); 0 when every one names a revision this
     * coordinator's own writer has committed, which the writer delivers itself, or wakes the poller
     * for when it cannot (another coordinator's commit came first); {@link #UNKNOWN} when one names
     * none.
     */
    private long othersNewest(org.postgresql.PGNotification[] notes) {
        long mine = store.lastCommittedRevision();
        long newest = 0;
        for (org.postgresql.PGNotification n : notes) {
            long rev;
            try {
                rev = Long.parseLong(n.getParameter());
            } catch (NumberFormatException e) {
                return UNKNOWN;
            }
            if (rev > mine) {
                newest = Math.max(newest, rev);
            }
        }
        return newest;
    }

    private static void sleepQuietly(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (published) {
            synchronized (publication) {
                published = false;
                removeListenerRow();
            }
        }
        running = false;
        wake();
        poller.interrupt();
        if (listener != null) {
            listener.interrupt();
        }
    }
}
