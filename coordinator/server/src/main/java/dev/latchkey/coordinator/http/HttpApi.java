package dev.latchkey.coordinator.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.latchkey.client.Sequencer;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.core.Elections;
import dev.latchkey.coordinator.core.Grant;
import dev.latchkey.coordinator.core.Event;
import dev.latchkey.coordinator.core.Namespace;
import dev.latchkey.coordinator.core.Sessions;
import dev.latchkey.coordinator.core.Watches;
import dev.latchkey.coordinator.store.Store;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.sse.SseClient;
import io.javalin.json.JavalinJackson;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP/JSON API, version 1 (see docs/api.md and docs/openapi.yaml). Every refusal is an
 * {@code application/problem+json} body with a stable {@code type}, and changes nothing.
 */
public final class HttpApi implements AutoCloseable {

    private static final String PROBLEM_JSON = "application/problem+json";

    private final Coordinator coordinator;
    private final ObjectMapper json = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicLong sessionsGauge = new AtomicLong();
    private final AtomicLong locksGauge = new AtomicLong();
    private final AtomicLong waitersGauge = new AtomicLong();
    private final Javalin app;
    private final SessionChannel channel;

    public HttpApi(Coordinator coordinator) {
        this.coordinator = coordinator;
        Gauge.builder("latchkey.sessions", sessionsGauge, AtomicLong::get).description("live sessions").register(metrics);
        Gauge.builder("latchkey.locks.held", locksGauge, AtomicLong::get).description("lock holders").register(metrics);
        Gauge.builder("latchkey.lock.waiters", waitersGauge, AtomicLong::get).description("queued lock requests").register(metrics);
        Gauge.builder("latchkey.event.lag", coordinator, c -> Math.max(0, c.events().currentRevision() - c.events().lastSeen()))
                .description("revisions committed but not yet delivered by this coordinator").register(metrics);
        Gauge.builder("latchkey.keepalive.store.writes", coordinator.sessions(), Sessions::keepAliveWrites)
                .description("store writes spent on keep-alives (one per batch)").register(metrics);
        Gauge.builder("latchkey.keepalive.held", coordinator.locks(), dev.latchkey.coordinator.core.Locks::heldKeepAlives)
                .description("keep-alives held open until a conflicting request or a third of the TTL").register(metrics);
        Gauge.builder("latchkey.watch.store.reads", coordinator.watches(), dev.latchkey.coordinator.core.Watches::storeReads)
                .description("watcher reads that went to the store (the rest are served from the latest events in memory)").register(metrics);
        this.channel = new SessionChannel(coordinator, json);
        Gauge.builder("latchkey.channels.open", channel, SessionChannel::openChannels).description("open session channels").register(metrics);
        this.app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.useVirtualThreads = true;
            config.startupWatcherEnabled = false;
            config.router.ignoreTrailingSlashes = true;
            config.http.maxRequestSize = Namespace.MAX_CONTENT + 64 * 1024L;
            config.jsonMapper(new JavalinJackson(json, false));
        });
        routes();
        errors();
    }

    /** Starts listening; returns the port (useful with port 0). */
    public int start(String host, int port) {
        app.start(host, port);
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
        channel.close();
    }

    private void routes() {
        app.before(ctx -> ctx.attribute("latchkey.start", System.nanoTime()));
        app.after(ctx -> {
            Long start = ctx.attribute("latchkey.start");
            if (start != null) {
                Timer.builder("latchkey.http.requests").tag("method", ctx.method().name()).tag("route", ctx.endpointHandlerPath())
                        .tag("status", Integer.toString(ctx.statusCode())).publishPercentileHistogram()
                        .register(metrics).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            }
        });

        app.get("/v1/health", this::health);
        app.get("/metrics", this::metrics);

        app.post("/v1/sessions", this::openSession);
        app.get("/v1/sessions", ctx -> ctx.json(coordinator.sessions().list()));
        app.post("/v1/sessions/{id}/keepalive", this::keepAlive);
        app.ws("/v1/sessions/{id}/channel", channel::configure);
        app.delete("/v1/sessions/{id}", ctx -> {
            coordinator.sessions().closeSession(ctx.pathParam("id"));
            ctx.status(204);
        });

        app.get("/v1/nodes", ctx -> getNode(ctx, "/"));
        app.get("/v1/nodes/<path>", ctx -> getNode(ctx, nodePath(ctx)));
        app.put("/v1/nodes/<path>", ctx -> putNode(ctx, nodePath(ctx)));
        app.delete("/v1/nodes/<path>", ctx -> {
            coordinator.namespace().delete(nodePath(ctx), ifMatch(ctx));
            ctx.status(204);
        });

        app.post("/v1/locks/<path>", ctx -> acquire(ctx, nodePath(ctx)));
        app.delete("/v1/locks/<path>", ctx -> {
            coordinator.locks().release(nodePath(ctx), required(ctx.queryParam("session"), "session"));
            ctx.status(204);
        });
        app.get("/v1/locks/<path>", ctx -> ctx.json(Map.of("holders",
                coordinator.locks().holders(nodePath(ctx)).stream().map(HttpApi::sequencerJson).toList())));
        app.post("/v1/sequencers/check", ctx -> {
            CheckRequest req = body(ctx, CheckRequest.class);
            Grant s = parseSequencer(required(req.sequencer(), "sequencer"));
            ctx.json(Map.of("valid", coordinator.locks().check(s)));
        });

        app.get("/v1/events", this::events);
        app.sse("/v1/watch", this::watch);

        app.post("/v1/elections/{name}", ctx -> {
            CampaignRequest req = body(ctx, CampaignRequest.class);
            Grant s = coordinator.elections().campaign(ctx.pathParam("name"), required(req.session(), "session"), req.value(),
                    Duration.ofMillis(orDefault(req.waitMs(), 0)), orDefault(req.lockDelayMs(), 0));
            ctx.json(sequencerJson(s));
        });
        app.get("/v1/elections/{name}", ctx -> {
            Elections.Leader leader = coordinator.elections().leader(ctx.pathParam("name")).orElseThrow(() ->
                    new CoordinatorException(Problem.NODE_NOT_FOUND, "election '" + ctx.pathParam("name") + "' has no leader"));
            Map<String, Object> out = new LinkedHashMap<>(sequencerJson(leader.sequencer()));
            out.put("name", leader.name());
            out.put("value", leader.value());
            ctx.json(out);
        });
        app.delete("/v1/elections/{name}", ctx -> {
            coordinator.elections().resign(ctx.pathParam("name"), required(ctx.queryParam("session"), "session"));
            ctx.status(204);
        });
    }

    record SessionRequest(Long ttlMs, String owner) {
    }

    record LockRequest(String session, String mode, Long waitMs, Long lockDelayMs) {
    }

    record CheckRequest(String sequencer) {
    }

    record CampaignRequest(String session, String value, Long waitMs, Long lockDelayMs) {
    }

    private void health(Context ctx) {
        boolean up = coordinator.store().healthy();
        ctx.status(up ? 200 : 503).json(Map.of("status", up ? "up" : "down", "store", up ? "reachable" : "unreachable",
                "database", coordinator.store().kind().name().toLowerCase(Locale.ROOT)));
    }

    private void metrics(Context ctx) {
        coordinator.store().read(c -> {
            var dsl = coordinator.store().dsl(c);
            sessionsGauge.set(dsl.fetchCount(dev.latchkey.coordinator.store.Schema.SESSION));
            locksGauge.set(dsl.fetchCount(dev.latchkey.coordinator.store.Schema.HOLDER));
            waitersGauge.set(dsl.fetchCount(dev.latchkey.coordinator.store.Schema.WAITER));
            return null;
        });
        ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape());
    }

    private void openSession(Context ctx) {
        SessionRequest req = body(ctx, SessionRequest.class);
        Sessions.Info info = coordinator.sessions().open(req.owner(), orDefault(req.ttlMs(), 12_000));
        ctx.status(201).json(sessionJson(info));
    }

    private void keepAlive(Context ctx) throws Exception {
        String id = ctx.pathParam("id");
        long waitMs = longParam(ctx, "waitMs", 0, 0, 60_000);
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
        Map<String, Object> out = sessionJson(info);
        out.put("events", events.stream().map(HttpApi::eventJson).toList());
        ctx.json(out);
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
        ctx.header("X-Latchkey-Stat", toJson(node.stat()));
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
        Long match = ifMatch(ctx);
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
        if (Boolean.parseBoolean(ctx.queryParam("ephemeral"))) {
            session = required(ctx.queryParam("session"), "session (ephemeral nodes belong to a session)");
        }
        byte[] body = ctx.bodyAsBytes();
        Namespace.Stat stat = coordinator.namespace().write(path, body, expect, session);
        ctx.header("ETag", "\"" + stat.contentGeneration() + "\"");
        ctx.status(stat.contentGeneration() == 1 && stat.createdRevision() == stat.modifiedRevision() ? 201 : 200).json(stat);
    }

    private void acquire(Context ctx, String path) {
        LockRequest req = body(ctx, LockRequest.class);
        Grant.Mode mode;
        try {
            mode = req.mode() == null ? Grant.Mode.EXCLUSIVE : Grant.Mode.valueOf(req.mode().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "mode must be 'exclusive' or 'shared', not '" + req.mode() + "'");
        }
        Grant s = coordinator.locks().acquire(path, required(req.session(), "session"), mode,
                Duration.ofMillis(orDefault(req.waitMs(), 0)), orDefault(req.lockDelayMs(), 0));
        ctx.json(sequencerJson(s));
    }

    /** Long-poll form of the event stream: {@code GET /v1/events?prefix=/a&after=10&waitMs=5000}. */
    private void events(Context ctx) throws InterruptedException {
        String[] target = watchTarget(ctx);
        long after = longParam(ctx, "after", -1, -1, Long.MAX_VALUE);
        if (after < 0) {
            after = coordinator.events().currentRevision();
        }
        long waitMs = longParam(ctx, "waitMs", 0, 0, 60_000);
        int limit = (int) longParam(ctx, "limit", 500, 1, 5000);
        Watches.Batch batch = coordinator.watches().next(target[0], target[1] != null, after, Duration.ofMillis(waitMs), limit);
        switch (batch) {
            case Watches.Batch.Events e -> ctx.json(Map.of("events", e.events().stream().map(HttpApi::eventJson).toList(),
                    "lastRev", e.scannedTo()));
            case Watches.Batch.Resync r -> ctx.json(Map.of("resync", true, "fromRev", r.fromRev(), "horizon", r.horizon(),
                    "lastRev", r.currentRev(), "events", List.of()));
        }
    }

    /** A watch stream that sent nothing for this long says something: a progress event or a ping. */
    private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(1_500);

    private void watch(SseClient client) {
        Context ctx = client.ctx();
        String[] target;
        long cursor;
        try {
            target = watchTarget(ctx);
            String lastEventId = ctx.header("Last-Event-ID");
            String from = lastEventId != null ? lastEventId : ctx.queryParam("fromRev");
            cursor = from == null ? coordinator.events().currentRevision() : Long.parseLong(from.trim());
        } catch (RuntimeException e) {
            client.sendEvent("error", toJson(Map.of("detail", e.getMessage() == null ? "bad request" : e.getMessage())), null);
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
                        for (Event ev : e.events()) {
                            client.sendEvent(kindName(ev.kind()), eventText(ev), Long.toString(ev.rev()));
                            lastSent = System.nanoTime();
                            lastId = ev.rev();
                        }
                        // when quiet, say something every 2 s (not on every unrelated commit)
                        if (e.events().isEmpty() && System.nanoTime() - lastSent >= QUIET_NANOS) {
                            lastSent = System.nanoTime();
                            if (e.scannedTo() > lastId) {
                                lastId = e.scannedTo();
                                // nothing matched, but everything up to here was examined: the id moves the
                                // client's Last-Event-ID on, so a reconnect does not start from far behind
                                client.sendEvent("progress", toJson(Map.of("rev", e.scannedTo())), Long.toString(e.scannedTo()));
                            } else {
                                client.sendComment("ping"); // notices a client that went away
                            }
                        }
                        cursor = e.scannedTo();
                    }
                    case Watches.Batch.Resync r -> {
                        lastSent = System.nanoTime();
                        lastId = r.currentRev();
                        client.sendEvent("resync", toJson(Map.of("fromRev", r.fromRev(), "horizon", r.horizon(), "currentRev", r.currentRev())),
                                Long.toString(r.currentRev()));
                        cursor = r.currentRev();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                client.sendEvent("error", toJson(Map.of("detail", String.valueOf(e.getMessage()))), null);
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

    private void errors() {
        app.exception(CoordinatorException.class, (e, ctx) -> problem(ctx, e.problem(), e.getMessage()));
        app.exception(Store.StoreUnavailableException.class, (e, ctx) -> problem(ctx, Problem.STORE_UNAVAILABLE, e.getMessage()));
        app.exception(BadJson.class, (e, ctx) -> problem(ctx, Problem.BAD_JSON, e.getMessage()));
        app.exception(io.javalin.http.HttpResponseException.class, (e, ctx) -> {
            ctx.status(e.getStatus()).contentType(PROBLEM_JSON).result(toJson(Map.of("type", ProblemTypes.PREFIX + "http-" + e.getStatus(),
                    "title", e.getMessage(), "status", e.getStatus())));
        });
        app.exception(Exception.class, (e, ctx) -> {
            org.slf4j.LoggerFactory.getLogger(HttpApi.class).error("unexpected failure on {} {}", ctx.method(), ctx.path(), e);
            ctx.status(500).contentType(PROBLEM_JSON).result(toJson(Map.of("type", ProblemTypes.PREFIX + "internal", "title", "Internal error",
                    "status", 500, "detail", String.valueOf(e.getMessage()))));
        });
        app.error(404, ctx -> {
            if (ctx.result() == null || ctx.result().isEmpty()) {
                ctx.contentType(PROBLEM_JSON).result(toJson(Map.of("type", ProblemTypes.PREFIX + "no-such-route", "title", "No such route",
                        "status", 404, "detail", ctx.method() + " " + ctx.path() + " is not part of the API")));
            }
        });
    }

    private void problem(Context ctx, Problem problem, String detail) {
        ProblemTypes.Type type = ProblemTypes.of(problem);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", type.uri());
        body.put("title", type.title());
        body.put("status", type.status());
        body.put("detail", detail);
        body.put("instance", ctx.path());
        ctx.status(type.status()).contentType(PROBLEM_JSON).result(toJson(body));
    }

    /** A body that is not the JSON the call takes. */
    static final class BadJson extends RuntimeException {
        BadJson(String message) {
            super(message);
        }
    }

    private <T> T body(Context ctx, Class<T> type) {
        byte[] bytes = ctx.bodyAsBytes();
        if (bytes.length == 0) {
            throw new BadJson("the request needs a JSON body");
        }
        try {
            return json.readValue(bytes, type);
        } catch (java.io.IOException e) {
            String message = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
            throw new BadJson("the body is not valid JSON for this call: " + message);
        }
    }

    private String toJson(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String nodePath(Context ctx) {
        return "/" + ctx.pathParam("path");
    }

    private static Long ifMatch(Context ctx) {
        String header = ctx.header("If-Match");
        if (header == null) {
            return null;
        }
        String v = header.trim();
        if (v.startsWith("W/")) {
            v = v.substring(2);
        }
        v = v.replace("\"", "");
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "If-Match must hold a content generation, not '" + header + "'");
        }
    }

    private static long longParam(Context ctx, String name, long fallback, long min, long max) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return fallback;
        }
        try {
            long value = Long.parseLong(v);
            if (value < min || value > max) {
                throw new CoordinatorException(Problem.BAD_REQUEST, name + " must be between " + min + " and " + max + ", not " + value);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new CoordinatorException(Problem.BAD_REQUEST, name + " must be a number, not '" + v + "'");
        }
    }

    private static String required(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new CoordinatorException(Problem.BAD_REQUEST, name + " is required");
        }
        return value;
    }

    private static long orDefault(Long value, long fallback) {
        return value == null ? fallback : value;
    }

    /** The sequencer text of the API (the client's {@link Sequencer}) as the core's grant. */
    private static Grant parseSequencer(String text) {
        try {
            Sequencer s = Sequencer.parse(text);
            return new Grant(s.path(), Grant.Mode.valueOf(s.mode().name()), s.generation(), s.session());
        } catch (IllegalArgumentException e) {
            throw new CoordinatorException(Problem.BAD_REQUEST, e.getMessage());
        }
    }

    static Map<String, Object> sequencerJson(Grant s) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("sequencer", new Sequencer(s.path(), Sequencer.Mode.valueOf(s.mode().name()), s.generation(), s.session()).encode());
        out.put("path", s.path());
        out.put("mode", s.mode().name().toLowerCase(Locale.ROOT));
        out.put("generation", s.generation());
        out.put("session", s.session());
        return out;
    }

    static Map<String, Object> sessionJson(Sessions.Info info) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", info.id());
        out.put("owner", info.owner());
        out.put("ttlMs", info.ttlMs());
        out.put("remainingMs", info.remainingMs());
        return out;
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
        String text = toJson(eventJson(e));
        eventTexts.set(slot, new Object[] {e.rev(), text});
        return text;
    }

    static Map<String, Object> eventJson(Event e) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("rev", e.rev());
        out.put("path", e.path());
        out.put("kind", kindName(e.kind()));
        if (e.detail() != null) {
            out.put("detail", e.detail());
        }
        if (e.session() != null) {
            out.put("session", e.session());
        }
        return out;
    }

    static String kindName(Event.Kind kind) {
        return kind.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
