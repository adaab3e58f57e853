package dev.latchkey.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.core.Grant;
import dev.latchkey.coordinator.store.Event;
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

    /** Watches one channel may have running (each also counts against its identity's watch cap). */
    static final int MAX_WATCHES_PER_CHANNEL = 64;

    private final Coordinator coordinator;
    private final ObjectMapper json;
    private final Requests requestsIo;
    private final ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    /** Open channels, by their WebSocket session, for sends (one at a time per channel), their watches and counting. */
    private final Map<WsContext, Open> open = new ConcurrentHashMap<>();

    /** One open channel: its lock for sends, and its running watches by the id of the request that started each. */
    private static final class Open {
        final Map<Long, java.util.concurrent.atomic.AtomicBoolean> watches = new ConcurrentHashMap<>();

        void closed() {
            watches.values().forEach(stop -> stop.set(true));
        }
    }

    private final Access access;

    private final Limits.Meter meter;

    SessionChannel(Coordinator coordinator, Requests requests, Access access, Limits.Meter meter) {
        this.coordinator = coordinator;
        this.requestsIo = requests;
        this.json = requests.json;
        this.access = access;
        this.meter = meter;
    }

    /** How many channels are open (a gauge). */
    int openChannels() {
        return open.size();
    }

    /** The buffer a text message is first collected in (see onConnect). */
    static final int FRAME_BUFFER_BYTES = 512;

    void configure(WsConfig ws) {
        ws.onConnect(ctx -> {
            ctx.session.setIdleTimeout(IDLE_TIMEOUT);
            // Jetty collects each text message in a buffer of this size, allocated afresh per message (4 KB by default);
            // frames are a few hundred bytes, and a longer one still arrives whole (the buffer grows)
            ctx.session.setInputBufferSize(FRAME_BUFFER_BYTES);
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
            open.put(ctx, new Open());
        });
        ws.onMessage(ctx -> {
            JsonNode frame;
            try {
                frame = json.readTree(ctx.message());
            } catch (java.io.IOException e) {
                frame = null;
            }
            if (frame != null && Requests.holdsNulEscape(ctx.message())) {
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
                send(ctx, refused.toString());
                return;
            }
            if (request.get("op").asText().equals("watch")) {
                requests.execute(() -> watchOrRefuse(ctx, request)); // (it follows the watch on that thread until it ends)
            } else {
                answer(ctx, request);
            }
        });
        ws.onClose(SessionChannel.this::closed);
        ws.onError(SessionChannel.this::closed);
    }

    private void closed(WsContext ctx) {
        Open channel = open.remove(ctx);
        if (channel != null) {
            channel.closed(); // its watches end within one wait
        }
    }

    /**
     * Starts a request on the connection's thread and answers it when it completes, holding no
     * thread meanwhile: the command goes straight to the writer's queue, and its completion (the
     * writer's commit, or for a waiting acquire the event that hands it the lock) has a virtual
     * thread send the answer without waiting for the write. Frames that follow on the channel are
     * read meanwhile. (Checking an ACL may read the store, about once a second, on this thread.)
     */
    private void answer(WsContext ctx, JsonNode request) {
        long id = request.get("id").asLong();
        java.util.concurrent.CompletableFuture<?> result;
        try {
            result = handle(ctx, ctx.pathParam("id"), ctx.attribute(WHO), request);
        } catch (RuntimeException e) {
            result = java.util.concurrent.CompletableFuture.failedFuture(e);
        }
        result.whenCompleteAsync((value, failure) -> {
            Throwable cause = failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure;
            if (cause == null) {
                try { // (written straight out: a tree first, then its text, cost twice the work on every answer)
                    sendAsync(ctx, "{\"id\":" + id + ",\"ok\":" + json.writeValueAsString(value) + "}");
                    return;
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    cause = new IllegalStateException("cannot write the answer", e);
                }
            }
            ObjectNode reply = json.createObjectNode().put("id", id);
            if (cause instanceof RuntimeException e) {
                reply.set("problem", problemOf(e, request));
            } else {
                reply.set("problem", problemOf(new IllegalStateException(cause), request));
            }
            sendAsync(ctx, reply.toString());
        }, requests); // (each on a virtual thread of its own: a batch's answers go out in parallel)
    }

    private void watchOrRefuse(WsContext ctx, JsonNode request) {
        long id = request.get("id").asLong();
        try {
            watch(ctx, id, request); // answers, then follows the watch on this thread until it ends
        } catch (RuntimeException e) {
            ObjectNode reply = json.createObjectNode().put("id", id);
            reply.set("problem", problemOf(e, request));
            send(ctx, reply.toString());
        }
    }

    /** A refusal or failure as the problem object an HTTP route would answer with. */
    private ObjectNode problemOf(RuntimeException failure, JsonNode request) {
        return switch (failure) {
            case dev.latchkey.coordinator.core.Acls.Denied denied ->
                    problem(denied.problem(), denied.getMessage()).put("permission", denied.permission().label()).put("acl", denied.acl());
            case CoordinatorException e -> problem(e.problem(), e.getMessage());
            case Store.StoreUnavailableException e -> problem(Problem.STORE_UNAVAILABLE, e.getMessage());
            case Store.ValueRefusedException e -> problem(Problem.BAD_REQUEST, e.getMessage());
            default -> {
                LOG.error("unexpected failure on the session channel ({})", request.path("op").asText(), failure);
                yield json.createObjectNode().put("type", ProblemTypes.PREFIX + "internal").put("title", "Internal error")
                        .put("status", 500).put("detail", String.valueOf(failure.getMessage()));
            }
        };
    }

    /**
     * A watch on the channel: {@code {"id": 12, "op": "watch", "prefix": "/a"}} (or {@code "path"};
     * {@code "fromRev"}, default now) is answered {@code {"id": 12, "ok": {"watch": 12, "fromRev": N}}},
     * then every event the session's identity may read follows as {@code {"watch": 12, "event": {…}}}
     * in revision order, with {@code "progress"} marks when quiet and {@code "resync"} when the cursor
     * fell behind retention, until {@code unwatch} or the channel closes. A failure ends it with
     * {@code {"watch": 12, "problem": {…}}}.
     */
    private void watch(WsContext ctx, long id, JsonNode r) {
        Open channel = open.get(ctx);
        if (channel == null) {
            return;
        }
        dev.latchkey.coordinator.core.Tokens.Identity who = ctx.attribute(WHO);
        WatchLoop.Target target = WatchLoop.Target.of(optionalText(r, "prefix"), optionalText(r, "path"));
        dev.latchkey.coordinator.core.Paths.require(target.path());
        if (who != null && access.authRequired()) {
            coordinator.acls().require(who, target.path(), dev.latchkey.coordinator.core.Acls.Permission.READ);
        }
        long cursor = r.hasNonNull("fromRev") ? number(r, "fromRev") : coordinator.events().currentRevision();
        if (cursor < 0) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "\"fromRev\" must not be negative");
        }
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        if (channel.watches.size() >= MAX_WATCHES_PER_CHANNEL) {
            throw new CoordinatorException(Problem.TOO_MANY, "a channel runs at most " + MAX_WATCHES_PER_CHANNEL + " watches");
        }
        if (channel.watches.putIfAbsent(id, stop) != null) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "a watch with id " + id + " is already running on this channel");
        }
        String identity = who == null ? Access.ANONYMOUS.name() : who.name();
        try {
            meter.watchOpened(identity);
        } catch (Limits.Exceeded e) {
            channel.watches.remove(id);
            throw new CoordinatorException(Problem.TOO_MANY, e.getMessage());
        }
        try {
            ObjectNode ok = json.createObjectNode().put("id", id);
            ok.putObject("ok").put("watch", id).put("fromRev", cursor);
            send(ctx, ok.toString());
            String prefix = "{\"watch\":" + id + ",";
            WatchLoop.run(coordinator, access, who, target, cursor, new WatchLoop.Sink() {
                @Override
                public boolean ended() {
                    return stop.get();
                }

                @Override
                public void event(Event event) {
                    sendUnless(stop, ctx, prefix + "\"event\":" + requestsIo.eventText(event) + "}");
                }

                @Override
                public void progress(long rev) {
                    sendUnless(stop, ctx, prefix + "\"progress\":" + rev + "}");
                }

                @Override
                public void ping() {
                    sendUnless(stop, ctx, prefix + "\"ping\":true}");
                }

                @Override
                public void resync(long fromRev, long horizon, long currentRev) {
                    sendUnless(stop, ctx, prefix + "\"resync\":{\"fromRev\":" + fromRev + ",\"horizon\":" + horizon + ",\"currentRev\":" + currentRev + "}}");
                }
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            ObjectNode ended = json.createObjectNode().put("watch", id);
            ended.set("problem", problemOf(e, r));
            send(ctx, ended.toString());
        } finally {
            channel.watches.remove(id);
            meter.watchClosed(identity);
        }
    }

    private void send(WsContext ctx, String frame) {
        sendUnless(null, ctx, frame);
    }

    /** Sends a frame unless {@code stopped} (checked under the send lock, which unwatch also takes). */
    private void sendUnless(java.util.concurrent.atomic.AtomicBoolean stopped, WsContext ctx, String frame) {
        Open channel = open.get(ctx);
        if (channel == null) {
            return; // the channel closed meanwhile: the client retries over a new channel or HTTP
        }
        synchronized (channel) {
            if (stopped != null && stopped.get()) {
                return;
            }
            try {
                ctx.send(frame);
            } catch (Exception e) { // Jetty throws a checked IOException ("Closed") through Javalin's send: the channel went away
                LOG.debug("could not answer on a closed channel: {}", e.getMessage());
            }
        }
    }

    /** Sends a frame without waiting for it to be written (the channel's frames still go in the order they are sent). */
    private void sendAsync(WsContext ctx, String frame) {
        Open channel = open.get(ctx);
        if (channel == null) {
            return; // the channel closed meanwhile: the client retries over a new channel or HTTP
        }
        synchronized (channel) {
            ctx.session.getRemote().sendString(frame, new org.eclipse.jetty.websocket.api.WriteCallback() {
                @Override
                public void writeFailed(Throwable x) {
                    LOG.debug("could not answer on a closed channel: {}", x.getMessage());
                }
            });
        }
    }

    /** Where the channel keeps the identity it was opened by (the name is under {@link Access#IDENTITY}). */
    private static final String WHO = "latchkey.channel.identity";

    private java.util.concurrent.CompletableFuture<?> handle(WsContext ctx, String session, dev.latchkey.coordinator.core.Tokens.Identity who,
            JsonNode r) {
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
                yield coordinator.locks().acquireAsync(path, session, mode, Duration.ofMillis(number(r, "waitMs")), number(r, "lockDelayMs"), null)
                        .thenApply(Views::sequencerJson);
            }
            case "release" -> coordinator.locks().releaseAsync(text(r, "path"), session).thenApply(done -> Map.of());
            case "keepalive" -> coordinator.sessions().keepAlive(session).thenApply(Views::sessionJson);
            case "unwatch" -> {
                Open channel = open.get(ctx);
                var stop = channel == null ? null : channel.watches.get(number(r, "watch"));
                if (stop != null) {
                    synchronized (channel) {
                        stop.set(true); // nothing more is sent for it after this answer; its loop ends within one wait
                    }
                }
                yield java.util.concurrent.CompletableFuture.completedFuture(Map.of("stopped", stop != null));
            }
            default -> throw new CoordinatorException(Problem.BAD_REQUEST,
                    "unknown op '" + r.get("op").asText() + "' (acquire, release, keepalive, watch, unwatch)");
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

    private static String optionalText(JsonNode r, String field) {
        return r.hasNonNull(field) ? text(r, field) : null;
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
