package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.LatchkeyException;
import dev.latchkey.client.Lease;
import dev.latchkey.client.Session;
import dev.latchkey.coordinator.Main;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Nobody acts for a session they do not own: bearer tokens, session ownership, token administration. */
class SecurityTest {

    private static String[] bearer(String token) {
        return new String[] {"Authorization", "Bearer " + token, "Content-Type", "application/json"};
    }

    private static String token(Api api, String name, boolean admin) {
        Api.Reply r = api.call("POST", "/v1/tokens", "{\"name\":\"" + name + "\",\"admin\":" + admin + "}", bearer(Harness.BOOTSTRAP));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json().get("token").asText();
    }

    private static void assertProblem(Api.Reply r, int status, String type) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.json().get("type").asText()).isEqualTo("https://latchkey.dev/problems/" + type);
    }

    @DatabaseTest
    void aSecondIdentityIsRefusedEveryActAgainstASessionItDoesNotOwn(TestDatabase db) throws Exception {
        try (Harness h = Harness.withTokens(db); HttpClient http = HttpClient.newHttpClient()) {
            Api api = h.api;
            String alice = token(api, "alice", false);
            String bob = token(api, "bob", false);

            Api.Reply opened = api.call("POST", "/v1/sessions", "{\"ttlMs\":20000,\"owner\":\"payroll\"}", bearer(alice));
            assertThat(opened.status()).as(opened.body()).isEqualTo(201);
            String session = opened.json().get("id").asText();
            assertThat(api.call("POST", "/v1/locks/jobs/payroll", "{\"session\":\"" + session + "\"}", bearer(alice)).status()).isEqualTo(200);
            assertThat(api.call("PUT", "/v1/nodes/eph?ephemeral=true&session=" + session, "mine", bearer(alice)).status()).isEqualTo(201);
            assertThat(api.call("POST", "/v1/elections/leader", "{\"session\":\"" + session + "\",\"value\":\"alice\"}", bearer(alice))
                    .status()).isEqualTo(200);
            long revision = h.coordinator.events().currentRevision();

            // bob knows alice's session id (listings, events and sequencers show it) and tries everything with it
            assertProblem(api.call("POST", "/v1/sessions/" + session + "/keepalive", null, bearer(bob)), 403, "forbidden");
            assertProblem(api.call("DELETE", "/v1/sessions/" + session, null, bearer(bob)), 403, "forbidden");
            assertProblem(api.call("POST", "/v1/locks/jobs/other", "{\"session\":\"" + session + "\"}", bearer(bob)), 403, "forbidden");
            assertProblem(api.call("DELETE", "/v1/locks/jobs/payroll?session=" + session, null, bearer(bob)), 403, "forbidden");
            assertProblem(api.call("PUT", "/v1/nodes/bob?ephemeral=true&session=" + session, "x", bearer(bob)), 403, "forbidden");
            assertProblem(api.call("POST", "/v1/elections/leader", "{\"session\":\"" + session + "\",\"value\":\"bob\"}", bearer(bob)),
                    403, "forbidden");
            assertProblem(api.call("DELETE", "/v1/elections/leader?session=" + session, null, bearer(bob)), 403, "forbidden");
            CompletableFuture<Integer> closed = new CompletableFuture<>();
            String ws = api.base.replaceFirst("^http", "ws") + "/v1/sessions/" + session + "/channel";
            http.newWebSocketBuilder().header("Authorization", "Bearer " + bob).buildAsync(URI.create(ws), Api.closer(closed))
                    .get(5, TimeUnit.SECONDS);
            assertThat(closed.get(5, TimeUnit.SECONDS)).isEqualTo(SessionChannel.CLOSE_FORBIDDEN);

            assertThat(h.coordinator.events().currentRevision()).as("no refused act wrote anything").isEqualTo(revision);
            assertThat(h.coordinator.locks().holders("/jobs/payroll")).extracting(g -> g.session()).containsExactly(session);
            assertThat(h.coordinator.elections().leader("leader").orElseThrow().value()).isEqualTo("alice");

            // the owner may; an admin may end anyone's session
            assertThat(api.call("POST", "/v1/sessions/" + session + "/keepalive", null, bearer(alice)).status()).isEqualTo(200);
            assertThat(api.call("DELETE", "/v1/sessions/" + session, null, bearer(Harness.BOOTSTRAP)).status()).isEqualTo(204);
            assertThat(h.coordinator.locks().holders("/jobs/payroll")).isEmpty();
        }
    }

    @DatabaseTest
    void withoutAValidTokenNothingButTheHealthCheckAnswersAndTokensAreForAdminsToManage(TestDatabase db) {
        try (Harness h = Harness.withTokens(db)) {
            Api api = h.api;
            assertThat(api.call("GET", "/v1/health", null).status()).isEqualTo(200);
            assertProblem(api.call("GET", "/v1/sessions", null), 401, "unauthenticated");
            assertProblem(api.call("GET", "/v1/sessions", null, "Authorization", "Bearer lk_made_up"), 401, "unauthenticated");
            assertProblem(api.call("POST", "/v1/sessions", "{\"ttlMs\":10000}"), 401, "unauthenticated");

            String carol = token(api, "carol", false);
            assertThat(api.call("GET", "/v1/sessions", null, bearer(carol)).status()).isEqualTo(200);
            assertProblem(api.call("POST", "/v1/tokens", "{\"name\":\"mallory\",\"admin\":true}", bearer(carol)), 403, "forbidden");
            assertProblem(api.call("GET", "/v1/tokens", null, bearer(carol)), 403, "forbidden");
            assertProblem(api.call("POST", "/v1/tokens", "{\"name\":\"carol\"}", bearer(Harness.BOOTSTRAP)), 400, "bad-request");
            assertProblem(api.call("POST", "/v1/tokens", "{\"name\":\"no spaces\"}", bearer(Harness.BOOTSTRAP)), 400, "bad-request");

            Api.Reply list = api.call("GET", "/v1/tokens", null, bearer(Harness.BOOTSTRAP));
            assertThat(list.body()).contains("\"bootstrap\"", "\"carol\"").doesNotContain(carol);
            assertThat(api.call("DELETE", "/v1/tokens/carol", null, bearer(Harness.BOOTSTRAP)).status()).isEqualTo(204);
            assertProblem(api.call("GET", "/v1/sessions", null, bearer(carol)), 401, "unauthenticated");
            assertProblem(api.call("DELETE", "/v1/tokens/carol", null, bearer(Harness.BOOTSTRAP)), 404, "node-not-found");
        }
    }

    @DatabaseTest(only = Database.H2)
    void theJavaClientCarriesItsTokenOverHttpAndTheChannel(TestDatabase db) {
        try (Harness h = Harness.withTokens(db)) {
            String dave = token(h.api, "dave", false);
            try (LatchkeyClient anonymous = LatchkeyClient.connect(h.api.base)) {
                assertThatThrownBy(() -> anonymous.openSession(Session.Options.defaults())).isInstanceOf(LatchkeyException.class)
                        .satisfies(e -> assertThat(((LatchkeyException) e).status()).isEqualTo(401));
            }
            try (LatchkeyClient plain = LatchkeyClient.connect(h.api.base); LatchkeyClient client = plain.withToken(dave);
                    Session session = client.openSession(Session.Options.defaults())) {
                try (Lease lease = session.acquire("/dave/lock", Duration.ofSeconds(5))) {
                    assertThat(session.usesChannel()).as("the channel accepted the token").isTrue();
                    assertThat(lease.sequencer().session()).isEqualTo(session.id());
                }
            }
        }
    }

    @DatabaseTest
    void perIdentityCapsAnswer429WithRetryAfterAndLeaveOtherIdentitiesAlone(TestDatabase db) throws Exception {
        try (Harness h = Harness.withLimits(db, new Limits(3, 2, 40))) {
            Api api = h.api;
            String erin = token(api, "erin", false);
            String frank = token(api, "frank", false);
            for (int i = 0; i < 3; i++) {
                assertThat(api.call("POST", "/v1/sessions", "{\"ttlMs\":10000}", bearer(erin)).status()).isEqualTo(201);
            }
            Api.Reply fourth = api.call("POST", "/v1/sessions", "{\"ttlMs\":10000}", bearer(erin));
            assertProblem(fourth, 429, "too-many");
            assertThat(fourth.header("Retry-After")).isNotNull();
            assertThat(api.call("POST", "/v1/sessions", "{\"ttlMs\":10000}", bearer(frank)).status()).as("frank has his own cap").isEqualTo(201);

            // watch streams: two may be open, the third is refused
            try (SseReader one = new SseReader(api.base + "/v1/watch?prefix=/", "Authorization", "Bearer " + erin);
                    SseReader two = new SseReader(api.base + "/v1/watch?prefix=/", "Authorization", "Bearer " + erin)) {
                Api.Reply third = api.call("GET", "/v1/watch?prefix=/", null, "Authorization", "Bearer " + erin);
                assertProblem(third, 429, "too-many");
            }

            // requests per second: a burst past the bucket is refused, and the bucket refills
            int refused = 0;
            for (int i = 0; i < 120; i++) {
                if (api.call("GET", "/v1/sessions", null, bearer(frank)).status() == 429) {
                    refused++;
                }
            }
            assertThat(refused).as("a burst of 120 against 40 per second").isPositive();
            // the bucket refills at 40 a second: within about a second frank is answered again
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(3)).pollInterval(java.time.Duration.ofMillis(100))
                    .until(() -> api.call("GET", "/v1/sessions", null, bearer(frank)).status() == 200);
        }
    }

    /** Session-channel frames count against the identity's request rate, as HTTP calls do. */
    @DatabaseTest(only = Database.H2)
    void channelFramesAreMeteredLikeRequests(TestDatabase db) throws Exception {
        try (Harness h = Harness.withLimits(db, new Limits(100, 10, 20)); HttpClient http = HttpClient.newHttpClient()) {
            String gina = token(h.api, "gina", false);
            String session = h.api.call("POST", "/v1/sessions", "{\"ttlMs\":10000}", bearer(gina)).json().get("id").asText();
            java.util.concurrent.ConcurrentLinkedQueue<String> replies = new java.util.concurrent.ConcurrentLinkedQueue<>();
            java.util.concurrent.CountDownLatch all = new java.util.concurrent.CountDownLatch(60);
            java.net.http.WebSocket socket = http.newWebSocketBuilder().header("Authorization", "Bearer " + gina)
                    .buildAsync(URI.create(h.api.base.replaceFirst("^http", "ws") + "/v1/sessions/" + session + "/channel"),
                            new java.net.http.WebSocket.Listener() {
                                @Override
                                public java.util.concurrent.CompletionStage<?> onText(java.net.http.WebSocket ws, CharSequence data, boolean last) {
                                    replies.add(data.toString());
                                    all.countDown();
                                    ws.request(1);
                                    return null;
                                }
                            }).get(5, TimeUnit.SECONDS);
            for (int i = 1; i <= 60; i++) {
                socket.sendText("{\"id\":" + i + ",\"op\":\"keepalive\"}", true).get(5, TimeUnit.SECONDS);
            }
            assertThat(all.await(20, TimeUnit.SECONDS)).as("every frame was answered").isTrue();
            assertThat(replies).anyMatch(r -> r.contains("\"ok\""));
            assertThat(replies).anyMatch(r -> r.contains("too-many"));
            socket.abort();
        }
    }

    /** DNS rebinding: a page whose name now resolves to 127.0.0.1 still sends its own name as Host. */
    @DatabaseTest(only = Database.H2)
    void withoutAuthenticationOnlyRequestsAddressedToLoopbackAreAnswered(TestDatabase db) {
        try (Harness h = new Harness(db)) {
            assertThat(h.api.call("GET", "/v1/sessions", null).status()).isEqualTo(200);
            Api.Reply rebound = rawWithHost(h.api, "attacker.example:7700");
            assertThat(rebound.status()).as(rebound.body()).isEqualTo(403);
            assertThat(rebound.body()).contains("forbidden", "attacker.example");
            assertThat(rawWithHost(h.api, "localhost:7700").status()).isEqualTo(200);
        }
    }

    private static Api.Reply rawWithHost(Api api, String host) {
        return api.raw("GET /v1/sessions HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
    }

    @org.junit.jupiter.api.Test
    void aPortInUseIsNamedWithTheOptionThatChangesIt(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            StringWriter err = new StringWriter();
            int code = Main.run(new String[] {"serve", "--port", Integer.toString(taken.getLocalPort()), "--data-dir", dir.toString()},
                    new PrintWriter(new StringWriter()), new PrintWriter(err, true));
            assertThat(code).isEqualTo(1);
            assertThat(err.toString()).contains("port " + taken.getLocalPort(), "is in use", "--port");
        }
    }

    @org.junit.jupiter.api.Test
    void servingBeyondLoopbackWithoutAuthenticationIsRefused(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"serve", "--bind", "0.0.0.0", "--port", "0", "--data-dir", dir.toString()},
                new PrintWriter(new StringWriter()), new PrintWriter(err, true));
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("refusing to serve on 0.0.0.0 without authentication", "--insecure");
        Path shortToken = Files.writeString(dir.resolve("token"), "short");
        StringWriter err2 = new StringWriter();
        assertThat(Main.run(new String[] {"serve", "--bootstrap-token-file", shortToken.toString(), "--data-dir", dir.toString()},
                new PrintWriter(new StringWriter()), new PrintWriter(err2, true))).isNotZero();
        assertThat(err2.toString()).contains("shorter than 16 characters");
    }
}
