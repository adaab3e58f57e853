package dev.latchkey.shop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.RandomGenerator;
import net.jqwik.api.Tuple;
import net.jqwik.api.sessions.JqwikSession;

/**
 * The shop's JSON endpoints under generated and mutated requests (the coordinator's fuzzer has the
 * same shape): no 5xx, every refusal a problem+json, and a refusal starts no arena run and changes
 * no setting. {@code -Dfuzz.seed=} repeats a run, {@code -Dfuzz.requests=} sets its length.
 */
class ShopFuzzTest {

    private static final int REQUESTS = Integer.getInteger("fuzz.requests", 10_000);
    private static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

    record Request(String method, String path, String contentType, String body) {
    }

    @DatabaseTest
    void theArenaApiAnswersGeneratedAndMutatedRequestsWithoutA5xxAndARefusalStartsNothing(TestDatabase db) throws Exception {
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("ShopFuzzTest on " + db.database() + ": seed " + seed);
        JqwikSession.start(Long.toString(seed));
        try (ShopApp app = new ShopApp(new ShopApp.Config("127.0.0.1", 0, db.jdbcUrl(), db.user(), db.password(), List.of(), "shop-fuzz",
                Duration.ofHours(1), Duration.ofSeconds(5)))) {
            RandomGenerator<Request> generator = requests().generator(1000);
            Random random = new Random(seed);
            Map<Integer, Integer> statuses = new TreeMap<>();
            String settings = app.settings().toString();
            for (int i = 0; i < REQUESTS; i++) {
                Request r = generator.next(random).value();
                int runsBefore = app.arenaRuns();
                HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(app.url() + r.path())).timeout(Duration.ofSeconds(30));
                if (r.contentType() != null) {
                    b.header("Content-Type", r.contentType());
                }
                b.method(r.method(), r.body() == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(r.body(), StandardCharsets.UTF_8));
                HttpResponse<String> answer = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
                statuses.merge(answer.statusCode(), 1, Integer::sum);
                String shown = "request " + i + ": " + r + "\n answered: " + answer.statusCode() + " " + answer.body();
                assertThat(answer.statusCode()).as(shown).isBetween(200, 499);
                if (answer.statusCode() >= 400) {
                    if (answer.statusCode() != 404 && answer.statusCode() != 405) { // Javalin's own "no such route" pages are plain
                        assertThat(answer.headers().firstValue("Content-Type").orElse("")).as(shown).startsWith("application/problem+json");
                    }
                    assertThat(app.arenaRuns()).as("a refusal started an arena run: " + shown).isEqualTo(runsBefore);
                }
                assertThat(app.settings().toString()).as("nothing here changes the settings: " + shown).isEqualTo(settings);
            }
            System.out.println("ShopFuzzTest on " + db.database() + ": " + REQUESTS + " requests, statuses " + statuses);
            assertThat(statuses).containsKeys(200, 202, 400, 404, 415);
        } finally {
            JqwikSession.finish();
        }
    }

    private static Arbitrary<Request> requests() {
        Arbitrary<Request> start = Combinators.combine(contentType(), arenaBody()).as((ct, body) -> new Request("POST", "/api/arena", ct, body));
        Arbitrary<String> id = Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.longs().between(1, 40).map(String::valueOf)),
                Tuple.of(2, Arbitraries.of("0", "-1", "banana", "99999999999999999999", "1.5", "%20", "1e3", "9223372036854775807")));
        Arbitrary<Request> read = Combinators.combine(id, Arbitraries.of("", "/results.csv", "/results.json", "/chart.svg", "/nothing"))
                .as((i, suffix) -> new Request("GET", "/api/arena/" + i + suffix, null, null));
        Arbitrary<Request> odd = Arbitraries.of(new Request("PUT", "/api/arena", "application/json", "{}"),
                new Request("DELETE", "/api/arena/1", null, null), new Request("GET", "/api/arena", null, null),
                new Request("POST", "/api/arena/1", "application/json", "{}"));
        return Arbitraries.frequencyOf(Tuple.of(10, start), Tuple.of(8, read), Tuple.of(1, odd));
    }

    private static Arbitrary<String> contentType() {
        return Arbitraries.frequencyOf(Tuple.of(12, Arbitraries.just("application/json")),
                Tuple.of(2, Arbitraries.of("text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-8", "*/*")));
    }

    /** Mostly refusals; the few valid runs are small (a few buyers, a strategy or two, little payment time). */
    private static Arbitrary<String> arenaBody() {
        Arbitrary<String> strategy = Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.of("optimistic", "pessimistic-wait", "pessimistic-nowait",
                "conditional-update", "coordinator-lock")), Tuple.of(2, Arbitraries.of("telepathy", "", "OPTIMISTIC", "1", "null")));
        Arbitrary<String> strategies = strategy.list().ofMinSize(1).ofMaxSize(2).map(l -> "[" + String.join(",",
                l.stream().map(s -> s.equals("null") ? "null" : "\"" + s + "\"").toList()) + "]");
        Arbitrary<String> buyers = Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.integers().between(1, 3).map(String::valueOf)),
                Tuple.of(2, Arbitraries.of("0", "-1", "10001", "\"4\"", "2.5", "null", "99999999999")));
        Arbitrary<String> payments = Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.longs().between(0, 3).list().ofMinSize(1).ofMaxSize(2)
                .map(l -> l.toString().replace(" ", ""))), Tuple.of(2, Arbitraries.of("[-1]", "[10001]", "[9223372036854775807]", "5", "[\"5\"]",
                "[null]", "[]")));
        Arbitrary<String> impls = Arbitraries.of("[\"jdbc\"]", "[\"jdbc\"]", "[\"teleport\"]", "[]", "\"jdbc\"", "[1]");
        Arbitrary<String> valid = Combinators.combine(strategies, buyers, payments, impls)
                .as((s, b, p, im) -> "{\"strategies\":" + s + ",\"buyers\":" + b + ",\"stock\":1,\"paymentMs\":" + p + ",\"impls\":" + im + "}");
        Arbitrary<String> mutated = valid.flatMap(v -> Arbitraries.of("null", "[]", "{}{}", v + "x", v.substring(0, v.length() / 2),
                "{\"buyers\":1,\"buyers\":2}", "[".repeat(5000), "{\"colour\":\"red\"}", "", "\"text\"", v.replace("\"buyers\"", "\"buyers \""),
                "{\"strategies\":[\"optimistic\"],\"stock\":0,\"buyers\":1}", "{\"x\":\"" + "y".repeat(20_000) + "\"}"));
        return Arbitraries.frequencyOf(Tuple.of(1, valid), Tuple.of(12, mutated));
    }
}
