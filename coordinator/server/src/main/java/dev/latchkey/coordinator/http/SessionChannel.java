package dev.latchkey.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.core.Grant;
import dev.latchkey.coordinator.core.Sessions;
import dev.latchkey.coordinator.store.Store;
import io.javalin.websocket.WsConfig;
import io.javalin.websocket.WsContext;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session channel: one WebSocket per client session ({@code /v1/sessions/{id}/channel})
 * carrying pipelined requests, each with an id of the client's choosing, answered in whatever
 * order they complete. A lock acquire that has to wait does not hold anything up: its answer is
 * pushed when the lock is granted (usually by the release that hands it on). The frames are in
 * docs/api.md; every operation goes through the same core as its HTTP route.
 *
 * <pre>
 * → {"id": 7, "op": "acquire", "path": "/jobs/nightly", "mode": "exclusive", "waitMs": 5000, "lockDelayMs": 0}
 * ← {"id": 7, "ok": {"sequencer": "…", "path": "/jobs/nightly", "mode": "exclusive", "generation": 12, "session": "…"}}
 * → {"id": 8, "op": "release", "path": "/jobs/nightly"}
 * ← {"id": 8, "ok": {}}
 * → {"id": 9, "op": "keepalive"}
 * ← {"id": 9, "ok": {"id": "…", "ttlMs": 12000, …}}
 * ← {"id": 10, "problem": {"type": "…/lock-busy", "title": "Lock busy", "status": 409, "detail": "…"}}
 * </pre>
 */
final class SessionChannel {

    private static final Logger LOG = LoggerFactory.getLogger(SessionChannel.class);
    /** Close codes (4000-4999 are the application's): the session is unknown or has expired; a frame was not understood. */
    static final int CLOSE_SESSION_NOT_FOUND = 4404;
    static final int CLOSE_BAD_FRAME = 4400;
    /** No valid bearer token; the session belongs to another identity. */
    static final int CLOSE_UNAUTHENTICATED = 4401;
    static final int CLOSE_FORBIDDEN = 4403;
    /** How long the slowest single request may take: the longest lock wait the API allows, and a margin. */
    static final Duration IDLE_TIMEOUT = Duration.ofMinutes(11);

    private final Coordinator coordinator;
    private final ObjectMapper json;
    private final ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    /** Open channels, by their WebSocket session, for sends (one at a time per channel) and counting. */
    private final Map<WsContext, Object> open = new ConcurrentHashMap<>();

    private final Access access;

    private final Limits.Meter meter;

    SessionChannel(Coordinator coordinator, ObjectMapper json, Access access, Limits.Meter meter) {
        this.coordinator = coordinator;
        this.json = json;
        this.access = access;
        this.meter = meter;
    }

    /** How many channels are open (a gauge). */
    int openChannels() {
        return open.size();
    }

