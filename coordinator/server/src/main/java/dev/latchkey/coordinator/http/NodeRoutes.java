package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Acls;
import dev.latchkey.coordinator.core.Acls.Permission;
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
            String path = Requests.nodePath(ctx);
            access.require(ctx, path, Permission.WRITE);
            coordinator.namespace().delete(path, Requests.ifMatch(ctx));
            ctx.status(204);
        });
        app.get("/v1/acls", ctx -> getAcl(ctx, "/"));
        app.get("/v1/acls/<path>", ctx -> getAcl(ctx, Requests.nodePath(ctx)));
        app.put("/v1/acls", ctx -> putAcl(ctx, "/"));
        app.put("/v1/acls/<path>", ctx -> putAcl(ctx, Requests.nodePath(ctx)));
    }

    /** The ACL names a node sets; a missing or null one is inherited from the parent. */
    record AclRequest(String read, String write, String lock, String admin) {
    }

    private void getAcl(Context ctx, String path) {
        access.require(ctx, path, Permission.READ);
        ctx.json(Views.aclJson(coordinator.acls().effective(path)));
    }

    private void putAcl(Context ctx, String path) {
        AclRequest req = requests.body(ctx, AclRequest.class);
        access.require(ctx, path, Permission.ADMIN);
        Map<Permission, String> names = new java.util.EnumMap<>(Permission.class);
        putIfSet(names, Permission.READ, req.read());
        putIfSet(names, Permission.WRITE, req.write());
        putIfSet(names, Permission.LOCK, req.lock());
        putIfSet(names, Permission.ADMIN, req.admin());
        ctx.json(Views.aclJson(coordinator.acls().set(path, new Acls.Names(names))));
    }

    private static void putIfSet(Map<Permission, String> names, Permission p, String name) {
        if (name != null) {
            names.put(p, name);
        }
    }

    private void getNode(Context ctx, String path) {
        access.require(ctx, path, Permission.READ);
        if (ctx.queryParamMap().containsKey("children")) {
            var page = coordinator.namespace().children(path, ctx.queryParam("after"), Requests.pageLimit(ctx));
            Requests.linkNext(ctx, page);
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            out.put("path", path);
            out.put("children", page.items());
            out.put("next", page.next()); // the child path to pass as ?after= for the next page; null on the last
            ctx.json(out);
            return;
        }
        Namespace.Node node = coordinator.namespace().read(path);
        ctx.header("ETag", "\"" + node.stat().contentGeneration() + "\"");
        if (ctx.queryParamMap().containsKey("stat")) {
            Map<String, Object> out = requests.json.convertValue(node.stat(), new com.fasterxml.jackson.core.type.TypeReference<>() { });
            out.put("acl", Views.aclJson(coordinator.acls().effective(path)).get("acl"));
            ctx.json(out);
            return;
        }
        if (node.stat().directory()) {
            ctx.json(node.stat());
            return;
        }
        ctx.header("X-Latchkey-Stat", requests.toJson(node.stat()));
        ctx.contentType("application/octet-stream").result(node.content());
    }

    private void putNode(Context ctx, String path) {
        access.require(ctx, path, Permission.WRITE);
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
