package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Namespace;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.util.Map;

/** Files and directories. */
final class NodeRoutes {

    private final Coordinator coordinator;
    private final Access access;
    private final Requests requests;

    NodeRoutes(Coordinator coordinator, Access access, Requests requests) {
        this.coordinator = coordinator;
        this.access = access;
        this.requests = requests;
    }

    void register(Javalin app) {
        app.get("/v1/nodes", ctx -> getNode(ctx, "/"));
        app.get("/v1/nodes/<path>", ctx -> getNode(ctx, Requests.nodePath(ctx)));
        app.put("/v1/nodes/<path>", ctx -> putNode(ctx, Requests.nodePath(ctx)));
        app.delete("/v1/nodes/<path>", ctx -> {
            coordinator.namespace().delete(Requests.nodePath(ctx), Requests.ifMatch(ctx));
            ctx.status(204);
        });
    }

    private void getNode(Context ctx, String path) {
        if (ctx.queryParamMap().containsKey("children")) {
            ctx.json(Map.of("path", path, "children", coordinator.namespace().children(path)));
            return;
        }
        Namespace.Node node = coordinator.namespace().read(path);
        ctx.header("ETag", "\"" + node.stat().contentGeneration() + "\"");
        if (ctx.queryParamMap().containsKey("stat") || node.stat().directory()) {
            ctx.json(node.stat());
            return;
        }
        ctx.header("X-Latchkey-Stat", requests.toJson(node.stat()));
        ctx.contentType("application/octet-stream").result(node.content());
    }

    private void putNode(Context ctx, String path) {
        if ("directory".equals(ctx.queryParam("type"))) {
            ctx.status(201).json(coordinator.namespace().mkdir(path));
            return;
        }
        if (ctx.queryParam("type") != null && !"file".equals(ctx.queryParam("type"))) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "type must be 'file' or 'directory'");
        }
        Namespace.Expect expect;
        String noneMatch = ctx.header("If-None-Match");
        Long match = Requests.ifMatch(ctx);
        if (noneMatch != null) {
            if (!noneMatch.trim().equals("*")) {
                throw new CoordinatorException(Problem.BAD_REQUEST, "If-None-Match supports only '*' (create only)");
            }
            expect = new Namespace.Expect.Absent();
        } else if (match != null) {
            expect = new Namespace.Expect.Generation(match);
        } else {
            expect = new Namespace.Expect.Anything();
        }
        String session = null;
        if (Requests.booleanParam(ctx, "ephemeral")) {
            session = Requests.required(ctx.queryParam("session"), "session (ephemeral nodes belong to a session)");
            access.requireSession(access.of(ctx), session);
        }
        byte[] body = Requests.bodyBytes(ctx);
        Namespace.Stat stat = coordinator.namespace().write(path, body, expect, session);
        ctx.header("ETag", "\"" + stat.contentGeneration() + "\"");
        ctx.status(stat.contentGeneration() == 1 && stat.createdRevision() == stat.modifiedRevision() ? 201 : 200).json(stat);
    }
}
