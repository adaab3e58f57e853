package dev.latchkey.shop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.HttpApi;
import dev.latchkey.coordinator.store.StoreConfig;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

class ShopAppTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

    private static ShopApp.Config config(TestDatabase db, List<String> coordinators, String instance, Duration restock) {
        return new ShopApp.Config("127.0.0.1", 0, db.jdbcUrl(), db.user(), db.password(), coordinators, instance, restock, Duration.ofSeconds(5));
    }

    private static HttpResponse<String> get(String url, String cookie) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String url, String contentType, String body, String cookie) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A request to the admin pages with the admin password. */
    private static HttpResponse<String> admin(ShopApp app, String method, String path, String form) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(app.url() + path)).header("Authorization", "Basic "
                + java.util.Base64.getEncoder().encodeToString(("admin:" + app.adminPassword()).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        if (form != null) {
            b.header("Content-Type", "application/x-www-form-urlencoded").method(method, HttpRequest.BodyPublishers.ofString(form));
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @DatabaseTest(only = Database.H2)
    void theAdminPagesNeedThePasswordAndTheirFormsACsrfTokenAndSettingsHaveBounds(TestDatabase db) throws Exception {
        try (ShopApp app = new ShopApp(config(db, List.of(), "shop-admin", Duration.ofHours(1)))) {
            HttpResponse<String> anonymous = get(app.url() + "/admin", null);
            assertThat(anonymous.statusCode()).isEqualTo(401);
            assertThat(anonymous.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Basic"));
            assertThat(post(app.url() + "/admin/settings", "application/x-www-form-urlencoded", "paymentMs=0&banner=x", null).statusCode())
                    .as("a cross-site form post carries no password").isEqualTo(401);

            String page = admin(app, "GET", "/admin", null).body();
            String csrf = page.replaceAll("(?s).*name=\"csrf\" value=\"([^\"]+)\".*", "$1");
            assertThat(csrf).isNotBlank().doesNotContain("<");
            assertThat(admin(app, "POST", "/admin/settings", "paymentMs=10&banner=hi").statusCode()).as("no CSRF token").isEqualTo(403);
            assertThat(admin(app, "POST", "/admin/settings", "csrf=wrong&paymentMs=10&banner=hi").statusCode()).isEqualTo(403);
            HttpResponse<String> huge = admin(app, "POST", "/admin/settings", "csrf=" + csrf + "&paymentMs=9223372036854775807&banner=x");
            assertThat(huge.statusCode()).isEqualTo(400);
            assertThat(huge.body()).contains("between 0 and 10000");
            assertThat(admin(app, "POST", "/admin/settings", "csrf=" + csrf + "&paymentMs=-1&banner=x").statusCode()).isEqualTo(400);
            assertThat(admin(app, "POST", "/admin/settings", "csrf=" + csrf + "&paymentMs=25&banner=Sale").statusCode()).isEqualTo(302);
        }
    }

    @DatabaseTest
    void theCoordinatorLockStrategySellsTheLastItemExactlyOnce(TestDatabase db) throws Exception {
        try (ShopApp app = new ShopApp(config(db, List.of(), "shop-a", Duration.ofHours(1)))) {
            Arena.Result r = new Arena(app.shop()).run(new Arena.Round(Strategy.COORDINATOR_LOCK, 64, 1, Duration.ofMillis(2)), 500);
            assertThat(r.purchased()).isEqualTo(1);
            assertThat(r.ordersInDatabase()).isEqualTo(1);
            assertThat(r.oversold()).isZero();
            assertThat(r.errors()).isZero();
            assertThat(r.purchased() + r.soldOut() + r.busy()).isEqualTo(64);
        }
    }

    @DatabaseTest(only = {Database.POSTGRESQL, Database.H2})
    void aBuyerBuysThroughThePagesAndTheNextIsToldItSoldOut(TestDatabase db) throws Exception {
        try (ShopApp app = new ShopApp(config(db, List.of(), "shop-a", Duration.ofHours(1)))) {
            String base = app.url();
            assertThat(get(base + "/", null).body()).contains("Brass latch key", "Skeleton key");
            assertThat(get(base + "/items/1", null).body()).contains("In stock: 1");
            for (String strategy : List.of("optimistic", "coordinator-lock")) {
                HttpResponse<String> added = post(base + "/basket/add", "application/x-www-form-urlencoded", "itemId=1", null);
                assertThat(added.statusCode()).isEqualTo(302);
                String cookie = added.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
                assertThat(get(base + "/basket", cookie).body()).contains("Brass latch key", "€", "Total", "Pay and buy");
                HttpResponse<String> checkout = post(base + "/checkout", "application/x-www-form-urlencoded", "strategy=" + strategy, cookie);
                String expected = strategy.equals("optimistic") ? "the item is yours" : "has just sold out";
                assertThat(checkout.body()).contains(expected);
            }
            assertThat(get(base + "/items/1", null).body()).contains("In stock: 0");
        }
    }

    @DatabaseTest(only = {Database.POSTGRESQL, Database.H2})
    void theArenaApiRunsRoundsWithProgressAndOffersCsvJsonAndAChart(TestDatabase db) throws Exception {
        try (ShopApp app = new ShopApp(config(db, List.of(), "shop-a", Duration.ofHours(1)))) {
            String base = app.url();
            HttpResponse<String> started = post(base + "/api/arena", "application/json",
                    "{\"strategies\":[\"optimistic\",\"conditional-update\",\"coordinator-lock\"],\"buyers\":16,\"stock\":1,\"paymentMs\":[0,5]}", null);
            assertThat(started.statusCode()).isEqualTo(202);
            long id = ShopApp.JSON.readTree(started.body()).get("id").asLong();
            await().atMost(Duration.ofSeconds(30)).until(() -> ShopApp.JSON.readTree(get(base + "/api/arena/" + id, null).body())
                    .get("status").asText().equals("done"));
            JsonNode job = ShopApp.JSON.readTree(get(base + "/api/arena/" + id, null).body());
            assertThat(job.get("progress").asDouble()).isEqualTo(1.0);
            assertThat(job.get("results")).hasSize(6);
            job.get("results").forEach(r -> {
                assertThat(r.get("purchased").asInt()).isEqualTo(1);
                assertThat(r.get("oversold").asInt()).isZero();
            });
            assertThat(get(base + "/api/arena/" + id + "/results.csv", null).body().lines()).hasSize(7).first().asString().startsWith("strategy,");
            assertThat(get(base + "/api/arena/" + id + "/chart.svg", null).body()).startsWith("<svg").contains("coordinator-lock");
            assertThat(get(base + "/arena", null).body()).contains("arena-form", "progress");
            assertThat(post(base + "/api/arena", "application/json", "{\"strategies\":[\"telepathy\"]}", null).statusCode()).isEqualTo(400);
            HttpResponse<String> missing = get(base + "/api/arena/999999", null);
            assertThat(missing.statusCode()).isEqualTo(404);
            assertThat(missing.body()).contains("no arena run 999999");
            assertThat(get(base + "/api/arena/banana", null).statusCode()).isEqualTo(400);
        }
    }

    /**
     * Two instances share a coordinator: both register in the naming service, only the elected one
     * restocks, the other takes over after it stops, and a settings change reaches both live.
     */
    @DatabaseTest(only = {Database.POSTGRESQL, Database.H2})
    void twoInstancesOneRestocksAndTheOtherTakesOver(TestDatabase db) throws Exception {
        try (Coordinator coordinator = new Coordinator(new StoreConfig(db.jdbcUrl(), db.user(), db.password(), 16), Coordinator.Settings.defaults());
                HttpApi api = new HttpApi(coordinator)) {
            String coordinatorUrl = "http://127.0.0.1:" + api.start("127.0.0.1", 0);
            ShopApp first = new ShopApp(config(db, List.of(coordinatorUrl), "shop-a", Duration.ofMillis(100)));
            try (ShopApp second = new ShopApp(config(db, List.of(coordinatorUrl), "shop-b", Duration.ofMillis(100)))) {
                await().atMost(Duration.ofSeconds(10)).until(() -> first.restockRuns() + second.restockRuns() >= 3);
                assertThat(first.restockLeader() ^ second.restockLeader()).as("exactly one leader").isTrue();
                ShopApp leader = first.restockLeader() ? first : second;
                ShopApp follower = leader == first ? second : first;
                long followerRuns = follower.restockRuns();
                await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> follower.restockRuns() == followerRuns);
                assertThat(follower.restockRuns()).as("the follower never restocks").isEqualTo(followerRuns);
                assertThat(admin(first, "GET", "/admin", null).body()).contains("shop-a at", "shop-b at", "Run by " + leader.instance());

                try (LatchkeyClient client = LatchkeyClient.connect(coordinatorUrl)) {
                    client.write(ShopApp.SETTINGS, "{\"paymentMs\":7,\"banner\":\"Winter sale\"}".getBytes(StandardCharsets.UTF_8), null);
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> first.settings().path("banner").asText().equals("Winter sale")
                        && second.settings().path("banner").asText().equals("Winter sale"));
                assertThat(get(second.url() + "/", null).body()).contains("Winter sale");

                leader.close();
                long before = follower.restockRuns();
                await().atMost(Duration.ofSeconds(5)).until(() -> follower.restockLeader() && follower.restockRuns() > before);
            } finally {
                first.close();
            }
        }
    }
}
