package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Acls;
import dev.latchkey.coordinator.core.Grant;
import java.util.Locale;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.Map;

/** Locks and sequencers. */
final class LockRoutes {

    private final Coordinator coordinator;
    private final Access access;
    private final Requests requests;

    LockRoutes(Coordinator coordinator, Access access, Requests requests) {
        this.coordinator = coordinator;
        this.access = access;
        this.requests = requests;
    }

    void register(Javalin app) {
        app.post("/v1/locks/<path>", ctx -> acquire(ctx, Requests.nodePath(ctx)));
        app.delete("/v1/locks/<path>", ctx -> {
            String session = Requests.required(ctx.queryParam("session"), "session");
            access.requireSession(access.of(ctx), session);
            coordinator.locks().release(Requests.nodePath(ctx), session);
            ctx.status(204);
        });
        app.get("/v1/locks/<path>", ctx -> {
            String path = Requests.nodePath(ctx);
            access.require(ctx, path, Acls.Permission.READ);
            ctx.json(Map.of("holders", coordinator.locks().holders(path).stream().map(Views::sequencerJson).toList()));
        });
        app.post("/v1/sequencers/check", ctx -> {
            CheckRequest req = requests.body(ctx, CheckRequest.class);
            Grant s = Views.parseSequencer(Requests.required(req.sequencer(), "sequencer"));
            ctx.json(Map.of("valid", coordinator.locks().check(s)));
        });
    }

    record LockRequest(String session, String mode, Long waitMs, Long lockDelayMs) {
    }

    record CheckRequest(String sequencer) {
    }

    private void acquire(Context ctx, String path) {
        LockRequest req = requests.body(ctx, LockRequest.class);
        access.requireSession(access.of(ctx), req.session());
        access.require(ctx, path, Acls.Permission.LOCK);
        Grant.Mode mode;
        try {
            mode = req.mode() == null ? Grant.Mode.EXCLUSIVE : Grant.Mode.valueOf(req.mode().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "mode must be 'exclusive' or 'shared', not '" + req.mode() + "'");
        }
        Grant s = coordinator.locks().acquire(path, Requests.required(req.session(), "session"), mode,
                Duration.ofMillis(Requests.orDefault(req.waitMs(), 0)), Requests.orDefault(req.lockDelayMs(), 0));
        ctx.json(Views.sequencerJson(s));
    }
}
