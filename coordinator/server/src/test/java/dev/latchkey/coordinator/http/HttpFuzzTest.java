package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.RandomGenerator;
import net.jqwik.api.sessions.JqwikSession;

/**
 * A property-based fuzzer over every route of docs/openapi.yaml, against a real coordinator with
 * tokens, ACLs, sessions, locks and an election in place. Requests are generated from the schema
 * (paths, query parameters, headers and JSON bodies, with valid values and boundaries) and then
 * mutated (wrong types, bad paths, broken JSON, odd encodings, other identities), and sent over a
 * raw socket so that any bytes can go out. The properties:
 *
 * <ul>
 *   <li>no answer is a 5xx, and every refusal is a problem+json body;</li>
 *   <li>after every refusal (4xx) the store is as it was: sessions and their leases, tokens, nodes
 *       and their generations, holders, waiters, ACLs and the revision counter.</li>
 * </ul>
 *
 * The seed is printed and can be given with {@code -Dfuzz.seed=}; {@code -Dfuzz.requests=} sets how
 * many requests go to each database (10,000 by default).
 */
class HttpFuzzTest {

    private static final int REQUESTS = Integer.getInteger("fuzz.requests", 10_000);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One generated request, as it goes on the wire. */
    record Request(String method, String target, Map<String, String> headers, byte[] body, Encoding encoding, boolean stream) {
        @Override
        public String toString() {
            String shown = body == null ? "" : new String(body, 0, Math.min(body.length, 300), StandardCharsets.ISO_8859_1);
            Map<String, String> shownHeaders = new LinkedHashMap<>();
            headers.forEach((k, v) -> shownHeaders.put(k, v.length() > 80 ? v.substring(0, 80) + "... (" + v.length() + " chars)" : v));
            return method + " " + (target.length() > 300 ? target.substring(0, 300) + "..." : target) + " " + shownHeaders + " [" + encoding + "] " + shown + (body != null && body.length > 300
                    ? "... (" + body.length + " bytes)" : "");
        }
    }

    /** How the body is framed. */
    enum Encoding { LENGTH, CHUNKED, LENGTH_TOO_LONG, LENGTH_TOO_SHORT, NONE }

    /** A route of the OpenAPI document. */
    record Route(String method, String template, JsonNode operation, JsonNode pathParameters) {
    }

    @DatabaseTest
    void everyRouteAnswersGeneratedAndMutatedRequestsWithoutA5xxAndARefusalChangesNothing(TestDatabase db) throws Exception {
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("HttpFuzzTest on " + db.database() + ": seed " + seed + " (-Dfuzz.seed=" + seed + " repeats it)");
        List<Route> routes = routes();
        assertThat(routes).hasSizeGreaterThan(20);
        JqwikSession.start(Long.toString(seed)); // jqwik's generators, outside a property: the database comes from JUnit
        // the reaper is held off: sessions a request opened with the default TTL would otherwise expire mid-run,
        // and "a refusal changes nothing" is checked by comparing the whole store before and after
        var settings = new dev.latchkey.coordinator.core.Coordinator.Settings(java.time.Duration.ofMillis(20), java.time.Duration.ofHours(1),
                java.time.Duration.ofHours(2), 100_000);
        try (Harness h = Harness.withTokens(db, settings); Connection store = db.connect()) {
            Fixtures f = new Fixtures(h);
            Generators g = new Generators(f);
            int port = java.net.URI.create(h.api.base).getPort();
            Random random = new Random(seed);
            Map<String, RandomGenerator<Request>> perRoute = new LinkedHashMap<>();
            for (Route r : routes) {
                perRoute.put(r.method() + " " + r.template(), g.request(r).generator(1000));
            }
            List<RandomGenerator<Request>> generators = new ArrayList<>(perRoute.values());
            Map<Integer, Integer> statuses = new TreeMap<>();
            Map<String, Integer> refusedPerRoute = new TreeMap<>();
            String before = digest(store);
            for (int i = 0; i < REQUESTS; i++) {
                Request request = generators.get(random.nextInt(generators.size())).next(random).value();
                Answer answer = send(port, request);
                statuses.merge(answer.status(), 1, Integer::sum);
                assertThat(answer.status()).as("request %d: %s%n answered: %s", i, request, answer.text()).isBetween(200, 499);
                String after = digest(store);
                if (answer.status() == CUT_OFF) {
                    assertThat(digest(store)).as("request %d was cut off mid-body but changed the store: %s", i, request).isEqualTo(before);
                    continue;
                }
                if (answer.status() >= 400 && !waitedAndWasBusy(answer)) {
                    refusedPerRoute.merge(request.method() + " " + routeOf(request.target()), 1, Integer::sum);
                    assertThat(answer.contentType()).as("request %d: %s%n answered: %s", i, request, answer.text())
                            .startsWith("application/problem+json");
                    assertThat(request.method().equals("HEAD") ? answer.status() : problemStatus(answer)).as("request %d: %s%n answered: %s", i, request, answer.text()).isEqualTo(answer.status());
                    assertThat(after).as("request %d was refused (%d) but changed the store: %s%n answered: %s", i, answer.status(), request,
                            answer.text()).isEqualTo(before);
                }
                if (answer.status() == 204 && request.method().equals("DELETE")) {
                    f.reopenClosed(h); // a fixture session that was closed is opened again, for the requests to come
                    after = digest(store);
                }
                before = after;
            }
            System.out.println("HttpFuzzTest on " + db.database() + ": " + REQUESTS + " requests, statuses " + statuses);
            assertThat(statuses.keySet()).as("both answers and refusals were exercised").contains(200, 400, 401, 403, 404);
            assertThat(statuses.entrySet().stream().filter(e -> e.getKey() < 300).mapToInt(Map.Entry::getValue).sum())
                    .as("a good share of requests got through the checks to the core").isGreaterThan(REQUESTS / 20);
        } finally {
            JqwikSession.finish();
        }
    }

