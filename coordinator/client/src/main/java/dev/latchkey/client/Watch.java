package dev.latchkey.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;

/**
 * A running watch: a background thread follows the coordinator's event stream (Server-Sent Events)
 * from its cursor, so no event is missed or repeated across reconnects or a move to another
 * coordinator. Close it to stop.
 *
 * <p>Starting a watch asks a coordinator for the current revision first: when none can be reached
 * it fails at once, as every other call does, instead of waiting in silence. Once started it rides
 * out coordinators that come and go, resuming from its cursor.
 */
public final class Watch implements AutoCloseable {

    /** Receives events in revision order, on the watch's own thread. */
    @FunctionalInterface
    public interface Listener {
        void onEvent(WatchEvent event);
    }

    private final LatchkeyClient client;
    private final String target;
    private final Listener listener;
    private final Thread thread;
    private final Thread watchdog;
    private volatile boolean running = true;
    private volatile long cursor;

    Watch(LatchkeyClient client, String target, boolean exact, long fromRev, Listener listener) {
        this.client = client;
        this.target = (exact ? "path=" : "prefix=") + LatchkeyClient.encode(target);
        this.listener = listener;
        long now = client.currentRevision(); // throws when no coordinator can be reached
        this.cursor = fromRev < 0 ? now : fromRev;
        this.thread = Thread.ofVirtual().name("latchkey-watch " + target).start(this::loop);
        this.watchdog = Thread.ofVirtual().name("latchkey-watchdog " + target).start(this::watchdog);
    }

    /** The revision of the last event delivered (resume a new watch from here). */
    public long cursor() {
        return cursor;
    }

    private void loop() {
        while (running) {
            try {
                stream();
            } catch (LatchkeyException | java.io.IOException | java.io.UncheckedIOException e) {
                // every coordinator unreachable, or the stream broke: try again shortly from the same cursor
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                System.getLogger(Watch.class.getName()).log(System.Logger.Level.DEBUG, "watch stream failed", e);
            }
            if (running) {
                pause();
            }
        }
    }

    /** The stream in use, closed by {@link #close} or by the watchdog when it falls silent. */
    private volatile java.util.stream.Stream<String> current;
    private volatile long lastLineNanos;
    /** The coordinator says something at least every 2 s on a quiet stream; this much silence means it is gone. */
    private static final long SILENCE_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

    /**
     * Follows the coordinator's Server-Sent Events stream ({@code GET /v1/watch}) from the cursor
     * until it ends: one request for as long as the coordinator serves it, instead of one per batch
     * of events. Every event id (and every progress mark) moves the cursor, so a reconnect, here or
     * at another coordinator, resumes exactly after the last event delivered.
     */
    private void stream() throws java.io.IOException, InterruptedException {
        java.net.http.HttpResponse<java.util.stream.Stream<String>> response = client.openStream("/v1/watch?" + target + "&fromRev=" + cursor);
        try (java.util.stream.Stream<String> lines = response.body()) {
            if (response.statusCode() != 200) {
                throw new LatchkeyException(response.statusCode(), "http-" + response.statusCode(), "the watch stream was refused");
            }
            current = lines;
            lastLineNanos = System.nanoTime();
            if (!running) {
                return;
            }
            String event = null;
            StringBuilder data = new StringBuilder();
            String id = null;
            java.util.Iterator<String> it = lines.iterator();
            while (running && it.hasNext()) {
                String line = it.next();
                lastLineNanos = System.nanoTime();
                if (line.isEmpty()) {
                    if (event != null || !data.isEmpty()) {
                        if (!dispatch(event == null ? "message" : event, data.toString(), id)) {
                            return; // the coordinator reported an error and ends the stream: reconnect
                        }
                    }
                    event = null;
                    data.setLength(0);
                    id = null;
                } else if (!line.startsWith(":")) {
                    int colon = line.indexOf(':');
                    String field = colon < 0 ? line : line.substring(0, colon);
                    String value = colon < 0 ? "" : line.substring(colon + 1).startsWith(" ") ? line.substring(colon + 2) : line.substring(colon + 1);
                    switch (field) {
                        case "event" -> event = value;
                        case "data" -> data.append(data.isEmpty() ? "" : "\n").append(value);
                        case "id" -> id = value;
                        default -> { } // (retry and unknown fields: ignored, as the SSE standard says)
                    }
                }
            }
        } finally {
            current = null;
        }
    }

    /** Handles one SSE event; false when it was an error (the stream ends after it). */
    private boolean dispatch(String kind, String data, String id) {
        JsonNode json;
        try {
            json = LatchkeyClient.JSON.readTree(data);
        } catch (java.io.IOException e) {
            return true; // not ours to understand: skip it
        }
        switch (kind) {
            case "error" -> {
                return false;
            }
            case "progress" -> cursor = Math.max(cursor, json.path("rev").asLong(cursor));
            case "resync" -> {
                long last = json.path("currentRev").asLong();
                deliver(new WatchEvent(last, "/", "resync", null, null));
                cursor = last;
            }
            case "message" -> {
            }
            default -> {
                long rev = id != null ? Long.parseLong(id) : json.path("rev").asLong();
                if (rev <= cursor) {
                    return true; // (already delivered: a stream never repeats one, but a reconnect must not either)
                }
                deliver(new WatchEvent(rev, json.path("path").asText(), json.path("kind").asText(kind),
                        json.hasNonNull("detail") ? json.get("detail").asText() : null,
                        json.hasNonNull("session") ? json.get("session").asText() : null));
                cursor = rev;
            }
        }
        return true;
    }

    private void watchdog() {
        while (running) {
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                return;
            }
            java.util.stream.Stream<String> s = current;
            if (s != null && System.nanoTime() - lastLineNanos > SILENCE_NANOS) {
                s.close(); // the coordinator fell silent (hung, or the network): reconnect, here or elsewhere
            }
        }
    }

    private void deliver(WatchEvent event) {
        try {
            listener.onEvent(event);
        } catch (RuntimeException e) {
            System.getLogger(Watch.class.getName()).log(System.Logger.Level.WARNING, "watch listener failed", e);
        }
    }

    private void pause() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            running = false;
        }
    }

    @Override
    public void close() {
        running = false;
        java.util.stream.Stream<String> s = current;
        if (s != null) {
            s.close();
        }
        thread.interrupt();
        watchdog.interrupt();
    }

}
