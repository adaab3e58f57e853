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
        this.poller = Thread.ofPlatform().name("latchkey-event-poller").daemon().start(this::pollLoop);
        boolean listen = store.kind() == DatabaseKind.POSTGRES && jdbcUrl != null;
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
        while (current > lastSeen) {
            long from = lastSeen;
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
        lock.lock();
        try {
            lastSeen = upTo;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
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
                    if (notes != null && notes.length > 0 && !ownCommitsOnly(notes)) {
                        wake();
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

    /**
     * Whether every notification names a revision this coordinator's own writer has committed (the
     * payload is the revision a commit ended at). The writer delivers its commits itself, or wakes
     * the poller when it cannot (another coordinator's commit came first), so waking the poller for
     * these would only cost a read that finds nothing new.
     */
    private boolean ownCommitsOnly(org.postgresql.PGNotification[] notes) {
        long mine = store.lastCommittedRevision();
        for (org.postgresql.PGNotification n : notes) {
            long rev;
            try {
                rev = Long.parseLong(n.getParameter());
            } catch (NumberFormatException e) {
                return false;
            }
            if (rev > mine) {
                return false;
            }
        }
        return true;
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
        running = false;
        wake();
        poller.interrupt();
        if (listener != null) {
            listener.interrupt();
        }
    }
}
