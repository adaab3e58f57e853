package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Sessions;
import java.util.concurrent.CompletionException;
import dev.latchkey.coordinator.store.Event;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Sessions: open, list, keep alive, the session channel, close. */
final class SessionRoutes {

    private final Coordinator coordinator;
    private final Access access;
    private final Requests requests;
    private final Limits.Meter meter;
    private final SessionChannel channel;

    SessionRoutes(Coordinator coordinator, Access access, Requests requests, Limits.Meter meter, SessionChannel channel) {
        this.coordinator = coordinator;
        this.access = access;
        this.requests = requests;
        this.meter = meter;
        this.channel = channel;
    }

    void register(Javalin app) {
        app.post("/v1/sessions", this::openSession);
        app.get("/v1/sessions", ctx -> {
            var page = coordinator.sessions().list(ctx.queryParam("after"), Requests.pageLimit(ctx));
            Requests.linkNext(ctx, page);
            ctx.json(page.items()); // an array, as before pages; the next page is in the Link header
        });
        app.post("/v1/sessions/{id}/keepalive", ctx -> {
            access.requireSession(access.of(ctx), ctx.pathParam("id"));
            keepAlive(ctx);
        });
        app.ws("/v1/sessions/{id}/channel", channel::configure);
        app.delete("/v1/sessions/{id}", ctx -> {
            access.requireSessionOrAdmin(access.of(ctx), ctx.pathParam("id"));
            coordinator.sessions().closeSession(ctx.pathParam("id"));
            ctx.status(204);
        });
    }

    record SessionRequest(Long ttlMs, String owner) {
    }

    private void openSession(Context ctx) {
        SessionRequest req = requests.body(ctx, SessionRequest.class);
        Sessions.Info info = coordinator.sessions().open(req.owner(), Requests.orDefault(req.ttlMs(), 12_000), access.of(ctx).name(),
                meter.limits().sessions());
        ctx.status(201).json(Views.sessionJson(info));
    }

    private void keepAlive(Context ctx) throws Exception {
        String id = ctx.pathParam("id");
        long waitMs = Requests.longParam(ctx, "waitMs", 0, 0, 60_000);
        Sessions.Info info;
        try {
            info = coordinator.sessions().keepAlive(id).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
        List<Event> events = List.of();
        if (waitMs > 0) {
            // hold the call until something happens on a lock this session holds, or a third of the lease passes
            long hold = Math.min(waitMs, info.ttlMs() / 3);
            events = coordinator.locks().awaitConflictingRequest(id, () -> coordinator.locks().heldBy(id), Duration.ofMillis(hold));
        }
        Map<String, Object> out = Views.sessionJson(info);
        out.put("events", events.stream().map(Views::eventJson).toList());
        ctx.json(out);
    }
}