    void configure(WsConfig ws) {
        ws.onConnect(ctx -> {
            ctx.session.setIdleTimeout(IDLE_TIMEOUT);
            String session = ctx.pathParam("id");
            try {
                var who = access.identify(ctx.header("Authorization"), ctx.attribute(Access.CERTIFICATES));
                access.requireSession(who, session);
                ctx.attribute(Access.IDENTITY, who.name());
                ctx.attribute(WHO, who);
            } catch (CoordinatorException e) {
                ctx.closeSession(e.problem() == Problem.UNAUTHENTICATED ? CLOSE_UNAUTHENTICATED : CLOSE_FORBIDDEN, truncate(e.getMessage()));
                return;
            }
            try {
                coordinator.sessions().keepAlive(session).join(); // the session must be live; connecting renews it
            } catch (CompletionException e) {
                String detail = e.getCause() instanceof CoordinatorException ce ? ce.getMessage() : "the store is unavailable";
                ctx.closeSession(CLOSE_SESSION_NOT_FOUND, truncate(detail));
                return;
            }
            open.put(ctx, new Object());
        });
        ws.onMessage(ctx -> {
            JsonNode frame;
            try {
                frame = json.readTree(ctx.message());
            } catch (java.io.IOException e) {
                frame = null;
            }
            if (frame != null && Requests.holdsNulEscape(ctx.message().getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                frame = null; // no path or name holds a NUL character
            }
            if (frame == null || !frame.isObject() || !frame.path("id").canConvertToLong() || !frame.path("op").isTextual()) {
                ctx.closeSession(CLOSE_BAD_FRAME, "a frame is a JSON object with a numeric \"id\" and a string \"op\"");
                return;
            }
            JsonNode request = frame;
            String identity = ctx.attribute(Access.IDENTITY);
            try {
                meter.request(identity == null ? Access.ANONYMOUS.name() : identity); // frames count as requests, as HTTP calls do
            } catch (Limits.Exceeded e) {
                ObjectNode refused = json.createObjectNode().put("id", request.get("id").asLong());
                refused.set("problem", problem(Problem.TOO_MANY, e.getMessage()));
                send(ctx, refused);
                return;
            }
            requests.execute(() -> answer(ctx, request));
        });
        ws.onClose(ctx -> open.remove(ctx));
        ws.onError(ctx -> open.remove(ctx));
    }

    private void answer(WsContext ctx, JsonNode request) {
        long id = request.get("id").asLong();
        ObjectNode reply = json.createObjectNode().put("id", id);
        try {
            reply.set("ok", json.valueToTree(handle(ctx.pathParam("id"), ctx.attribute(WHO), request)));
        } catch (CoordinatorException e) {
            ObjectNode p = problem(e.problem(), e.getMessage());
            if (e instanceof dev.latchkey.coordinator.core.Acls.Denied denied) {
                p.put("permission", denied.permission().label()).put("acl", denied.acl());
            }
            reply.set("problem", p);
        } catch (Store.StoreUnavailableException e) {
            reply.set("problem", problem(Problem.STORE_UNAVAILABLE, e.getMessage()));
        } catch (RuntimeException e) {
            LOG.error("unexpected failure on the session channel ({})", request.path("op").asText(), e);
            ObjectNode p = json.createObjectNode().put("type", ProblemTypes.PREFIX + "internal").put("title", "Internal error")
                    .put("status", 500).put("detail", String.valueOf(e.getMessage()));
            reply.set("problem", p);
        }
        send(ctx, reply);
    }

    private void send(WsContext ctx, ObjectNode reply) {
        Object lock = open.get(ctx);
        if (lock == null) {
            return; // the channel closed meanwhile: the client retries over a new channel or HTTP
        }
        synchronized (lock) {
            try {
                ctx.send(reply.toString());
            } catch (Exception e) { // Jetty throws a checked IOException ("Closed") through Javalin's send: the channel went away
                LOG.debug("could not answer on a closed channel: {}", e.getMessage());
            }
        }
    }

    /** Where the channel keeps the identity it was opened by (the name is under {@link Access#IDENTITY}). */
    private static final String WHO = "latchkey.channel.identity";

    private Object handle(String session, dev.latchkey.coordinator.core.Tokens.Identity who, JsonNode r) {
        return switch (r.get("op").asText()) {
            case "acquire" -> {
                String path = text(r, "path");
                if (who != null && access.authRequired()) {
                    coordinator.acls().require(who, path, dev.latchkey.coordinator.core.Acls.Permission.LOCK);
                }
                String modeName = r.path("mode").asText("exclusive");
                Grant.Mode mode;
                try {
                    mode = Grant.Mode.valueOf(modeName.toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw new CoordinatorException(Problem.BAD_REQUEST, "mode must be 'exclusive' or 'shared', not '" + modeName + "'");
                }
                Grant grant = coordinator.locks().acquire(path, session, mode, Duration.ofMillis(number(r, "waitMs")), number(r, "lockDelayMs"));
                yield Views.sequencerJson(grant);
            }
            case "release" -> {
                coordinator.locks().release(text(r, "path"), session);
                yield Map.of();
            }
            case "keepalive" -> {
                Sessions.Info info;
                try {
                    info = coordinator.sessions().keepAlive(session).join();
                } catch (CompletionException e) {
                    throw e.getCause() instanceof RuntimeException re ? re : e;
                }
                yield Views.sessionJson(info);
            }
            default -> throw new CoordinatorException(Problem.BAD_REQUEST,
                    "unknown op '" + r.get("op").asText() + "' (acquire, release, keepalive)");
        };
    }

    private ObjectNode problem(Problem problem, String detail) {
        ProblemTypes.Type type = ProblemTypes.of(problem);
        return json.createObjectNode().put("type", type.uri()).put("title", type.title()).put("status", type.status()).put("detail", detail);
    }

    private static String text(JsonNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || !v.isTextual()) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "\"" + field + "\" must be a string");
        }
        return v.asText();
    }

    private static long number(JsonNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) {
            return 0;
        }
        if (!v.canConvertToLong() || !v.isIntegralNumber()) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "\"" + field + "\" must be a whole number");
        }
        return v.asLong();
    }

    /** A close reason fits in 123 bytes. */
    private static String truncate(String reason) {
        return reason.length() <= 100 ? reason : reason.substring(0, 100);
    }

    void close() {
        requests.shutdownNow();
    }
}
