package dev.latchkey.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;

/**
 * A running watch: a background thread follows the coordinator's events from its cursor, so no
 * event is missed or repeated across reconnects or a move to another coordinator. Close it to stop.
 *
 * <p>A watch started from a {@link Session} rides on the session's channel (one WebSocket for the
 * session's locks, keep-alives and watches); when there is none it follows the coordinator's event
 * stream (Server-Sent Events), as a watch started from the client always does, and goes back to
 * the channel when it is open again.
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
    /** The session whose channel carries the watch when it is open; null: the event stream only. */
    private final Session session;
    private final String path;
    private final boolean exact;
    private final String target;
    private final Listener listener;
    private final Thread thread;
    private final Thread watchdog;
    private volatile boolean running = true;
    private volatile long cursor;

    Watch(LatchkeyClient client, String target, boolean exact, long fromRev, Listener listener) {
        this(client, null, target, exact, fromRev, listener);
    }

    Watch(LatchkeyClient client, Session session, String target, boolean exact, long fromRev, Listener listener) {
        this.client = client;
        this.session = session;
        this.path = target;
        this.exact = exact;
        this.target = (exact ? "path=" : "prefix=") + LatchkeyClient.encode(target);
        this.listener = listener;
        long now = client.currentRevision(); // throws when no coordinator can be reached
        this.cursor = fromRev < 0 ? now : fromRev;
        this.thread = Thread.ofVirtual().name("latchkey-watch " + target).start(this::loop);
        this.watchdog = Thread.ofVirtual().name("latchkey-watchdog " + target).start(this::watchdog);
    }

    private volatile boolean onChannel;

    /** Whether the watch follows the session's channel now (else the event stream, or it is between connections). */
    public boolean usesChannel() {
        return onChannel;
    }

    /** The revision of the last event delivered (resume a new watch from here). */
    public long cursor() {
        return cursor;
    }

    private void loop() {
        while (running) {
            try {
                Channel channel = session == null ? null : session.channelForWatch();
                if (channel != null) {
                    followChannel(channel);
                } else {
                    stream();
                }
            } catch (Channel.Closed e) {
                // the channel went away: the event stream meanwhile, or the channel once it is back
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
            endCurrent = lines::close;
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
            endCurrent = null;
        }
    }

    /** What a channel watch's frames queue ends with when the channel closed or the watchdog gave up on it. */
    private static final JsonNode ENDED = LatchkeyClient.JSON.createObjectNode();
    /** Ends the watch's current connection (stream or channel watch), for close and the watchdog. */
    private volatile Runnable endCurrent;

    /**
     * Follows the watch over the session channel from the cursor ({@code op: watch}), until the
     * channel closes, the coordinator ends the watch or the watch is closed. Frames arrive on the
     * channel's reading thread and are handed to this one, so a slow listener holds up only itself.
     */
    private void followChannel(Channel channel) throws Channel.Closed, InterruptedException {
        var frames = new java.util.concurrent.LinkedBlockingQueue<JsonNode>();
        long watch = channel.watch(java.util.Map.of(exact ? "path" : "prefix", path, "fromRev", cursor),
                frame -> frames.add(frame == null ? ENDED : frame), client.requestTimeout());
        endCurrent = () -> frames.add(ENDED);
        lastLineNanos = System.nanoTime();
        onChannel = true;
        try {
            while (running) {
                JsonNode frame = frames.take();
                lastLineNanos = System.nanoTime();
                if (frame == ENDED) {
                    return;
                }
                if (frame.has("problem")) {
                    throw Channel.refusal(frame.get("problem")); // the coordinator ended the watch: again, from the cursor
                }
                if (frame.has("event")) {
                    JsonNode event = frame.get("event");
                    handle(event.path("kind").asText(), event, event.path("rev").asLong());
                } else if (frame.has("progress")) {
                    cursor = Math.max(cursor, frame.path("progress").asLong(cursor));
                } else if (frame.has("resync")) {
                    handle("resync", frame.get("resync"), null);
                }
            }
        } finally {
            onChannel = false;
            endCurrent = null;
            channel.unwatch(watch);
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
        return handle(kind, json, id == null ? null : Long.parseLong(id));
    }

    /** Handles one event (as the SSE stream names its kinds); false when it was an error. */
    private boolean handle(String kind, JsonNode json, Long id) {
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
                long rev = id != null ? id : json.path("rev").asLong();
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
            Runnable end = endCurrent;
            if (end != null && System.nanoTime() - lastLineNanos > SILENCE_NANOS) {
                end.run(); // the coordinator fell silent (hung, or the network): reconnect, here or elsewhere
            } else if (end != null && session != null && !onChannel && session.channelForWatch() != null) {
                end.run(); // the session's channel is back: leave the event stream for it, from the cursor
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
        Runnable end = endCurrent;
        if (end != null) {
            end.run();
        }
        thread.interrupt();
        watchdog.interrupt();
    }

}
