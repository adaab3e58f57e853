package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import io.javalin.Javalin;
import java.util.Map;

/** Bearer tokens (admin identities only): make, list, revoke. */
final class TokenRoutes {

    private final Coordinator coordinator;
    private final Access access;
    private final Requests requests;

    TokenRoutes(Coordinator coordinator, Access access, Requests requests) {
        this.coordinator = coordinator;
        this.access = access;
        this.requests = requests;
    }

    void register(Javalin app) {
        app.post("/v1/tokens", ctx -> {
            access.requireAdmin(access.of(ctx));
            TokenRequest req = requests.body(ctx, TokenRequest.class);
            String token = coordinator.tokens().create(Requests.required(req.name(), "name"), Boolean.TRUE.equals(req.admin()));
            ctx.status(201).json(Map.of("name", req.name(), "admin", Boolean.TRUE.equals(req.admin()), "token", token));
        });
        app.get("/v1/tokens", ctx -> {
            access.requireAdmin(access.of(ctx));
            var page = coordinator.tokens().list(ctx.queryParam("after"), Requests.pageLimit(ctx));
            Requests.linkNext(ctx, page);
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            out.put("tokens", page.items().stream().map(i -> Map.of("name", i.name(), "admin", i.admin())).toList());
            out.put("next", page.next());
            ctx.json(out);
        });
        app.delete("/v1/tokens/{name}", ctx -> {
            access.requireAdmin(access.of(ctx));
            if (!coordinator.tokens().revoke(ctx.pathParam("name"))) {
                throw new CoordinatorException(Problem.NODE_NOT_FOUND, "no token named '" + ctx.pathParam("name") + "'");
            }
            ctx.status(204);
        });
    }

    record TokenRequest(String name, Boolean admin) {
    }
}
