package dev.latchkey.coordinator.store;

import static dev.latchkey.coordinator.store.Schema.*;

import java.sql.Connection;
import java.sql.SQLException;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/**
 * Makes a store that was restored from a backup safe to serve again. A backup is older than the
 * moment it is restored at: every lock generation, file generation and revision handed out since
 * it was taken would be handed out a second time, so a fencing token, a compare-on-generation
 * write or a watch cursor from before the restore could be mistaken for a current one.
 *
 * <p>In one transaction, with every coordinator stopped:
 * <ul>
 *   <li>every lock and content generation, and the revision counter, are raised to a <em>floor</em>
 *       of the database clock in milliseconds times 1,000: above anything issued before, as long
 *       as fewer than 1,000 grants of one lock, writes of one file or store writes happened per
 *       millisecond since the previous floor (by six orders of magnitude, they do);</li>
 *   <li>the event log is emptied and its horizon set to the floor, so every watcher resumes with
 *       an explicit resync rather than silence;</li>
 *   <li>every session ends, with its locks, waiters and ephemeral nodes: the backup's idea of who
 *       held what is stale, and its clients see "session not found" and start again.</li>
 * </ul>
 */
public final class AfterRestore {

    /** What the repair did. */
    public record Report(long floor, int sessionsEnded, int locksReleased, int ephemeralNodesDeleted, int nodes, long lastTickAgoMs) {
    }

    /** Coordinators that ticked more recently than this are taken to be running. */
    public static final long RUNNING_IF_TICKED_WITHIN_MS = 10_000;

    private AfterRestore() {
    }

    /**
     * Repairs the store. Refuses, changing nothing, when a coordinator's reaper ticked within the
     * last 10 s (it is running: stop every coordinator first), unless {@code force}.
     */
    public static Report repair(Store store, boolean force) {
        try (Connection c = store.dataSource().getConnection()) {
            c.setAutoCommit(false);
            try {
                Report report = repair(store.dsl(c), store.nowMillis(c), force);
                c.commit();
                return report;
            } catch (RuntimeException | SQLException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new Store.StoreUnavailableException("the repair failed: " + e.getMessage(), e);
        }
    }

    private static Report repair(DSLContext dsl, long now, boolean force) {
        long revision = dsl.select(CELL_VALUE).from(CELL).where(CELL_NAME.eq("revision")).forUpdate().fetchOne(CELL_VALUE);
        long tick = dsl.select(CELL_VALUE).from(CELL).where(CELL_NAME.eq("reaper_tick")).fetchOne(CELL_VALUE);
        long tickAgo = tick <= 0 ? Long.MAX_VALUE : now - tick;
        if (!force && tickAgo < RUNNING_IF_TICKED_WITHIN_MS) {
            throw new IllegalStateException("a coordinator's reaper ticked " + tickAgo + " ms ago: stop every coordinator on this store"
                    + " first (or force the repair if none runs)");
        }
        Long maxLock = dsl.select(DSL.max(NODE_LOCK_GEN)).from(NODE).fetchOne(0, Long.class);
        Long maxContent = dsl.select(DSL.max(NODE_CONTENT_GEN)).from(NODE).fetchOne(0, Long.class);
        long floor = Math.max(Math.multiplyExact(now, 1_000L),
                1 + Math.max(revision, Math.max(maxLock == null ? 0 : maxLock, maxContent == null ? 0 : maxContent)));

        int locks = dsl.deleteFrom(HOLDER).execute();
        dsl.deleteFrom(WAITER).execute();
        int ephemeral = dsl.deleteFrom(NODE).where(NODE_EPHEMERAL.isNotNull()).execute();
        int sessions = dsl.deleteFrom(SESSION).execute();
        int nodes = dsl.update(NODE).set(NODE_LOCK_GEN, DSL.greatest(NODE_LOCK_GEN, DSL.val(floor)))
                .set(NODE_CONTENT_GEN, DSL.greatest(NODE_CONTENT_GEN, DSL.val(floor)))
                .set(NODE_LOCK_DELAY_UNTIL, 0L).execute();
        dsl.deleteFrom(EVENT).execute();
        dsl.update(CELL).set(CELL_VALUE, floor).where(CELL_NAME.in("revision", "horizon")).execute();
        dsl.update(CELL).set(CELL_STAMP, CELL_STAMP.plus(1)).where(CELL_NAME.eq("revision")).execute(); // (a write like any other)
        dsl.update(CELL).set(CELL_VALUE, now).where(CELL_NAME.eq("reaper_tick")).execute();
        return new Report(floor, sessions, locks, ephemeral, nodes, tickAgo == Long.MAX_VALUE ? -1 : tickAgo);
    }
}