    // ---- the routes -------------------------------------------------------------------------------

    static List<Route> routes() throws IOException {
        Path file = Path.of("../../docs/openapi.yaml");
        if (!Files.exists(file)) {
            file = Path.of("docs/openapi.yaml");
        }
        JsonNode doc = new YAMLMapper().readTree(file.toFile());
        List<Route> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = doc.get("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> p = paths.next();
            for (Iterator<Map.Entry<String, JsonNode>> ops = p.getValue().fields(); ops.hasNext(); ) {
                Map.Entry<String, JsonNode> op = ops.next();
                if (op.getKey().equals("parameters")) {
                    continue;
                }
                out.add(new Route(op.getKey().toUpperCase(java.util.Locale.ROOT), p.getKey(), resolve(doc, op.getValue()),
                        resolve(doc, p.getValue().path("parameters"))));
            }
        }
        return out;
    }

    /** The document with every {@code $ref} replaced by what it points at. */
    private static JsonNode resolve(JsonNode doc, JsonNode node) {
        if (node.isObject() && node.has("$ref")) {
            return resolve(doc, doc.at(node.get("$ref").asText().substring(1)));
        }
        if (node.isObject()) {
            var copy = JSON.createObjectNode();
            node.fields().forEachRemaining(e -> copy.set(e.getKey(), resolve(doc, e.getValue())));
            return copy;
        }
        if (node.isArray()) {
            var copy = JSON.createArrayNode();
            node.forEach(n -> copy.add(resolve(doc, n)));
            return copy;
        }
        return node;
    }

    /**
     * A lock or a campaign that waited and was still busy is an outcome, not a refusal: while it
     * waited it was queued, which the event log records (conflicting-lock-request).
     */
    private static boolean waitedAndWasBusy(Answer answer) {
        return answer.status() == 409 && new String(answer.body(), StandardCharsets.UTF_8).contains("/problems/lock-busy");
    }

    /** The status a problem body states, or -1 when the body is not a JSON object (in UTF-8). */
    private static int problemStatus(Answer answer) {
        try {
            return JSON.readTree(answer.body()).path("status").asInt(-1);
        } catch (IOException e) {
            return -1;
        }
    }

    private static String routeOf(String target) {
        String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
        String[] parts = path.split("/");
        return parts.length > 2 ? "/" + parts[1] + "/" + parts[2] : path;
    }

