package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.nio.charset.StandardCharsets;

/** Bad input gets a 4xx problem+json with a stable type, and nothing is stored. */
class BadInputTest {

    private static void assertProblem(Api.Reply r, int status, String type) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.header("Content-Type")).startsWith("application/problem+json");
        assertThat(r.json().get("type").asText()).isEqualTo("https://latchkey.dev/problems/" + type);
        assertThat(r.json().get("detail").asText()).isNotBlank();
    }

    @DatabaseTest
    void badInputIsAProblemAndChangesNothing(TestDatabase db) {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            long before = h.coordinator.events().currentRevision();

            assertProblem(api.put("/bad//path", "x"), 400, "invalid-path");
            assertProblem(api.put("/white%20space", "x"), 400, "invalid-path");
            assertProblem(api.put("/dots/..", "x"), 400, "invalid-path");
            assertProblem(api.put("/" + "a".repeat(600), "x"), 400, "invalid-path");
            assertProblem(api.put("/big", "x".repeat(256 * 1024 + 1)), 413, "content-too-large");
            assertProblem(api.put("/no/parent", "x"), 404, "node-not-found");
            assertProblem(api.call("POST", "/v1/sessions", "{\"ttlMs\": 10"), 400, "bad-json");
            assertProblem(api.call("POST", "/v1/sessions", "{\"ttlMs\": 10000, \"colour\": \"red\"}"), 400, "bad-json");
            assertProblem(api.call("POST", "/v1/sessions", "{\"ttlMs\": 5}"), 400, "ttl-out-of-range");
            // strict JSON: null, trailing data, duplicate keys and coerced types are refused, not guessed at
            assertProblem(api.call("POST", "/v1/sessions", "null"), 400, "bad-json");
            assertProblem(api.call("POST", "/v1/locks/l", "null"), 400, "bad-json");
            assertProblem(api.call("POST", "/v1/sequencers/check", "null"), 400, "bad-json");
            assertProblem(api.call("POST", "/v1/elections/e", "null"), 400, "bad-json");
            assertProblem(api.call("POST", "/v1/sessions", "{}{}"), 400, "bad-json");
            assertProblem(api.call("POST", "/v1/sessions", "{\"ttlMs\": 10000, \"ttlMs\": 20000}"), 400, "bad-json");
            assertProblem(api.call("POST", "/v1/sessions", "{\"ttlMs\": \"12000\"}"), 400, "bad-json");
            assertProblem(api.put("/perm?ephemeral=1&session=x", "x"), 400, "bad-request");
            // a cross-site form or text/plain POST (sent by browsers without asking) is not JSON
            assertProblem(api.call("POST", "/v1/sessions", "{\"ttlMs\": 10000}", "Content-Type", "text/plain"), 415, "unsupported-media-type");
            assertProblem(api.call("POST", "/v1/sessions", "ttlMs=10000", "Content-Type", "application/x-www-form-urlencoded"), 415,
                    "unsupported-media-type");
            assertProblem(rawGet(api, "/v1/nodes/%?children"), 400, "bad-request");
            assertProblem(api.call("POST", "/v1/sessions", "{\"ttlMs\": 86400000}"), 400, "ttl-out-of-range");
            assertProblem(api.keepAlive("no-such-session"), 404, "session-not-found");
            assertProblem(api.acquire("/l", "no-such-session", "exclusive", 0, 0), 404, "session-not-found");
            assertProblem(api.put("/eph?ephemeral=true&session=nobody", "x"), 404, "session-not-found");
            String session = api.openSession(10_000);
            assertProblem(api.acquire("/l", session, "sideways", 0, 0), 400, "bad-request");
            assertProblem(api.acquire("/l", session, "exclusive", 0, 61_000), 400, "lock-delay-out-of-range");
            assertProblem(api.call("POST", "/v1/sequencers/check", "{\"sequencer\":\"nonsense\"}"), 400, "bad-request");
            assertProblem(api.put("/x", "x", "If-Match", "\"banana\""), 400, "bad-request");
            assertProblem(api.release("/l", session), 409, "not-lock-holder");

            assertThat(h.coordinator.events().currentRevision()).as("no event was written").isEqualTo(before);
            assertThat(api.call("GET", "/v1/nodes?children", null).json().get("children")).isEmpty();
        }
    }

    /**
     * A chunked body with no Content-Length that would go on for 400 MiB: the coordinator answers 413
     * after reading its limit, without reading (or keeping) the rest, and nothing is stored.
     */
    @DatabaseTest(only = dev.latchkey.testing.Database.H2)
    void aChunkedBodyPastTheLimitIsRefusedWhileStreaming(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            ChunkedPut put = chunkedPut(URI.create(h.api.base), true);
            String response = put.response();
            long sent = put.sent();
            assertThat(response).startsWith("HTTP/1.1 413");
            // The answer came while the body was still being sent. (Jetty may drain what the client keeps
            // sending after the 413, at loopback speed: how much the client got out first is not ours to bound.)
            assertThat(sent).as("the 413 came before the 400 MiB body ended").isLessThan(400L * 1024 * 1024);
            assertThat(h.api.get("/huge").status()).isEqualTo(404);
        }
    }

    /**
     * The same against a coordinator process with a 256 MB heap that exits on running out of memory:
     * the whole 400 MiB is pushed at it, it answers 413, and afterwards it is alive and its heap is
     * within the limit (by its own metrics).
     */
    @DatabaseTest
    void aChunked400MiBBodyOnA256MbHeapGets413AndTheProcessStaysWithinItsHeap(TestDatabase db) throws Exception {
        try (CoordinatorProcess p = new CoordinatorProcess(List.of("-Xmx256m", "-XX:+ExitOnOutOfMemoryError"),
                List.of("--db-url", db.jdbcUrl(), "--db-user", db.user(), "--db-password", db.password()))) {
            ChunkedPut put = chunkedPut(URI.create(p.api.base), false);
            String response = put.response();
            long sent = put.sent();
            assertThat(response).as("sent %d bytes", sent).startsWith("HTTP/1.1 413");
            Api.Reply health = p.api.call("GET", "/v1/health", null);
            assertThat(health.status()).as("the process is alive: %s", p.output).isEqualTo(200);
            assertThat(p.api.get("/huge").status()).isEqualTo(404);
            String metrics = p.api.call("GET", "/metrics", null).body();
            double heap = metrics.lines().filter(l -> l.startsWith("jvm_memory_used_bytes{area=\"heap\""))
                    .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
            assertThat(heap).as("heap in use after the body").isPositive().isLessThan(256.0 * 1024 * 1024);
            assertThat(p.output.toString()).doesNotContain("OutOfMemoryError");
        }
    }

    /** What a chunked 400 MiB PUT got out and got back. */
    record ChunkedPut(long sent, String response) {
    }

    /**
     * PUTs a chunked body of 400 MiB at /v1/nodes/huge; with {@code stopOnAnswer} it stops sending
     * once an answer arrives, else it sends the whole of it whatever comes back (until the server
     * stops reading).
     */
    private static ChunkedPut chunkedPut(URI base, boolean stopOnAnswer) throws IOException {
        long sent = 0;
        try (Socket socket = new Socket(base.getHost(), base.getPort())) {
            socket.setSoTimeout(60_000);
            var out = socket.getOutputStream();
            var in = socket.getInputStream();
            out.write(("PUT /v1/nodes/huge HTTP/1.1\r\nHost: " + base.getHost() + "\r\nTransfer-Encoding: chunked\r\n"
                    + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[256 * 1024];
            byte[] head = (Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            try {
                while (sent < 400L * 1024 * 1024 && !(stopOnAnswer && in.available() > 0)) {
                    out.write(head);
                    out.write(chunk);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                    sent += chunk.length;
                }
                if (sent >= 400L * 1024 * 1024) {
                    out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                }
            } catch (IOException closedByTheServer) {
                // the server answered and stopped reading
            }
            return new ChunkedPut(sent, new String(in.readNBytes(4096), StandardCharsets.UTF_8));
        }
    }

    /** A request line the JDK's URI class would refuse to build, sent as bytes. */
    private static Api.Reply rawGet(Api api, String target) {
        return api.raw("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    }

    @DatabaseTest
    void filesHonourGenerationsAndDirectoriesTheirChildren(TestDatabase db) {
        try (Harness h = new Harness(db)) {
            Api api = h.api;
            Api.Reply dir = api.put("/cfg?type=directory", null);
            assertThat(dir.status()).as(dir.body()).isEqualTo(201);
            Api.Reply created = api.put("/cfg/banner", "hello", "If-None-Match", "*");
            assertThat(created.status()).as(created.body()).isEqualTo(201);
            assertThat(created.header("ETag")).isEqualTo("\"1\"");
            assertProblem(api.put("/cfg/banner", "again", "If-None-Match", "*"), 412, "precondition-failed");
            assertThat(api.put("/cfg/banner", "world", "If-Match", "\"1\"").status()).isEqualTo(200);
            assertProblem(api.put("/cfg/banner", "stale", "If-Match", "\"1\""), 412, "precondition-failed");
            Api.Reply read = api.get("/cfg/banner");
            assertThat(read.body()).isEqualTo("world");
            assertThat(read.header("ETag")).isEqualTo("\"2\"");
            assertThat(api.get("/cfg/banner?stat").json().get("contentGeneration").asLong()).isEqualTo(2);
            assertThat(api.call("GET", "/v1/nodes/cfg?children", null).json().get("children").get(0).get("path").asText())
                    .isEqualTo("/cfg/banner");
            assertProblem(api.call("DELETE", "/v1/nodes/cfg", null), 409, "has-children");
            assertProblem(api.call("DELETE", "/v1/nodes/cfg/banner", null, "If-Match", "\"1\""), 412, "precondition-failed");
            assertThat(api.call("DELETE", "/v1/nodes/cfg/banner", null, "If-Match", "\"2\"").status()).isEqualTo(204);
            assertThat(api.call("DELETE", "/v1/nodes/cfg", null).status()).isEqualTo(204);
            assertProblem(api.get("/cfg"), 404, "node-not-found");
        }
    }
}
