package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Acls;
import dev.latchkey.coordinator.core.Event;
import dev.latchkey.coordinator.core.Tokens;
import dev.latchkey.coordinator.core.Watches;
import io.javalin.http.sse.SseClient;
import java.util.concurrent.TimeUnit;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Events: the long-poll listing and the Server-Sent Events stream. */
final class EventRoutes {

    private final Coordinator coordinator;
    private final Access access;
    private final Requests requests;
    private final Limits.Meter meter;

    EventRoutes(Coordinator coordinator, Access access, Requests requests, Limits.Meter meter) {
        this.coordinator = coordinator;
        this.access = access;
        this.requests = requests;
        this.meter = meter;
    }

    void register(Javalin app) {
        app.get("/v1/events", this::events);
        // refused before the stream starts, so a refusal is an ordinary problem response
        app.before("/v1/watch", ctx -> access.require(ctx, watchTarget(ctx)[0], Acls.Permission.READ));
        app.sse("/v1/watch", this::watch);
    }

    /** Long-poll form of the event stream: {@code GET /v1/events?prefix=/a&after=10&waitMs=5000}. */
    private void events(Context ctx) throws InterruptedException {
        String[] target = watchTarget(ctx);
        access.require(ctx, target[0], Acls.Permission.READ);
        Tokens.Identity who = access.of(ctx);
        long after = Requests.longParam(ctx, "after", -1, -1, Long.MAX_VALUE);
        if (after < 0) {
            after = coordinator.events().currentRevision();
        }
        long waitMs = Requests.longParam(ctx, "waitMs", 0, 0, 60_000);
        int limit = (int) Requests.longParam(ctx, "limit", 500, 1, 5000);
        Watches.Batch batch = coordinator.watches().next(target[0], target[1] != null, after, Duration.ofMillis(waitMs), limit);
        switch (batch) {
            case Watches.Batch.Events e -> ctx.json(Map.of("events", e.events().stream().filter(ev -> access.mayRead(who, ev.path()))
                    .map(Views::eventJson).toList(),
                    "lastRev", e.scannedTo()));
            case Watches.Batch.Resync r -> ctx.json(Map.of("resync", true, "fromRev", r.fromRev(), "horizon", r.horizon(),
                    "lastRev", r.currentRev(), "events", List.of()));
        }
    }

    /** A watch stream that sent nothing for this long says something: a progress event or a ping. */
    private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(1_500);

    private void watch(SseClient client) {
        Tokens.Identity who = client.ctx().attribute(Access.IDENTITY);
        try {
            stream(client);
        } finally {
            if (who != null) {
                meter.watchClosed(who.name());
            }
        }
    }

    private void stream(SseClient client) {
        Context ctx = client.ctx();
        Tokens.Identity who = ctx.attribute(Access.IDENTITY);
        String[] target;
        long cursor;
        try {
            target = watchTarget(ctx);
            String lastEventId = ctx.header("Last-Event-ID");
            String from = lastEventId != null ? lastEventId : ctx.queryParam("fromRev");
            cursor = from == null ? coordinator.events().currentRevision() : Long.parseLong(from.trim());
        } catch (RuntimeException e) {
            client.sendEvent("error", requests.toJson(Map.of("detail", e.getMessage() == null ? "bad request" : e.getMessage())), null);
            client.close();
            return;
        }
        client.sendComment("watching " + target[0] + " after revision " + cursor);
        long lastSent = System.nanoTime();
        long lastId = cursor; // the newest id the client has been sent
        while (!client.terminated()) {
            try {
                Watches.Batch batch = coordinator.watches().next(target[0], target[1] != null, cursor, Duration.ofSeconds(2), 500);
                switch (batch) {
                    case Watches.Batch.Events e -> {
                        boolean sent = false;
                        for (Event ev : e.events()) {
                            if (!access.mayRead(who, ev.path())) {
                                continue; // under a narrower ACL than the watched path: the progress event moves the id on
                            }
                            client.sendEvent(Views.kindName(ev.kind()), eventText(ev), Long.toString(ev.rev()));
                            lastSent = System.nanoTime();
                            lastId = ev.rev();
                            sent = true;
                        }
                        // when quiet, say something every 2 s (not on every unrelated commit)
                        if (!sent && System.nanoTime() - lastSent >= QUIET_NANOS) {
                            lastSent = System.nanoTime();
                            if (e.scannedTo() > lastId) {
                                lastId = e.scannedTo();
                                // nothing matched, but everything up to here was examined: the id moves the
                                // client's Last-Event-ID on, so a reconnect does not start from far behind
                                client.sendEvent("progress", requests.toJson(Map.of("rev", e.scannedTo())), Long.toString(e.scannedTo()));
                            } else {
                                client.sendComment("ping"); // notices a client that went away
                            }
                        }
                        cursor = e.scannedTo();
                    }
                    case Watches.Batch.Resync r -> {
                        lastSent = System.nanoTime();
                        lastId = r.currentRev();
                        client.sendEvent("resync", requests.toJson(Map.of("fromRev", r.fromRev(), "horizon", r.horizon(), "currentRev", r.currentRev())),
                                Long.toString(r.currentRev()));
                        cursor = r.currentRev();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                client.sendEvent("error", requests.toJson(Map.of("detail", String.valueOf(e.getMessage()))), null);
                return;
            }
        }
    }

    private String[] watchTarget(Context ctx) {
        String prefix = ctx.queryParam("prefix");
        String path = ctx.queryParam("path");
        if (prefix != null && path != null) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "give prefix or path, not both");
        }
        return path != null ? new String[] {path, "exact"} : new String[] {prefix == null ? "/" : prefix, null};
    }

    /*
     * The JSON of recent events, by revision modulo its size: hundreds of streams watching one file
     * send each event's text, which is made once, not once per stream.
     */
    private static final int EVENT_TEXTS = 4096;
    private final java.util.concurrent.atomic.AtomicReferenceArray<Object[]> eventTexts = new java.util.concurrent.atomic.AtomicReferenceArray<>(EVENT_TEXTS);

    private String eventText(Event e) {
        int slot = (int) Math.floorMod(e.rev(), (long) EVENT_TEXTS);
        Object[] cached = eventTexts.get(slot);
        if (cached != null && (Long) cached[0] == e.rev()) {
            return (String) cached[1];
        }
        String text = requests.toJson(Views.eventJson(e));
        eventTexts.set(slot, new Object[] {e.rev(), text});
        return text;
    }
}