    // ---- what the requests act on -----------------------------------------------------------------

    /** Identities, sessions, nodes, a held lock, an ACL'd directory and an election. */
    static final class Fixtures {
        final Map<String, String> tokens = new LinkedHashMap<>();
        final List<String> sessions = new ArrayList<>();
        final List<String> paths = List.of("fz", "fz/a", "fz/b", "fz/locked", "secret", "secret/plan", "acl/ops", "elections/leader",
                "fz/new", "fz/dir/x", "jobs/nightly");

        Fixtures(Harness h) {
            Api api = h.api;
            tokens.put("admin", Harness.BOOTSTRAP);
            tokens.put("alice", token(api, "alice"));
            tokens.put("bob", token(api, "bob"));
            String[] admin = bearer(Harness.BOOTSTRAP);
            ok(api.call("PUT", "/v1/nodes/acl?type=directory", null, admin));
            ok(api.call("PUT", "/v1/nodes/acl/ops", "alice", admin));
            ok(api.call("PUT", "/v1/nodes/fz?type=directory", null, admin));
            ok(api.call("PUT", "/v1/nodes/fz/a", "alpha", admin));
            ok(api.call("PUT", "/v1/nodes/secret?type=directory", null, admin));
            ok(api.call("PUT", "/v1/nodes/secret/plan", "plan", admin));
            ok(api.call("PUT", "/v1/acls/secret", "{\"read\":\"ops\",\"write\":\"ops\",\"lock\":\"ops\",\"admin\":\"ops\"}", admin));
            for (String who : List.of("alice", "bob")) {
                Api.Reply s = api.call("POST", "/v1/sessions", "{\"ttlMs\":600000,\"owner\":\"" + who + "\"}", bearer(tokens.get(who)));
                ok(s);
                sessions.add(s.json().get("id").asText());
            }
            ok(api.call("POST", "/v1/locks/fz/locked", "{\"session\":\"" + sessions.get(0) + "\"}", bearer(tokens.get("alice"))));
            ok(api.call("POST", "/v1/elections/leader", "{\"session\":\"" + sessions.get(0) + "\",\"value\":\"a\"}", bearer(tokens.get("alice"))));
        }

        /** Opens a new session for alice or bob if theirs is gone (keeps {@link #sessions} two live ids). */
        void reopenClosed(Harness h) {
            for (int i = 0; i < 2; i++) {
                if (h.coordinator.sessions().identityOf(sessions.get(i)).isEmpty()) {
                    String who = i == 0 ? "alice" : "bob";
                    Api.Reply s = h.api.call("POST", "/v1/sessions", "{\"ttlMs\":600000}", bearer(tokens.get(who)));
                    ok(s);
                    sessions.set(i, s.json().get("id").asText());
                }
            }
        }

        private static String token(Api api, String name) {
            Api.Reply r = api.call("POST", "/v1/tokens", "{\"name\":\"" + name + "\"}", bearer(Harness.BOOTSTRAP));
            ok(r);
            return r.json().get("token").asText();
        }

        private static String[] bearer(String token) {
            return new String[] {"Authorization", "Bearer " + token, "Content-Type", "application/json"};
        }

        private static void ok(Api.Reply r) {
            assertThat(r.status()).as(r.body()).isBetween(200, 204);
        }
    }

    // ---- generators -------------------------------------------------------------------------------

    static final class Generators {
        private final Fixtures f;

        Generators(Fixtures f) {
            this.f = f;
        }

