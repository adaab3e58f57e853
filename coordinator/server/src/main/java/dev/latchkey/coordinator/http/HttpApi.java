package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.core.Sessions;
import dev.latchkey.coordinator.core.Tokens;
import dev.latchkey.coordinator.core.Watches;
import dev.latchkey.coordinator.store.Store;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP/JSON API, version 1 (see docs/api.md and docs/openapi.yaml). Every refusal is an
 * {@code application/problem+json} body with a stable {@code type}, and changes nothing.
 *
 * <p>The routes live in one class per resource ({@link SessionRoutes}, {@link TokenRoutes},
 * {@link NodeRoutes}, {@link LockRoutes}, {@link EventRoutes}, {@link ElectionRoutes}), reading
 * requests with {@link Requests} and writing values with {@link Views}. This class holds the server,
 * the filters every request passes (the loopback Host check, the identity, the per-identity limits,
 * timing), the health and metrics routes, and how each refusal reads.
 */
public final class HttpApi implements AutoCloseable {

    private static final String PROBLEM_JSON = "application/problem+json";

    private final Coordinator coordinator;
    private final Requests requests = new Requests();
    private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicLong sessionsGauge = new AtomicLong();
    private final AtomicLong locksGauge = new AtomicLong();
    private final AtomicLong waitersGauge = new AtomicLong();
    private final Javalin app;
    private final SessionChannel channel;
    private final Access access;
    private final Limits.Meter meter;

    /** The API without authentication: for loopback (see Main's --bind rules) and tests. */
    public HttpApi(Coordinator coordinator) {
        this(coordinator, false);
    }

    /**
     * @param tokensRequired whether every request (but the health check) must carry a bearer token
     *                       naming an identity; sessions then belong to the identity that opened them
     */
    public HttpApi(Coordinator coordinator, boolean tokensRequired) {
        this(coordinator, tokensRequired, Limits.defaults());
    }

    /** @param limits per-identity caps on sessions, watch streams and requests per second, and the connection caps */
    public HttpApi(Coordinator coordinator, boolean tokensRequired, Limits limits) {
        this(coordinator, tokensRequired, limits, null);
    }

