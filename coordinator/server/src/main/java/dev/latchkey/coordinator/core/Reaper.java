package dev.latchkey.coordinator.core;

import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.coordinator.store.Store;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Expires sessions whose lease has run out by the database clock. Every coordinator runs one;
 * they cooperate through the store (the revision counter's row lock serialises them, and
 * {@code SKIP LOCKED} keeps one from waiting on sessions another is expiring).
 *
 * <p>Failover grace: each tick records the database time in {@code lk_cell.reaper_tick}. A tick that
 * finds the previous one older than {@code outageThreshold} (the store, or every coordinator, was
 * away) first extends every lease by the gap, so that sessions whose clients could not reach
 * anyone during the outage are not expired for it.
 */
public final class Reaper implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Reaper.class);

    private final Store store;
    private final Duration interval;
    private final Duration outageThreshold;
    private final long eventRetention;
    private final Thread thread;
    private volatile boolean running = true;

    public Reaper(Store store, Duration interval, Duration outageThreshold, long eventRetention) {
        this.store = store;
        this.interval = interval;
        this.outageThreshold = outageThreshold;
        this.eventRetention = eventRetention;
        try {
            // tick once before serving: the outage rule needs a tick on record to measure a gap from,
            // and a store that every coordinator left for a while is credited the gap right here
            tick();
        } catch (RuntimeException e) {
            LOG.warn("first reaper tick failed: {}", e.getMessage());
        }
        this.thread = Thread.ofPlatform().name("latchkey-reaper").daemon().start(this::loop);
    }

    /** Sessions expired per pass: starts small, doubles while passes come back full, and falls back when the backlog is gone. */
    static final int MIN_BATCH = 50;
    static final int MAX_BATCH = 800;
    private int batch = MIN_BATCH;

    private void loop() {
        boolean backlog = false;
        while (running) {
            try {
                if (!backlog) {
                    Thread.sleep(interval.toMillis());
                }
                int expired = tick(batch);
                // a full pass means more are waiting: go again at once, with a bigger batch
                backlog = expired >= batch;
                batch = backlog ? Math.min(MAX_BATCH, batch * 2) : MIN_BATCH;
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (EventHub.shuttingDown()) {
                    return; // the JVM is stopping: the embedded database may have been closed first
                }
                LOG.warn("reaper tick failed: {}", e.getMessage());
            }
        }
    }

    /** One pass: outage grace, expiries, stale waiters, event retention. Returns the sessions expired. */
    public int tick() {
        return tick(MIN_BATCH);
    }

    private int tick(int limit) {
        return store.write("reaper", tx -> {
            var dsl = tx.dsl();
            long last = dsl.select(CELL_VALUE).from(CELL).where(CELL_NAME.eq("reaper_tick")).fetchOne(CELL_VALUE);
            long gap = tx.now() - last;
            if (last > 0 && gap > outageThreshold.toMillis()) {
                int extended = dsl.update(SESSION).set(SESSION_EXPIRES, SESSION_EXPIRES.plus(gap)).execute();
                // expected after every restart of a lone coordinator: informative, not alarming
                LOG.info("no reaper tick for {} ms (store or coordinators away): extended {} leases by the gap", gap, extended);
            }
            dsl.update(CELL).set(CELL_VALUE, tx.now()).where(CELL_NAME.eq("reaper_tick")).execute();

            List<String> expired = dsl.select(SESSION_ID).from(SESSION).where(SESSION_EXPIRES.lt(tx.now())).orderBy(SESSION_EXPIRES)
                    .limit(limit).forUpdate().skipLocked().fetch(SESSION_ID);
            Sessions.expireAll(tx, expired);
            dsl.deleteFrom(WAITER).where(WAITER_DEADLINE.lt(tx.now() - 1_000)).execute();

            if (expired.isEmpty()) {
                tx.keepsRemembered(); // (a tick, leases only extended, waiters whose wait ran out, old events: no lock decision changes)
            }
            long revision = tx.nextRev() - 1;
            long horizon = dsl.select(CELL_VALUE).from(CELL).where(CELL_NAME.eq("horizon")).fetchOne(CELL_VALUE);
            long newHorizon = revision - eventRetention;
            if (newHorizon > horizon) {
                // (bounded below too: everything at or under the old horizon went with an earlier tick, and a
                // range closed on both sides is an index range scan of the primary key on every database,
                // statistics or not; "rev <= ?" alone was planned on PostgreSQL, until the table was first
                // analysed, as a sequential scan of the whole retained log in every tick, inside the writer)
                dsl.deleteFrom(EVENT).where(EVENT_REV.gt(horizon)).and(EVENT_REV.le(newHorizon)).execute();
                dsl.update(CELL).set(CELL_VALUE, newHorizon).where(CELL_NAME.eq("horizon")).execute();
            }
            return expired.size();
        });
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
