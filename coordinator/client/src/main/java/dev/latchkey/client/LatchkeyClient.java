package dev.latchkey.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Java client of the Latchkey coordinator. It talks to a list of coordinators and moves to the
 * next when one cannot be reached, so a session outlives any single coordinator.
 *
 * <pre>{@code
 * try (LatchkeyClient client = LatchkeyClient.connect("http://c1:7700", "http://c2:7700");
 *      Session session = client.openSession(Session.Options.defaults().owner("shop-1"))) {
 *     try (Lease lease = session.acquire("/locks/restock", Duration.ofSeconds(10))) {
 *         fencedTable.update(id, lease.sequencer()::generation)...;
 *     }
 * }
 * }</pre>
 */
public final class LatchkeyClient implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    private final List<URI> servers;
    private final HttpClient http;
    /**
     * The session channels' client: its WebSocket listeners run on the client's selector thread (an
     * executor that runs each task where it is handed over), so an answer read from the socket
     * completes its caller's wait at once, without a hop to a pool thread first. The channel's
     * listener only parses the frame and completes a future or queues a watch frame: it never blocks.
     * Built when the first channel opens (a client that only makes HTTP calls, the CLI's, never needs it).
     */
    private volatile HttpClient channels;
    private final AtomicInteger current = new AtomicInteger();
    private final Duration requestTimeout;
    private final Duration connectTimeout;
    /** "Bearer <token>", or null on a coordinator without authentication. */
    private final String authorization;
    /** The TLS context for https:// coordinators, or null for the JDK's default (its own CAs). */
    private final javax.net.ssl.SSLContext tls;

    private LatchkeyClient(List<URI> servers, Duration connectTimeout, Duration requestTimeout, String token, javax.net.ssl.SSLContext tls) {
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("at least one coordinator URL is needed");
        }
        this.servers = List.copyOf(servers);
        this.requestTimeout = requestTimeout;
        this.connectTimeout = connectTimeout;
        this.authorization = token == null || token.isBlank() ? null : "Bearer " + token.trim();
        // HTTP/1.1 with keep-alive: the coordinator speaks nothing else, and asking for an h2c upgrade costs every request
        this.tls = tls;
        HttpClient.Builder builder = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(connectTimeout);
        this.http = (tls == null ? builder : builder.sslContext(tls)).build();
    }

    private HttpClient channels() {
        HttpClient c = channels;
        if (c == null) {
            synchronized (this) {
                c = channels;
                if (c == null) {
                    HttpClient.Builder direct = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(connectTimeout)
                            .executor(Runnable::run);
                    c = (tls == null ? direct : direct.sslContext(tls)).build();
                    channels = c;
                }
            }
        }
        return c;
    }

    /** A client for these coordinators (e.g. {@code http://127.0.0.1:7700}), tried in turn. */
    public static LatchkeyClient connect(String... urls) {
        List<URI> uris = new ArrayList<>();
        for (String url : urls) {
            for (String part : url.split(",")) {
                if (!part.isBlank()) {
                    uris.add(URI.create(part.trim().replaceAll("/+$", "")));
                }
            }
        }
        return new LatchkeyClient(uris, Duration.ofSeconds(2), Duration.ofSeconds(30), null, null);
    }

    /**
     * The same coordinators, with a bearer token on every request, stream and channel: the identity
     * the coordinator acts for (sessions opened through this client belong to it).
     */
    public LatchkeyClient withToken(String token) {
        return new LatchkeyClient(servers, connectTimeout, requestTimeout, token, tls);
    }

    /**
     * The same coordinators over TLS with this context: one that trusts the coordinator's CA, and
     * for mutual TLS presents this client's certificate (see {@link Tls#context}). The token, if
     * any, is kept.
     */
    public LatchkeyClient withTls(javax.net.ssl.SSLContext context) {
        return new LatchkeyClient(servers, connectTimeout, requestTimeout, authorization == null ? null : authorization.substring(7), context);
    }

    /** The value of the Authorization header this client sends, if any. */
    java.util.Optional<String> authorization() {
        return java.util.Optional.ofNullable(authorization);
    }

    /** Opens a session channel to the current coordinator. */
    Channel openChannel(String session) throws Channel.Closed {
        URI base = servers.get(Math.floorMod(current.get(), servers.size()));
        return Channel.open(channels(), base, session, Duration.ofSeconds(1), authorization);
    }

    /** How long a request may take beyond any wait it asks for. */
    Duration requestTimeout() {
        return requestTimeout;
    }

    public List<URI> servers() {
        return servers;
    }

    /** Opens a session that keeps itself alive in the background. */
    public Session openSession(Session.Options options) {
        return new Session(this, options);
    }

    /** Reads a file (through no cache: see {@link Session#read} for the cached read). */
    public FileContent read(String path) {
        Response r = send("GET", nodes(path), null, Map.of(), Duration.ZERO);
        if (!r.headers().containsKey("x-latchkey-stat")) {
            throw new LatchkeyException(409, "is-a-directory", path + " is a directory");
        }
        return new FileContent(r.body(), parse(r.headers().get("x-latchkey-stat"), NodeStat.class));
    }

    public NodeStat stat(String path) {
        return parse(send("GET", nodes(path) + "?stat", null, Map.of(), Duration.ZERO).bodyText(), NodeStat.class);
    }

    public List<NodeStat> list(String path) {
        String p = NodePath.require(path).equals("/") ? "" : path;
        List<NodeStat> out = new ArrayList<>();
        String after = null;
        do { // page by page, as the coordinator hands them out
            JsonNode page = send("GET", "/v1/nodes" + p + "?children" + (after == null ? "" : "&after=" + encode(after)), null, Map.of(),
                    Duration.ZERO).json();
            page.get("children").forEach(c -> out.add(JSON.convertValue(c, NodeStat.class)));
            after = page.hasNonNull("next") ? page.get("next").asText() : null;
        } while (after != null);
        return out;
    }

    /** Writes a whole file; with {@code ifGeneration} only over that content generation (else 412). */
    public NodeStat write(String path, byte[] content, Long ifGeneration) {
        Map<String, String> headers = ifGeneration == null ? Map.of() : Map.of("If-Match", "\"" + ifGeneration + "\"");
        return parse(send("PUT", nodes(path), content, headers, Duration.ZERO).bodyText(), NodeStat.class);
    }

    /** Creates a file that must not exist yet. */
    public NodeStat create(String path, byte[] content) {
        return parse(send("PUT", nodes(path), content, Map.of("If-None-Match", "*"), Duration.ZERO).bodyText(), NodeStat.class);
    }

    public NodeStat mkdir(String path) {
        return parse(send("PUT", nodes(path) + "?type=directory", new byte[0], Map.of(), Duration.ZERO).bodyText(), NodeStat.class);
    }

    public void delete(String path, Long ifGeneration) {
        Map<String, String> headers = ifGeneration == null ? Map.of() : Map.of("If-Match", "\"" + ifGeneration + "\"");
        send("DELETE", nodes(path), null, headers, Duration.ZERO);
    }

    /**
     * Ends a session by id: its locks are released and its ephemeral nodes deleted. Only the
     * identity that opened it may, or an admin (to end a session whose client is stuck).
     */
    public void closeSession(String id) {
        send("DELETE", "/v1/sessions/" + encode(id), null, Map.of(), Duration.ZERO);
    }

    /** The ACL in force at a path, permission by permission. */
    public NodeAcl acl(String path) {
        return parse(send("GET", acls(path), null, Map.of(), Duration.ZERO).bodyText(), NodeAcl.class);
    }

    /**
     * Sets the ACL names a node carries (each the name of a file in {@code /acl}; {@code null}
     * inherits from the parent); needs the admin permission there.
     */
    public NodeAcl setAcl(String path, String read, String write, String lock, String admin) {
        Map<String, String> body = new java.util.LinkedHashMap<>();
        body.put("read", read);
        body.put("write", write);
        body.put("lock", lock);
        body.put("admin", admin);
        return parse(send("PUT", acls(path), json(body), Map.of("Content-Type", "application/json"), Duration.ZERO).bodyText(),
                NodeAcl.class);
    }

    private static String acls(String path) {
        return "/v1/acls" + (NodePath.require(path).equals("/") ? "" : path);
    }

    /** Whether the coordinator still counts this sequencer's grant as held. */
    public boolean check(Sequencer sequencer) {
        return send("POST", "/v1/sequencers/check", json(Map.of("sequencer", sequencer.encode())), Map.of(), Duration.ZERO)
                .json().get("valid").asBoolean();
    }

    /** The newest committed revision of the coordinator's event log. */
    public long currentRevision() {
        return send("GET", "/v1/events?limit=1&waitMs=0", null, Map.of(), Duration.ZERO).json().get("lastRev").asLong();
    }

    /** The sessions the coordinator knows. */
    public JsonNode sessions() {
        com.fasterxml.jackson.databind.node.ArrayNode all = JSON.createArrayNode();
        String after = null;
        do { // page by page: the next page's key is in the Link header
            Response r = send("GET", "/v1/sessions" + (after == null ? "" : "?after=" + encode(after)), null, Map.of(), Duration.ZERO);
            r.json().forEach(all::add);
            after = null;
            String link = r.headers().get("link");
            if (link != null) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("[?&]after=([^&>]*)").matcher(link);
                if (m.find()) {
                    after = java.net.URLDecoder.decode(m.group(1), java.nio.charset.StandardCharsets.UTF_8);
                }
            }
        } while (after != null);
        return all;
    }


    /** Makes a bearer token for a new identity (this client's token must be an admin's); returns the token, shown only now. */
    public String createToken(String name, boolean admin) {
        return send("POST", "/v1/tokens", json(Map.of("name", name, "admin", admin)), Map.of(), Duration.ZERO).json().get("token").asText();
    }

    /** The identities that have tokens: [{"name", "admin"}]. */
    public JsonNode tokens() {
        com.fasterxml.jackson.databind.node.ArrayNode all = JSON.createArrayNode();
        String after = null;
        do {
            JsonNode page = send("GET", "/v1/tokens" + (after == null ? "" : "?after=" + encode(after)), null, Map.of(), Duration.ZERO).json();
            page.get("tokens").forEach(all::add);
            after = page.hasNonNull("next") ? page.get("next").asText() : null;
        } while (after != null);
        return all;
    }

    /** Revokes an identity's token: it stops working within two seconds on every coordinator. */
    public void revokeToken(String name) {
        send("DELETE", "/v1/tokens/" + java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8), null, Map.of(),
                Duration.ZERO);
    }

    /**
     * Watches a subtree (or, with {@code exact}, one node) from after {@code fromRev} (or from now when
     * negative). Events arrive in revision order, each once, across reconnects and coordinator moves.
     */
    public Watch watch(String prefix, boolean exact, long fromRev, Watch.Listener listener) {
        return new Watch(this, NodePath.require(prefix), exact, fromRev, listener);
    }

    /** The URL path of a node, once the node path is known to be valid. */
    static String nodes(String path) {
        return "/v1/nodes" + NodePath.require(path);
    }

    // ---- transport ------------------------------------------------------------------------------

    record Response(int status, byte[] body, Map<String, String> headers) {
        String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                return body.length == 0 ? null : JSON.readTree(body);
            } catch (IOException e) {
                return null;
            }
        }
    }

    /**
     * Opens a streaming GET on the current coordinator (an event stream), moving on to the next one
     * when it cannot be reached. The caller reads and closes the body.
     */
    java.net.http.HttpResponse<java.util.stream.Stream<String>> openStream(String path) throws InterruptedException {
        int index = Math.floorMod(current.get(), servers.size());
        URI base = servers.get(index);
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Accept", "text/event-stream").GET();
            if (authorization != null) {
                b.header("Authorization", authorization);
            }
            return http.send(b.build(), HttpResponse.BodyHandlers.ofLines());
        } catch (IOException e) {
            current.compareAndSet(index, index + 1);
            throw new LatchkeyException("coordinator " + base + " unreachable: " + e, e);
        }
    }

    /** Like {@link #send}, but with this total timeout per coordinator tried (keep-alives must not hang for long). */
    Response sendWithin(String method, String path, byte[] body, Duration timeout) {
        return send(method, path, body, Map.of(), timeout.negated());
    }

    /**
     * Sends a request to the current coordinator, moving to the next when one cannot be reached or
     * says its store is unavailable; refusals (4xx) are thrown as {@link LatchkeyException}s.
     */
    Response send(String method, String path, byte[] body, Map<String, String> headers, Duration extraTimeout) {
        LatchkeyException last = null;
        for (int attempt = 0; attempt < servers.size(); attempt++) {
            int index = Math.floorMod(current.get(), servers.size());
            URI base = servers.get(index);
            try {
                Response r = sendTo(base, method, path, body, headers, extraTimeout);
                if (r.status() == 503 || r.status() == 502) {
                    last = problem(r);
                    current.compareAndSet(index, index + 1);
                    continue;
                }
                if (r.status() >= 400) {
                    throw problem(r);
                }
                return r;
            } catch (IOException e) {
                last = new LatchkeyException("coordinator " + base + " unreachable: " + e, e);
                current.compareAndSet(index, index + 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LatchkeyException("interrupted", e);
            }
        }
        throw last;
    }

    Response sendTo(URI base, String method, String path, byte[] body, Map<String, String> headers, Duration extraTimeout)
            throws IOException, InterruptedException {
        Duration timeout = extraTimeout.isNegative() ? extraTimeout.negated() : requestTimeout.plus(extraTimeout);
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach(b::header);
        if (body != null && method.equals("POST") && headers.keySet().stream().noneMatch(h -> h.equalsIgnoreCase("Content-Type"))) {
            b.header("Content-Type", "application/json"); // every POST body of the API is JSON, and the coordinator checks
        }
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        Map<String, String> h = new java.util.HashMap<>();
        r.headers().map().forEach((k, v) -> h.put(k.toLowerCase(java.util.Locale.ROOT), v.get(0)));
        return new Response(r.statusCode(), r.body(), h);
    }

    private static LatchkeyException problem(Response r) {
        JsonNode p = r.json();
        String type = p != null && p.has("type") ? p.get("type").asText() : "http-" + r.status();
        String detail = p != null && p.has("detail") ? p.get("detail").asText() : r.bodyText();
        return new LatchkeyException(r.status(), type.substring(type.lastIndexOf('/') + 1), detail);
    }

    static byte[] json(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static <T> T parse(String text, Class<T> type) {
        try {
            return JSON.readValue(Objects.requireNonNull(text, "missing body"), type);
        } catch (IOException e) {
            throw new LatchkeyException(0, "bad-response", "unexpected answer from the coordinator: " + text);
        }
    }

    static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        HttpClient c = channels;
        if (c != null) {
            c.close();
        }
        http.close();
    }
}