        Arbitrary<Request> request(Route route) {
            List<JsonNode> parameters = new ArrayList<>();
            route.pathParameters().forEach(parameters::add);
            route.operation().path("parameters").forEach(parameters::add);
            Arbitrary<String> target = target(route, parameters);
            Arbitrary<Map<String, String>> headers = headers(parameters);
            JsonNode json = route.operation().at("/requestBody/content/application~1json/schema");
            JsonNode octets = route.operation().at("/requestBody/content/application~1octet-stream/schema");
            Arbitrary<byte[]> body = !json.isMissingNode() ? jsonBody(json)
                    : !octets.isMissingNode() ? Arbitraries.frequencyOf(
                            net.jqwik.api.Tuple.of(8, Arbitraries.bytes().array(byte[].class).ofMaxSize(64)),
                            net.jqwik.api.Tuple.of(1, Arbitraries.just(new byte[300 * 1024])),
                            net.jqwik.api.Tuple.of(1, Arbitraries.just(new byte[0])))
                    : Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(9, Arbitraries.just((byte[]) null)),
                            net.jqwik.api.Tuple.of(1, garbageBytes()));
            Arbitrary<Encoding> encoding = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(20, Arbitraries.just(Encoding.LENGTH)),
                    net.jqwik.api.Tuple.of(2, Arbitraries.just(Encoding.CHUNKED)), net.jqwik.api.Tuple.of(1, Arbitraries.just(Encoding.LENGTH_TOO_LONG)),
                    net.jqwik.api.Tuple.of(1, Arbitraries.just(Encoding.LENGTH_TOO_SHORT)), net.jqwik.api.Tuple.of(1, Arbitraries.just(Encoding.NONE)));
            Arbitrary<String> method = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(30, Arbitraries.just(route.method())),
                    net.jqwik.api.Tuple.of(1, Arbitraries.of("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")));
            boolean stream = route.template().equals("/v1/watch");
            return Combinators.combine(method, target, headers, body, encoding)
                    .as((m, t, hd, b, e) -> new Request(m, t, hd, b, b == null ? Encoding.NONE : e, stream || m.equals("HEAD")));
        }

        private Arbitrary<String> target(Route route, List<JsonNode> parameters) {
            Arbitrary<String> path = Arbitraries.just(route.template());
            for (JsonNode p : parameters) {
                if (p.path("in").asText().equals("path")) {
                    String name = p.get("name").asText();
                    Arbitrary<String> value = switch (name) {
                        case "path" -> nodePath();
                        case "id" -> sessionId();
                        // not alice, bob or bootstrap: revoking the fixtures' tokens would leave little to fuzz
                        case "name" -> Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(5, Arbitraries.of("leader", "carol", "nobody", "x")),
                                net.jqwik.api.Tuple.of(2, mutatedText()));
                        default -> mutatedText();
                    };
                    path = Combinators.combine(path, value).as((t, v) -> t.replace("{" + name + "}", name.equals("path") ? v : encode(v)));
                }
            }
            List<Arbitrary<String>> queries = new ArrayList<>();
            for (JsonNode p : parameters) {
                if (p.path("in").asText().equals("query")) {
                    String name = p.get("name").asText();
                    Arbitrary<String> value = queryValue(name, p.path("schema"));
                    Arbitrary<String> pair = value.map(v -> v.isEmpty() && p.path("allowEmptyValue").asBoolean() ? name : name + "=" + encode(v));
                    int keep = p.path("required").asBoolean() ? 9 : 4;
                    queries.add(Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(keep, pair), net.jqwik.api.Tuple.of(3, Arbitraries.just(""))));
                }
            }
            queries.add(Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(12, Arbitraries.just("")),
                    net.jqwik.api.Tuple.of(1, Arbitraries.of("unknown=1", "%zz", "a=%", "limit=-1", "after=%00", "&&&", "=x"))));
            Arbitrary<String> query = Combinators.combine(queries).as(parts -> String.join("&", parts.stream().filter(s -> !s.isEmpty()).toList()));
            return Combinators.combine(path, query).as((p, q) -> q.isEmpty() ? p : p + "?" + q);
        }

        private Arbitrary<String> nodePath() {
            Arbitrary<String> known = Arbitraries.of(f.paths);
            Arbitrary<String> made = Arbitraries.strings().withChars("abcxyz019._-").ofMinLength(1).ofMaxLength(8).list().ofMinSize(1).ofMaxSize(4)
                    .map(parts -> String.join("/", parts));
            Arbitrary<String> bad = Arbitraries.of("%", "%zz", "a//b", "..", "a/../b", ".", "a%2Fb", "%00", "a b", "é", "a/", "%C3%A9",
                    "x".repeat(600), "a;b", "a?b", "%25", "\u0000", "fz/a/", "//", "fz/%2e%2e");
            return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(10, known), net.jqwik.api.Tuple.of(4, made), net.jqwik.api.Tuple.of(3, bad))
                    .map(p -> p.replace(" ", "%20").replace("\u0000", "%00").replace("é", "%C3%A9"));
        }

        private Arbitrary<String> sessionId() {
            return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, Arbitraries.integers().between(0, 1).map(f.sessions::get)),
                    net.jqwik.api.Tuple.of(2, Arbitraries.just(java.util.UUID.randomUUID().toString())), net.jqwik.api.Tuple.of(2, mutatedText()));
        }

        private Arbitrary<String> queryValue(String name, JsonNode schema) {
            if (name.equals("session")) {
                return sessionId();
            }
            if (name.equals("prefix") || name.equals("path")) {
                return nodePath().map(p -> p.startsWith("%") || p.startsWith(".") ? p : "/" + p);
            }
            String type = schema.path("type").asText("string");
            if (type.equals("integer")) {
                long min = schema.has("minimum") ? schema.get("minimum").asLong() : 0;
                long max = schema.has("maximum") ? schema.get("maximum").asLong() : 1_000_000;
                long validMax = name.toLowerCase(java.util.Locale.ROOT).contains("wait") ? Math.min(max, 30) : max;
                return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, Arbitraries.longs().between(min, Math.max(min, validMax)).map(String::valueOf)),
                        net.jqwik.api.Tuple.of(3, Arbitraries.of(String.valueOf(min - 1), String.valueOf(max + 1), "-1", "abc", "", "1.5", "1e3",
                                "99999999999999999999", "0x10", " 5", "+3")));
            }
            if (type.equals("boolean")) {
                return Arbitraries.of("true", "false", "1", "yes", "", "TRUE", "null");
            }
            if (schema.has("enum")) {
                List<String> values = new ArrayList<>();
                schema.get("enum").forEach(v -> values.add(v.asText()));
                return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, Arbitraries.of(values)), net.jqwik.api.Tuple.of(2, mutatedText()));
            }
            return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, Arbitraries.of("", "fz/a", "alice", "0")), net.jqwik.api.Tuple.of(2, mutatedText()));
        }

        private Arbitrary<Map<String, String>> headers(List<JsonNode> parameters) {
            Arbitrary<String> authorization = Arbitraries.frequencyOf(
                    net.jqwik.api.Tuple.of(14, Arbitraries.of(f.tokens.values()).map(t -> "Bearer " + t)),
                    net.jqwik.api.Tuple.of(1, Arbitraries.of("", "Bearer", "Bearer ", "Bearer lk_nothing", "Basic YWxpY2U6eA==", "bearer "
                            + Harness.BOOTSTRAP, "Bearer " + "x".repeat(5000))),
                    net.jqwik.api.Tuple.of(1, Arbitraries.just("-")));
            Arbitrary<String> contentType = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(12, Arbitraries.just("application/json")),
                    net.jqwik.api.Tuple.of(4, Arbitraries.of("-", "text/plain", "application/json; charset=utf-8", "application/x-www-form-urlencoded",
                            "application/merge-patch+json", "*/*", "application/octet-stream", "multipart/form-data; boundary=x", "json", ";;;")));
            Arbitrary<String> ifMatch = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(10, Arbitraries.just("-")),
                    net.jqwik.api.Tuple.of(2, Arbitraries.of("\"1\"", "\"2\"", "1", "*", "\"abc\"", "W/\"1\"", "\"-1\"", "\"99999999999999999999\"")));
            Arbitrary<String> ifNoneMatch = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(12, Arbitraries.just("-")),
                    net.jqwik.api.Tuple.of(1, Arbitraries.of("*", "\"1\"", "")));
            Arbitrary<String> lastEventId = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(10, Arbitraries.just("-")),
                    net.jqwik.api.Tuple.of(1, Arbitraries.of("0", "-5", "abc", "99999999999999999999", "1")));
            Arbitrary<String> host = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(20, Arbitraries.just("127.0.0.1")),
                    net.jqwik.api.Tuple.of(1, Arbitraries.of("evil.example", "", "localhost:1", "[::1]")));
            return Combinators.combine(authorization, contentType, ifMatch, ifNoneMatch, lastEventId, host).as((a, ct, im, inm, le, hs) -> {
                Map<String, String> h = new LinkedHashMap<>();
                h.put("Host", hs);
                putUnlessDash(h, "Authorization", a);
                putUnlessDash(h, "Content-Type", ct);
                putUnlessDash(h, "If-Match", im);
                putUnlessDash(h, "If-None-Match", inm);
                putUnlessDash(h, "Last-Event-ID", le);
                return h;
            });
        }

        private static void putUnlessDash(Map<String, String> h, String name, String value) {
            if (!value.equals("-")) {
                h.put(name, value);
            }
        }

        /** A body from the schema (most of the time), or a mutation of one, or something else entirely. */
        private Arbitrary<byte[]> jsonBody(JsonNode schema) {
            Arbitrary<String> valid = object(schema);
            Arbitrary<String> mutated = valid.flatMap(text -> Arbitraries.of(
                    "null", "[]", "\"text\"", "42", "true", "{}{}", text + "{}", text + " x", text.length() > 2 ? text.substring(0, text.length() / 2) : "{",
                    "{\"a\":1,\"a\":2}", duplicateFirstKey(text), "[".repeat(5000), "{\"x\":" + "[".repeat(3000) + "]".repeat(3000) + "}",
                    text.replace("}", ",}"), text.replace(":", ":\"").replace(",", "\","), "\uFEFF" + text, text.replace("\"", "'"), "",
                    "{\"ttlMs\":1e309}", "{\"session\":null}", "{\"name\":\"\\ud800\"}"));
            return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(12, valid), net.jqwik.api.Tuple.of(5, mutated))
                    .map(s -> s.getBytes(StandardCharsets.UTF_8));
        }

        private static String duplicateFirstKey(String text) {
            int colon = text.indexOf(':');
            if (!text.startsWith("{\"") || colon < 0) {
                return "{\"k\":1,\"k\":1}";
            }
            String key = text.substring(1, colon);
            return "{" + key + ":null," + text.substring(1);
        }

        private Arbitrary<String> object(JsonNode schema) {
            List<Arbitrary<String>> members = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = schema.path("properties").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> p = it.next();
                boolean required = false;
                for (JsonNode r : schema.path("required")) {
                    required |= r.asText().equals(p.getKey());
                }
                Arbitrary<String> member = value(p.getKey(), p.getValue()).map(v -> JSON.valueToTree(p.getKey()).toString() + ":" + v);
                members.add(Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(required ? 12 : 6, member), net.jqwik.api.Tuple.of(required ? 1 : 3,
                        Arbitraries.just(""))));
            }
            members.add(Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(15, Arbitraries.just("")),
                    net.jqwik.api.Tuple.of(1, Arbitraries.of("\"extra\":1", "\"Session\":\"x\"", "\"\":null"))));
            return Combinators.combine(members).as(parts -> "{" + String.join(",", parts.stream().filter(s -> !s.isEmpty()).toList()) + "}");
        }

        private Arbitrary<String> value(String name, JsonNode schema) {
            Arbitrary<String> wrong = Arbitraries.of("null", "\"12000\"", "[]", "{}", "true", "1.5", "-1", "99999999999999999999", "\"\"");
            Arbitrary<String> right;
            switch (name) {
                case "session" -> right = sessionId().map(s -> JSON.valueToTree(s).toString());
                case "sequencer" -> right = Arbitraries.of("/fz/locked:exclusive:1:" + f.sessions.get(0), "/fz/locked:shared:1:x", "garbage", "::::",
                        "/fz/locked:exclusive:999:" + f.sessions.get(1)).map(s -> JSON.valueToTree(s).toString());
                case "ttlMs" -> right = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, Arbitraries.longs().between(300_000, 600_000)),
                        net.jqwik.api.Tuple.of(2, Arbitraries.of(999L, 600_001L, 0L, -5L))).map(String::valueOf);
                case "waitMs" -> right = Arbitraries.longs().between(0, 30).map(String::valueOf);
                case "lockDelayMs" -> right = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(5, Arbitraries.longs().between(0, 50)),
                        net.jqwik.api.Tuple.of(1, Arbitraries.of(60_001L, -1L))).map(String::valueOf);
                default -> right = plain(schema);
            }
            return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, right), net.jqwik.api.Tuple.of(2, wrong));
        }

        private Arbitrary<String> plain(JsonNode schema) {
            JsonNode type = schema.path("type");
            String t = type.isArray() ? type.get(0).asText() : type.asText("string");
            if (schema.has("enum")) {
                List<String> values = new ArrayList<>();
                schema.get("enum").forEach(v -> values.add(v.toString()));
                values.add("\"EXCLUSIVE\"");
                values.add("\"other\"");
                return Arbitraries.of(values);
            }
            return switch (t) {
                case "integer" -> Arbitraries.longs().between(schema.path("minimum").asLong(0), schema.has("maximum")
                        ? Math.min(schema.get("maximum").asLong(), 100_000) : 100_000).map(String::valueOf);
                case "boolean" -> Arbitraries.of("true", "false");
                default -> {
                    Arbitrary<String> text = schema.has("pattern") && Pattern.compile(schema.get("pattern").asText()).matcher("ops").matches()
                            ? Arbitraries.of("ops", "alice", "bob", "nobody", "ops2", "x.y-z")
                            : Arbitraries.strings().withCharRange('a', 'z').ofMaxLength(12);
                    yield Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, text), net.jqwik.api.Tuple.of(1, mutatedText()))
                            .map(s -> JSON.valueToTree(s).toString());
                }
            };
        }

        private static Arbitrary<String> mutatedText() {
            return Arbitraries.oneOf(Arbitraries.of("", " ", "..", "/", "%", "\\", "'", "\"", "null", "-1", "x".repeat(300), "a\nb", "\u202e", "😀",
                    "%00", "../../etc/passwd", "${jndi:x}", "<script>"), Arbitraries.strings().ofMaxLength(20));
        }

        private static Arbitrary<byte[]> garbageBytes() {
            return Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(100);
        }

        private static String encode(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }
    }

    // ---- the wire -----------------------------------------------------------------------------------

    /** The status given to a request the server closed the connection on while its body was still being sent. */
    static final int CUT_OFF = 499;

    record Answer(int status, String contentType, byte[] body) {
        String text() {
            return status + " " + contentType + " " + new String(body, 0, Math.min(body.length, 500), StandardCharsets.UTF_8);
        }
    }

    static Answer send(int port, Request r) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            String target = r.target().replace(" ", "%20");
            head.writeBytes((r.method() + " " + target + " HTTP/1.1\r\n").getBytes(StandardCharsets.ISO_8859_1));
            r.headers().forEach((k, v) -> head.writeBytes((k + ": " + v + "\r\n").getBytes(StandardCharsets.UTF_8)));
            head.writeBytes("Connection: close\r\n".getBytes(StandardCharsets.ISO_8859_1));
            byte[] body = r.body();
            switch (r.encoding()) {
                case LENGTH -> head.writeBytes(("Content-Length: " + body.length + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                case LENGTH_TOO_LONG -> head.writeBytes(("Content-Length: " + (body.length + 10) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                case LENGTH_TOO_SHORT -> head.writeBytes(("Content-Length: " + body.length / 2 + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                case CHUNKED -> head.writeBytes("Transfer-Encoding: chunked\r\n".getBytes(StandardCharsets.ISO_8859_1));
                case NONE -> { }
            }
            head.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            try {
                OutputStream out = s.getOutputStream();
                out.write(head.toByteArray());
                if (body != null) {
                    if (r.encoding() == Encoding.CHUNKED) {
                        for (int i = 0; i < body.length; i += 7) {
                            int n = Math.min(7, body.length - i);
                            out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                            out.write(body, i, n);
                            out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                        }
                        out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    } else if (r.encoding() != Encoding.NONE) {
                        out.write(body);
                    }
                }
                out.flush();
                s.shutdownOutput(); // a body shorter than its length ends here, not after the idle timeout
            } catch (IOException refusedMidway) {
                // the server answered (413, 415, ...) and closed before the body was all sent: its answer is usually still
                // there to read, unless the close reset the connection (TCP drops what was unread then)
                try {
                    return read(s.getInputStream(), r.stream());
                } catch (IOException | AssertionError reset) {
                    return new Answer(CUT_OFF, "", new byte[0]);
                }
            }
            return read(s.getInputStream(), r.stream());
        }
    }

    /** Reads the status line, headers and (unless a stream) the body of a response that ends with the connection. */
    private static Answer read(InputStream in, boolean stream) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        int headEnd = -1;
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                all.write(buffer, 0, n);
                byte[] so = all.toByteArray();
                if (headEnd < 0) {
                    headEnd = indexOf(so, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                }
                if (headEnd >= 0 && stream) {
                    break;
                }
            }
        } catch (SocketTimeoutException e) {
            if (headEnd < 0) {
                throw e;
            }
        }
        byte[] bytes = all.toByteArray();
        if (headEnd < 0) {
            headEnd = indexOf(bytes, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        }
        assertThat(headEnd).as("a complete response head: %s", new String(bytes, StandardCharsets.ISO_8859_1)).isGreaterThan(0);
        String[] lines = new String(bytes, 0, headEnd, StandardCharsets.ISO_8859_1).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        String contentType = "";
        boolean chunked = false;
        for (String line : lines) {
            String lower = line.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("content-type:")) {
                contentType = line.substring(13).trim();
            }
            chunked |= lower.startsWith("transfer-encoding:") && lower.contains("chunked");
        }
        byte[] body = java.util.Arrays.copyOfRange(bytes, headEnd + 4, bytes.length);
        return new Answer(status, contentType, chunked && !stream ? dechunk(body) : body);
    }

    private static byte[] dechunk(byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < body.length) {
            int eol = indexOf(java.util.Arrays.copyOfRange(body, i, body.length), "\r\n".getBytes(StandardCharsets.ISO_8859_1));
            if (eol < 0) {
                break;
            }
            int size = Integer.parseInt(new String(body, i, eol, StandardCharsets.ISO_8859_1).split(";")[0].trim(), 16);
            if (size == 0) {
                break;
            }
            out.write(body, i + eol + 2, Math.min(size, body.length - i - eol - 2));
            i += eol + 2 + size + 2;
        }
        return out.toByteArray();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    // ---- the store's state ---------------------------------------------------------------------------

    private static final String[] STATE = {
        "SELECT \"value\" FROM \"lk_cell\" WHERE \"name\" = 'revision'",
        "SELECT \"id\", \"expires_ms\", \"ttl_ms\", \"identity\" FROM \"lk_session\" ORDER BY \"id\"",
        "SELECT \"name\", \"token_hash\", \"is_admin\" FROM \"lk_token\" ORDER BY \"name\"",
        "SELECT \"path\", \"is_dir\", \"content_gen\", \"lock_gen\", \"acl_gen\", \"checksum\", \"ephemeral_session\", \"lock_delay_until_ms\" "
                + "FROM \"lk_node\" ORDER BY \"path\"",
        "SELECT \"path\", \"session_id\", \"mode\", \"generation\" FROM \"lk_lock_holder\" ORDER BY \"path\", \"session_id\"",
        "SELECT \"path\", \"session_id\", \"mode\" FROM \"lk_lock_waiter\" ORDER BY \"id\"",
        "SELECT \"path\", \"acl_read\", \"acl_write\", \"acl_lock\", \"acl_admin\", \"generation\" FROM \"lk_acl\" ORDER BY \"path\"",
    };

    static String digest(Connection c) throws Exception {
        StringBuilder out = new StringBuilder();
        try (Statement s = c.createStatement()) {
            for (String sql : STATE) {
                String query = c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT).contains("maria")
                        || c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT).contains("mysql") ? sql.replace('"', '`') : sql;
                try (ResultSet r = s.executeQuery(query)) {
                    int columns = r.getMetaData().getColumnCount();
                    while (r.next()) {
                        for (int i = 1; i <= columns; i++) {
                            out.append(r.getString(i)).append('|');
                        }
                        out.append('\n');
                    }
                }
                out.append("--\n");
            }
        }
        return out.toString();
    }
}
