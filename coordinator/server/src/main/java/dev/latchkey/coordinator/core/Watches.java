package dev.latchkey.coordinator.core;

import dev.latchkey.coordinator.store.Event;
import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.coordinator.store.Store;
import java.time.Duration;
import java.util.List;
import org.jooq.Condition;
import org.jooq.impl.DSL;

/**
 * Reads the event log for a watcher: by exact path or by subtree, strictly after a revision, in
 * revision order. Because writers commit in revision order, reading "everything after N" never
 * skips an event that commits later.
 */
public final class Watches {

    /** What a watcher gets next: events, or (when it fell behind retention) an order to resync. */
    public sealed interface Batch {
        /**
         * The matching events, and the revision through which every event was examined: a watcher
         * may continue from {@code scannedTo} even when nothing matched, so a quiet watch on a busy
         * store never falls behind the retention for events it was never going to receive.
         */
        record Events(List<Event> events, long scannedTo) implements Batch {
        }

        /** Events after {@code fromRev} were pruned; re-read state and continue from {@code currentRev}. */
        record Resync(long fromRev, long horizon, long currentRev) implements Batch {
        }
    }

    private final Store store;
    private final EventHub hub;

    public Watches(Store store, EventHub hub) {
        this.store = store;
        this.hub = hub;
    }

    /** Events after {@code afterRev} under {@code prefix} (or at exactly {@code path}), waiting up to {@code wait}. */
    public Batch next(String prefixOrPath, boolean exact, long afterRev, Duration wait, int limit) throws InterruptedException {
        Paths.require(prefixOrPath);
        // sampled before the read: a revision the hub sees between the read and the wait must still
        // wake this waiter (sampling it after the read would wait for the next one, and miss this)
        long seen = Math.max(afterRev, hub.lastSeen());
        Batch batch = read(prefixOrPath, exact, afterRev, limit);
        if (batch instanceof Batch.Events e && e.events().isEmpty()) {
            if (hub.awaitAfter(seen, wait)) {
                return read(prefixOrPath, exact, afterRev, limit);
            }
        }
        return batch;
    }

    /** How long a read waits for the event poller to take in this coordinator's own commits before reading the store. */
    private static final Duration CATCH_UP = Duration.ofMillis(500);

    private final java.util.concurrent.atomic.AtomicLong storeReads = new java.util.concurrent.atomic.AtomicLong();

    /** How many watcher reads went to the store because the events in memory did not reach back far enough. */
    public long storeReads() {
        return storeReads.get();
    }

    private Batch read(String path, boolean exact, long afterRev, int limit) {
        // read-your-writes: whatever this coordinator has acknowledged is in memory before memory answers
        long committedHere = store.lastCommittedRevision();
        boolean caughtUp = hub.lastSeen() >= committedHere;
        if (!caughtUp) {
            hub.wake();
            try {
                caughtUp = hub.awaitAfter(committedHere - 1, CATCH_UP);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        var fromMemory = caughtUp ? hub.recentAfter(afterRev, matcher(path, exact), limit) : java.util.Optional.<Batch.Events>empty();
        if (fromMemory.isPresent()) {
            return fromMemory.get();
        }
        storeReads.incrementAndGet();
        return store.read(c -> {
            var dsl = store.dsl(c);
            long horizon = dsl.select(CELL_VALUE).from(CELL).where(CELL_NAME.eq("horizon")).fetchOne(CELL_VALUE);
            if (afterRev < horizon) {
                long current = dsl.select(CELL_VALUE).from(CELL).where(CELL_NAME.eq("revision")).fetchOne(CELL_VALUE);
                return new Batch.Resync(afterRev, horizon, current);
            }
            // never read past what this coordinator has seen committed in order (the counter)
            long upTo = dsl.select(CELL_VALUE).from(CELL).where(CELL_NAME.eq("revision")).fetchOne(CELL_VALUE);
            Condition where = EVENT_REV.gt(afterRev).and(EVENT_REV.le(upTo)).and(matches(path, exact));
            List<Event> events = dsl.select(EVENT_REV, EVENT_PATH, EVENT_KIND, EVENT_DETAIL, EVENT_SESSION, EVENT_CREATED).from(EVENT)
                    .where(where).orderBy(EVENT_REV).limit(limit).fetch(EventHub::toEvent);
            long scannedTo = events.size() < limit ? Math.max(afterRev, upTo) : events.get(events.size() - 1).rev();
            return new Batch.Events(events, scannedTo);
        });
    }

    /** The same test as {@link #matches}, on an event in memory. */
    private static java.util.function.Predicate<Event> matcher(String path, boolean exact) {
        if (exact) {
            return e -> e.path().equals(path);
        }
        if (path.equals("/")) {
            return e -> true;
        }
        String below = path + "/";
        return e -> e.path().equals(path) || e.path().startsWith(below);
    }

    private static Condition matches(String path, boolean exact) {
        if (exact) {
            return EVENT_PATH.eq(path);
        }
        if (path.equals("/")) {
            return DSL.trueCondition();
        }
        String escaped = path.replace("!", "!!").replace("%", "!%").replace("_", "!_");
        return EVENT_PATH.eq(path).or(EVENT_PATH.like(escaped + "/%", '!'));
    }
}