    /** @param tls TLS (and with a client CA, mutual TLS) for the API and the session channel; {@code null} for plain HTTP */
    public HttpApi(Coordinator coordinator, boolean tokensRequired, Limits limits, TlsConfig tls) {
        this.coordinator = coordinator;
        this.access = new Access(coordinator, tokensRequired, tls);
        this.meter = new Limits.Meter(limits);
        this.tls = tls;
        this.sslFactory = tls == null ? null : tls.factory();
        this.perAddress = new ConnectionsPerAddress(limits.connectionsPerAddress());
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(metrics); // heap and the rest, for operators
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(metrics);
        new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(metrics);
        Gauge.builder("latchkey.sessions", sessionsGauge, AtomicLong::get).description("live sessions").register(metrics);
        Gauge.builder("latchkey.locks.held", locksGauge, AtomicLong::get).description("lock holders").register(metrics);
        Gauge.builder("latchkey.lock.waiters", waitersGauge, AtomicLong::get).description("queued lock requests").register(metrics);
        Gauge.builder("latchkey.event.lag", coordinator, c -> Math.max(0, c.events().currentRevision() - c.events().lastSeen()))
                .description("revisions committed but not yet delivered by this coordinator").register(metrics);
        Gauge.builder("latchkey.keepalive.store.writes", coordinator.sessions(), Sessions::keepAliveWrites)
                .description("store writes spent on keep-alives (one per batch)").register(metrics);
        Gauge.builder("latchkey.keepalive.held", coordinator.locks(), dev.latchkey.coordinator.core.Locks::heldKeepAlives)
                .description("keep-alives held open until a conflicting request or a third of the TTL").register(metrics);
        Gauge.builder("latchkey.store.batch.retries", coordinator.store(), dev.latchkey.coordinator.store.Store::batchRetries)
                .description("write batches rolled back for contention (deadlock, serialization or Galera certification failure) and run again")
                .register(metrics);
        var store = coordinator.store();
        FunctionCounter.builder("latchkey.store.batches", store, st -> st.batchStats().batches())
                .description("store transactions the writer committed (each a batch of operations)").register(metrics);
        FunctionCounter.builder("latchkey.store.batch.operations", store, st -> st.batchStats().operations())
                .description("operations in the committed batches").register(metrics);
        FunctionCounter.builder("latchkey.store.batches.from.memory", store, st -> st.batchStats().fromMemory())
                .description("batches the writer decided from what it remembered of its last commit, in one round trip").register(metrics);
        FunctionCounter.builder("latchkey.store.batches.stale.memory", store, st -> st.batchStats().staleMemory())
                .description("decisions from memory the commit's guard refused (another writer had committed since): run again from the store")
                .register(metrics);
        FunctionCounter.builder("latchkey.store.batch.time", store, st -> st.batchStats().headNanos() / 1e9).baseUnit("seconds").tag("phase", "head")
                .description("writer time in batches' heads (with the first read where they share a round trip)").register(metrics);
        FunctionCounter.builder("latchkey.store.batch.time", store, st -> st.batchStats().commitNanos() / 1e9).baseUnit("seconds").tag("phase", "commit")
                .description("writer time in batches' writes and commits").register(metrics);
        FunctionCounter.builder("latchkey.store.batch.time", store, st -> st.batchStats().totalNanos() / 1e9).baseUnit("seconds").tag("phase", "total")
                .description("writer time in batches, from start to the last answer (busy share: its rate)").register(metrics);
        Gauge.builder("latchkey.watch.store.reads", coordinator.watches(), dev.latchkey.coordinator.core.Watches::storeReads)
                .description("watcher reads that went to the store (the rest are served from the latest events in memory)").register(metrics);
        this.channel = new SessionChannel(coordinator, requests, access, meter);
        Gauge.builder("latchkey.channels.open", channel, SessionChannel::openChannels).description("open session channels").register(metrics);
        this.app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.useVirtualThreads = true;
            config.startupWatcherEnabled = false;
            config.router.ignoreTrailingSlashes = true;
            config.http.maxRequestSize = Requests.MAX_BODY; // bodies are read by bodyBytes, which also stops a chunked one
            config.jsonMapper(new JavalinJackson(requests.json, false));
            config.jetty.addConnector(this::connector); // Javalin adds no connector of its own then
            config.jetty.modifyServer(server -> {
                server.addBean(new org.eclipse.jetty.server.ConnectionLimit(limits.connections(), server));
                server.setErrorHandler(new ProblemErrorHandler(requests.json)); // what Jetty refuses itself reads as problem+json too
            });
            config.jetty.modifyServletContextHandler(handler -> handler.setErrorHandler(new ProblemErrorHandler(requests.json)));
        });
        routes();
        errors();
    }

    private final TlsConfig tls;
    private final org.eclipse.jetty.util.ssl.SslContextFactory.Server sslFactory;
    private final ConnectionsPerAddress perAddress;
    private volatile String bindHost = "127.0.0.1";
    private volatile int bindPort;
    private Thread tlsWatcher;

    /** Starts listening; returns the port (useful with port 0). */
    public int start(String host, int port) {
        try {
            loopbackOnly = !access.authRequired() && java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            loopbackOnly = false;
        }
        bindHost = host;
        bindPort = port;
        app.start(host, port);
        if (tls != null) {
            tlsWatcher = tls.watch(sslFactory);
        }
        return app.port();
    }

    /** "https" with TLS, else "http". */
    public String scheme() {
        return tls == null ? "http" : "https";
    }

    /** The one connector: HTTP/1.1, over TLS when configured, with the per-address connection cap. */
    private org.eclipse.jetty.server.Connector connector(org.eclipse.jetty.server.Server server,
            org.eclipse.jetty.server.HttpConfiguration http) {
        org.eclipse.jetty.server.ServerConnector connector;
        if (sslFactory != null) {
            var secure = new org.eclipse.jetty.server.SecureRequestCustomizer();
            secure.setSniHostCheck(false); // clients may dial an IP address; the certificate check is theirs to make
            http.addCustomizer(secure);
            connector = new org.eclipse.jetty.server.ServerConnector(server, new org.eclipse.jetty.server.SslConnectionFactory(sslFactory,
                    "http/1.1"), new org.eclipse.jetty.server.HttpConnectionFactory(http));
        } else {
            connector = new org.eclipse.jetty.server.ServerConnector(server, new org.eclipse.jetty.server.HttpConnectionFactory(http));
        }
        connector.setHost(bindHost);
        connector.setPort(bindPort);
        connector.addEventListener(perAddress); // connection factories hand the connector's listeners to each connection
        return connector;
    }

    /**
     * Closes a new connection from an address that already has its share open. Counted by network
     * end point: a TLS connection's decrypted end point and a connection upgraded to a WebSocket
     * are the same connection.
     */
    static final class ConnectionsPerAddress implements org.eclipse.jetty.io.Connection.Listener {
        private final int max;
        private final ConcurrentHashMap<java.net.InetAddress, java.util.Set<org.eclipse.jetty.io.EndPoint>> open = new ConcurrentHashMap<>();

        ConnectionsPerAddress(int max) {
            this.max = max;
        }

        @Override
        public void onOpened(org.eclipse.jetty.io.Connection connection) {
            org.eclipse.jetty.io.EndPoint endPoint = network(connection.getEndPoint());
            java.net.InetAddress address = address(endPoint);
            if (address == null) {
                return;
            }
            int n;
            synchronized (this) {
                java.util.Set<org.eclipse.jetty.io.EndPoint> mine = open.computeIfAbsent(address, a -> new java.util.HashSet<>());
                mine.removeIf(e -> !e.isOpen());
                mine.add(endPoint); // a set: the second connection on one end point (TLS, then HTTP; an upgrade) is not another
                n = mine.size();
            }
            if (n > max) {
                org.slf4j.LoggerFactory.getLogger(HttpApi.class).warn("closing a connection from {}: it has {} open "
                        + "(--max-connections-per-address)", address.getHostAddress(), max);
                endPoint.close();
            }
        }

        /*
         * A connection closes both when its end point does and when it is upgraded (the end point
         * stays open under a new connection), and the end point may still read as open while it
         * closes: each address's set drops the end points that are closed whenever it is looked at.
         */
        @Override
        public void onClosed(org.eclipse.jetty.io.Connection connection) {
            java.net.InetAddress address = address(network(connection.getEndPoint()));
            if (address != null) {
                openFrom(address);
            }
        }

        /** How many connections are open from an address. */
        synchronized int openFrom(java.net.InetAddress address) {
            java.util.Set<org.eclipse.jetty.io.EndPoint> mine = open.get(address);
            if (mine == null) {
                return 0;
            }
            mine.removeIf(e -> !e.isOpen());
            if (mine.isEmpty()) {
                open.remove(address);
            }
            return mine.size();
        }

        private static org.eclipse.jetty.io.EndPoint network(org.eclipse.jetty.io.EndPoint endPoint) {
            return endPoint instanceof org.eclipse.jetty.io.ssl.SslConnection.DecryptedEndPoint d ? d.getSslConnection().getEndPoint() : endPoint;
        }

        private static java.net.InetAddress address(org.eclipse.jetty.io.EndPoint endPoint) {
            return endPoint.getRemoteSocketAddress() instanceof java.net.InetSocketAddress i ? i.getAddress() : null;
        }
    }

    /** How many connections are open from an address, as the per-address cap counts them. */
    int connectionsFrom(java.net.InetAddress address) {
        return perAddress.openFrom(address);
    }

    /**
     * Without authentication on loopback, requests must name a loopback host: a web page that
     * rebinds its own DNS name to 127.0.0.1 (DNS rebinding) still sends its own name as Host.
     */
    private volatile boolean loopbackOnly;
    private static final java.util.Set<String> LOOPBACK_HOSTS = java.util.Set.of("localhost", "127.0.0.1", "[::1]", "::1");

    private void requireLoopbackHost(Context ctx) {
        if (!loopbackOnly) {
            return;
        }
        String host = ctx.host();
        String name = host == null ? "" : host.startsWith("[") ? host.substring(0, host.indexOf(']') + 1)
                : host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
        if (!LOOPBACK_HOSTS.contains(name.toLowerCase(Locale.ROOT))) {
            throw new CoordinatorException(Problem.FORBIDDEN, "this coordinator has no authentication and answers only requests "
                    + "addressed to localhost, 127.0.0.1 or [::1], not '" + host + "'");
        }
    }

    @Override
    public void close() {
        if (tlsWatcher != null) {
            tlsWatcher.interrupt();
        }
        app.stop();
        channel.close();
    }

    private void routes() {
        app.before(ctx -> ctx.attribute("latchkey.start", System.nanoTime()));
        app.before(ctx -> {
            requireLoopbackHost(ctx);
            Requests.requireNoNul(ctx);
            if (!ctx.path().equals("/v1/health") && !ctx.path().endsWith("/channel")) { // the channel checks on connect
                Tokens.Identity who = access.identify(ctx.header("Authorization"), ctx.req().getAttribute(Access.CERTIFICATES));
                ctx.attribute(Access.IDENTITY, who);
                meter.request(who.name());
                if (ctx.path().equals("/v1/watch")) {
                    meter.watchOpened(who.name()); // closed when the stream ends (watch)
                }
            }
        });
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

        new SessionRoutes(coordinator, access, requests, meter, channel).register(app);
        new TokenRoutes(coordinator, access, requests).register(app);
        new NodeRoutes(coordinator, access, requests).register(app);
        new LockRoutes(coordinator, access, requests).register(app);
        new EventRoutes(coordinator, access, requests, meter).register(app);
        new ElectionRoutes(coordinator, access, requests).register(app);
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

    private void errors() {
        app.exception(CoordinatorException.class, (e, ctx) -> {
            if (e.problem() == Problem.TOO_MANY) {
                ctx.header("Retry-After", "5");
            }
            if (e instanceof dev.latchkey.coordinator.core.Acls.Denied denied) { // the permission missing, and the ACL that withheld it
                Map<String, Object> members = new LinkedHashMap<>();
                members.put("permission", denied.permission().label());
                members.put("acl", denied.acl());
                problem(ctx, e.problem(), e.getMessage(), members);
                return;
            }
            problem(ctx, e.problem(), e.getMessage());
        });
        app.exception(Store.StoreUnavailableException.class, (e, ctx) -> problem(ctx, Problem.STORE_UNAVAILABLE, e.getMessage()));
        app.exception(Store.ValueRefusedException.class, (e, ctx) -> problem(ctx, Problem.BAD_REQUEST, e.getMessage()));
        app.exception(Requests.BadJson.class, (e, ctx) -> problem(ctx, Problem.BAD_JSON, e.getMessage()));
        app.exception(Limits.Exceeded.class, (e, ctx) -> {
            ctx.header("Retry-After", Long.toString(e.retryAfterSeconds));
            problem(ctx, Problem.TOO_MANY, e.getMessage());
        });
        // what Javalin throws for a path or query it cannot decode (GET /v1/nodes/%): the client's mistake
        app.exception(IllegalArgumentException.class, (e, ctx) -> problem(ctx, Problem.BAD_REQUEST,
                "the request could not be read: " + e.getMessage()));
        app.exception(io.javalin.http.HttpResponseException.class, (e, ctx) -> {
            ctx.status(e.getStatus()).contentType(PROBLEM_JSON).result(utf8(Map.of("type", ProblemTypes.PREFIX + "http-" + e.getStatus(),
                    "title", e.getMessage(), "status", e.getStatus())));
        });
        app.exception(Exception.class, (e, ctx) -> {
            org.slf4j.LoggerFactory.getLogger(HttpApi.class).error("unexpected failure on {} {}", ctx.method(), ctx.path(), e);
            ctx.status(500).contentType(PROBLEM_JSON).result(utf8(Map.of("type", ProblemTypes.PREFIX + "internal", "title", "Internal error",
                    "status", 500, "detail", String.valueOf(e.getMessage()))));
        });
        app.error(404, ctx -> {
            if (ctx.result() == null || ctx.result().isEmpty()) {
                ctx.contentType(PROBLEM_JSON).result(utf8(Map.of("type", ProblemTypes.PREFIX + "no-such-route", "title", "No such route",
                        "status", 404, "detail", ctx.method() + " " + ctx.path() + " is not part of the API")));
            }
        });
    }

    /** The JSON of a value as UTF-8 bytes: a problem's detail may quote a path that is not ASCII (Jetty would pick ISO-8859-1 for a String). */
    private byte[] utf8(Object value) {
        return requests.toJson(value).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private void problem(Context ctx, Problem problem, String detail) {
        problem(ctx, problem, detail, Map.of());
    }

    private void problem(Context ctx, Problem problem, String detail, Map<String, Object> members) {
        ProblemTypes.Type type = ProblemTypes.of(problem);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", type.uri());
        body.put("title", type.title());
        body.put("status", type.status());
        body.put("detail", detail);
        body.put("instance", ctx.path());
        body.putAll(members);
        ctx.status(type.status()).contentType(PROBLEM_JSON).result(utf8(body));
    }

}
