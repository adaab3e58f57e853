package dev.latchkey.coordinator.store;

import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.coordinator.core.Event;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;

/**
 * One writing transaction. It takes the revision counter's row lock before anything else, so
 * writing transactions run one at a time and commit in revision order: a watcher that sees
 * revision N can never later see a smaller one appear (no gaps, ever).
 */
public final class WriteTx {

    private final DSLContext dsl;
    private final long now;
    private final long base;
    private final List<Event> events = new ArrayList<>();

    private final boolean postgres;
    private final long outageThresholdMs;

    /** Takes the revision counter's row lock and reads the database clock, in one round trip. */
    WriteTx(DSLContext dsl, String nowExpression, boolean postgres, long outageThresholdMs) {
        this.postgres = postgres;
        this.outageThresholdMs = outageThresholdMs;
        this.dsl = dsl;
        org.jooq.Record2<Long, Long> head = dsl.select(CELL_VALUE, org.jooq.impl.DSL.field(nowExpression, Long.class)).from(CELL)
                .where(CELL_NAME.eq("revision")).forUpdate().fetchOne();
        this.base = head.value1();
        this.now = head.value2();
    }

    public DSLContext dsl() {
        return dsl;
    }

    /** The database clock, in epoch milliseconds, read when the transaction began. */
    public long now() {
        return now;
    }

    /** The reaper's outage threshold: a longer gap between its ticks stops the leases' clocks. */
    public long outageThresholdMs() {
        return outageThresholdMs;
    }

    /** The revision the next event will get. */
    public long nextRev() {
        return base + events.size() + 1;
    }

    /** Appends an event; it commits with the transaction. */
    public Event emit(String path, Event.Kind kind, String detail, String session) {
        Event e = new Event(nextRev(), path, kind, detail, session, now);
        events.add(e);
        return e;
    }

    List<Event> events() {
        return events;
    }

    /** How many events have been appended so far (to undo one operation's events). */
    int mark() {
        return events.size();
    }

    /** Forgets the events appended after {@code mark}: their operation was rolled back. */
    void truncate(int mark) {
        while (events.size() > mark) {
            events.remove(events.size() - 1);
        }
    }

    void flush() {
        if (events.isEmpty()) {
            return;
        }
        var insert = dsl.insertInto(EVENT, EVENT_REV, EVENT_PATH, EVENT_KIND, EVENT_DETAIL, EVENT_SESSION, EVENT_CREATED);
        for (Event e : events) {
            insert = insert.values(e.rev(), e.path(), e.kind().name(), e.detail(), e.session(), e.createdMillis());
        }
        long revision = base + events.size();
        if (postgres) {
            // the events, the counter and the wake-up in one round trip; NOTIFY is delivered at commit
            // to every coordinator LISTENing on PostgreSQL (a data-modifying WITH always runs to completion)
            dsl.resultQuery("WITH n AS (SELECT pg_notify('latchkey_events', {0})), e AS ({5}) UPDATE {1} SET {2} = {3} FROM n WHERE {4} = 'revision'"
                    + " RETURNING {2}", org.jooq.impl.DSL.val(Long.toString(revision)), CELL, CELL_VALUE, org.jooq.impl.DSL.val(revision),
                    CELL_NAME, insert).fetch();
        } else {
            insert.execute();
            dsl.update(CELL).set(CELL_VALUE, revision).where(CELL_NAME.eq("revision")).execute();
        }
    }

    /** Whether the store is PostgreSQL, whose writable WITH lets several writes share one round trip. */
    public boolean postgres() {
        return postgres;
    }
}
