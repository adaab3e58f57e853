package dev.latchkey.coordinator.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** A tiny test client for the HTTP API: raw calls, JSON in and out. */
public final class Api {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public final String base;

    Api(String base) {
        this.base = base;
    }

    public record Reply(int status, String body, Map<String, java.util.List<String>> headers) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }

        String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).findFirst()
                    .map(e -> e.getValue().get(0)).orElse(null);
        }
    }

    public Reply call(String method, String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        boolean typed = false;
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
            typed |= headers[i].equalsIgnoreCase("Content-Type");
        }
        if (body != null && method.equals("POST") && !typed) {
            b.header("Content-Type", "application/json");
        }
        try {
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers().map());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public String openSession(long ttlMs) {
        Reply r = call("POST", "/v1/sessions", "{\"ttlMs\":" + ttlMs + ",\"owner\":\"test\"}");
        if (r.status() != 201) {
            throw new AssertionError("open session: " + r);
        }
        return r.json().get("id").asText();
    }

    public Reply keepAlive(String session) {
        return call("POST", "/v1/sessions/" + session + "/keepalive", null);
    }

    public Reply acquire(String path, String session, String mode, long waitMs, long lockDelayMs) {
        return call("POST", "/v1/locks" + path, "{\"session\":\"" + session + "\",\"mode\":\"" + mode + "\",\"waitMs\":" + waitMs
                + ",\"lockDelayMs\":" + lockDelayMs + "}");
    }

    public Reply release(String path, String session) {
        return call("DELETE", "/v1/locks" + path + "?session=" + session, null);
    }

    public Reply put(String path, String content, String... headers) {
        return call("PUT", "/v1/nodes" + path, content, headers);
    }

    public Reply get(String path) {
        return call("GET", "/v1/nodes" + path, null);
    }

    public boolean check(String sequencer) {
        return call("POST", "/v1/sequencers/check", "{\"sequencer\":\"" + sequencer + "\"}").json().get("valid").asBoolean();
    }

    /** Sends a request written out by hand (one the JDK's URI class or HttpClient would refuse to send), and reads the answer. */
    public Reply raw(String requestHead) {
        URI uri = URI.create(base);
        try (java.net.Socket socket = new java.net.Socket(uri.getHost(), uri.getPort())) {
            socket.getOutputStream().write(requestHead.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String response = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            int end = response.indexOf("\r\n\r\n");
            Map<String, java.util.List<String>> headers = new java.util.HashMap<>();
            for (String line : response.substring(0, end).split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    headers.put(line.substring(0, colon), java.util.List.of(line.substring(colon + 1).trim()));
                }
            }
            return new Reply(Integer.parseInt(response.substring(9, 12)), response.substring(end + 4), headers);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A WebSocket listener that completes {@code closed} with the close code the server sends. */
    public static java.net.http.WebSocket.Listener closer(java.util.concurrent.CompletableFuture<Integer> closed) {
        return new java.net.http.WebSocket.Listener() {
            @Override
            public java.util.concurrent.CompletionStage<?> onClose(java.net.http.WebSocket webSocket, int statusCode, String reason) {
                closed.complete(statusCode);
                return null;
            }

            @Override
            public void onError(java.net.http.WebSocket webSocket, Throwable error) {
                closed.completeExceptionally(error);
            }
        };
    }
}
