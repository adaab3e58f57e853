package dev.latchkey.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A session's channel to a coordinator: one WebSocket carrying pipelined requests, each with an id,
 * answered as they complete (frames in docs/api.md). Any number of threads may call at once.
 *
 * <p>When the connection fails, every call in flight fails with {@link Closed} and the session
 * repeats it over HTTP: each operation the channel carries (acquire, release, keep-alive) is safe
 * to repeat, since an acquire by the holder returns its grant and a release of a lock no longer
 * held is reported as such.
 */
final class Channel implements WebSocket.Listener {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The channel is closed (or could not deliver a request): the call should go over HTTP. */
    static final class Closed extends Exception {
        Closed(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }

    private final ConcurrentHashMap<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    /** Running watches, by watch id: each gets its frames, then null when the channel closes. */
    private final ConcurrentHashMap<Long, java.util.function.Consumer<JsonNode>> watches = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final StringBuilder partial = new StringBuilder();
    private final Object sending = new Object();
    private volatile WebSocket socket;
    private volatile boolean closed;

    private Channel() {
    }

    /** Connects a channel for {@code session} to the coordinator at {@code base} (http://…), within {@code timeout}. */
    static Channel open(HttpClient http, URI base, String session, Duration timeout, String authorization) throws Closed {
        Channel channel = new Channel();
        URI uri = URI.create(base.toString().replaceFirst("^http", "ws") + "/v1/sessions/" + session + "/channel");
        WebSocket.Builder builder = http.newWebSocketBuilder().connectTimeout(timeout);
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        CompletableFuture<WebSocket> connecting = builder.buildAsync(uri, channel);
        try {
            channel.socket = connecting.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException | InterruptedException e) {
            // a connection that completes after we gave up must not stay open: nobody would close it,
            // and the HttpClient would wait for it on close
            connecting.whenComplete((late, failure) -> {
                if (late != null) {
                    late.abort();
                }
            });
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new Closed("no channel to " + base + ": " + (e.getCause() != null ? e.getCause() : e), e);
        }
        return channel;
    }

    boolean isOpen() {
        return !closed;
    }

    /**
     * Sends one request and waits for its answer, at most {@code timeout}. A refusal is thrown as
     * the {@link LatchkeyException} the HTTP route would give; a failed connection (or no answer in
     * time) as {@link Closed}, after which the channel is closed.
     */
    JsonNode call(String op, Map<String, Object> args, Duration timeout) throws Closed {
        return call(op, args, timeout, null);
    }

    /**
     * Starts a watch ({@code args}: prefix or path, fromRev): its frames ({@code {"watch": id, "event"
     * | "progress" | "ping" | "resync" | "problem": …}}) go to {@code frames} in the order they
     * arrive, on the channel's reading thread, and a {@code null} follows when the channel closes.
     * Returns the watch's id; a refusal is thrown as over HTTP.
     */
    long watch(Map<String, Object> args, java.util.function.Consumer<JsonNode> frames, Duration timeout) throws Closed {
        return call("watch", args, timeout, frames).path("watch").asLong();
    }

    /** Stops a watch: no frame reaches its consumer after this; the coordinator is told without waiting for its answer. */
    void unwatch(long watch) {
        if (watches.remove(watch) == null || closed) {
            return;
        }
        String frame = frame(ids.incrementAndGet(), "unwatch", Map.of("watch", watch));
        try {
            synchronized (sending) { // (its answer is ignored)
                socket.sendText(frame, true).get(5, TimeUnit.SECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            close("unwatch not sent: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private JsonNode call(String op, Map<String, Object> args, Duration timeout, java.util.function.Consumer<JsonNode> frames) throws Closed {
        if (closed) {
            throw new Closed("the channel is closed", null);
        }
        long id = ids.incrementAndGet();
        String frame = frame(id, op, args);
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        if (frames != null) {
            watches.put(id, frames); // before the request goes out: its first event may follow the answer at once
        }
        boolean started = false;
        try {
            synchronized (sending) { // one send at a time: the JDK's WebSocket refuses overlapping sends
                socket.sendText(frame, true).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            JsonNode reply = answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            JsonNode problem = reply.get("problem");
            if (problem != null) {
                throw refusal(problem);
            }
            started = true;
            return reply.get("ok");
        } catch (ExecutionException | TimeoutException e) {
            close("no answer: " + e);
            throw new Closed("the channel failed: " + (e.getCause() != null ? e.getCause() : e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LatchkeyException("interrupted", e);
        } finally {
            pending.remove(id);
            if (frames != null && !started) {
                watches.remove(id);
            }
        }
    }

    /** A request frame as JSON text: the id, the op, then the arguments (written by the mapper, no tree built first). */
    static String frame(long id, String op, Map<String, Object> args) {
        Map<String, Object> frame = new java.util.LinkedHashMap<>(args.size() + 2);
        frame.put("id", id);
        frame.put("op", op);
        frame.putAll(args);
        try {
            return JSON.writeValueAsString(frame);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("cannot send " + op + " with " + args, e);
        }
    }

    /** A problem object as the exception the HTTP route's answer would give. */
    static LatchkeyException refusal(JsonNode problem) {
        String type = problem.path("type").asText("");
        return new LatchkeyException(problem.path("status").asInt(), type.substring(type.lastIndexOf('/') + 1), problem.path("detail").asText());
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        JsonNode reply = null;
        synchronized (partial) {
            partial.append(data);
            if (last) {
                try {
                    reply = JSON.readTree(partial.toString());
                } catch (IOException e) {
                    reply = null;
                }
                partial.setLength(0);
            }
        }
        if (reply != null && reply.has("watch") && !reply.has("id")) {
            var frames = watches.get(reply.path("watch").asLong());
            if (frames != null) {
                frames.accept(reply);
            }
        } else if (reply != null) {
            CompletableFuture<JsonNode> waiting = pending.get(reply.path("id").asLong());
            if (waiting != null) {
                waiting.complete(reply);
            }
        }
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        failAll(new IOException("the coordinator closed the channel (" + statusCode + " " + reason + ")"));
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        failAll(error);
    }

    private void failAll(Throwable cause) {
        closed = true;
        pending.values().forEach(f -> f.completeExceptionally(cause));
        for (Long watch : java.util.List.copyOf(watches.keySet())) {
            var frames = watches.remove(watch);
            if (frames != null) {
                frames.accept(null);
            }
        }
    }

    /** Closes the channel; calls in flight fail over to HTTP. */
    void close(String why) {
        if (closed) {
            return;
        }
        closed = true;
        WebSocket s = socket;
        if (s != null) {
            s.abort(); // (no close handshake: the session itself stays, and a blocked handshake must not hold the caller)
        }
        failAll(new IOException("channel closed: " + why));
    }
}
