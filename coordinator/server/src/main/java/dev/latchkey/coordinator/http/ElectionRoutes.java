package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Acls;
import dev.latchkey.coordinator.core.Elections;
import dev.latchkey.coordinator.core.Grant;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import io.javalin.Javalin;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** Leader election. */
final class ElectionRoutes {

    private final Coordinator coordinator;
    private final Access access;
    private final Requests requests;

    ElectionRoutes(Coordinator coordinator, Access access, Requests requests) {
        this.coordinator = coordinator;
        this.access = access;
        this.requests = requests;
    }

    void register(Javalin app) {
        app.post("/v1/elections/{name}", ctx -> {
            CampaignRequest req = requests.body(ctx, CampaignRequest.class);
            access.requireSession(access.of(ctx), req.session());
            access.require(ctx, Elections.path(ctx.pathParam("name")), Acls.Permission.LOCK);
            Grant s = coordinator.elections().campaign(ctx.pathParam("name"), Requests.required(req.session(), "session"), req.value(),
                    Duration.ofMillis(Requests.orDefault(req.waitMs(), 0)), Requests.orDefault(req.lockDelayMs(), 0));
            ctx.json(Views.sequencerJson(s));
        });
        app.get("/v1/elections/{name}", ctx -> {
            access.require(ctx, Elections.path(ctx.pathParam("name")), Acls.Permission.READ);
            Elections.Leader leader = coordinator.elections().leader(ctx.pathParam("name")).orElseThrow(() ->
                    new CoordinatorException(Problem.NODE_NOT_FOUND, "election '" + ctx.pathParam("name") + "' has no leader"));
            Map<String, Object> out = new LinkedHashMap<>(Views.sequencerJson(leader.sequencer()));
            out.put("name", leader.name());
            out.put("value", leader.value());
            ctx.json(out);
        });
        app.delete("/v1/elections/{name}", ctx -> {
            String session = Requests.required(ctx.queryParam("session"), "session");
            access.requireSession(access.of(ctx), session);
            coordinator.elections().resign(ctx.pathParam("name"), session);
            ctx.status(204);
        });
    }

    record CampaignRequest(String session, String value, Long waitMs, Long lockDelayMs) {
    }
}
