package dev.latchkey.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;

/**
 * A running watch: a background thread long-polls the event log from its cursor, so no event is
 * missed or repeated across reconnects or a move to another coordinator. Close it to stop.
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
    private volatile boolean running = true;
    private volatile long cursor;

    Watch(LatchkeyClient client, String target, boolean exact, long fromRev, Listener listener) {
        this.client = client;
        this.target = (exact ? "path=" : "prefix=") + LatchkeyClient.encode(target);
        this.listener = listener;
        long now = client.currentRevision(); // throws when no coordinator can be reached
        this.cursor = fromRev < 0 ? now : fromRev;
        this.thread = Thread.ofVirtual().name("latchkey-watch " + target).start(this::loop);
    }

    /** The revision of the last event delivered (resume a new watch from here). */
    public long cursor() {
        return cursor;
    }

    private void loop() {
        while (running) {
            try {
                String after = cursor < 0 ? "" : "&after=" + cursor;
                JsonNode page = client.send("GET", "/v1/events?" + target + after + "&waitMs=5000&limit=1000", null, Map.of(),
                        Duration.ofSeconds(6)).json();
                if (page.path("resync").asBoolean(false)) {
                    long last = page.get("lastRev").asLong();
                    deliver(new WatchEvent(last, "/", "resync", null, null));
                    cursor = last;
                    continue;
                }
                for (JsonNode e : page.get("events")) {
                    if (!running) {
                        return;
                    }
                    WatchEvent event = new WatchEvent(e.get("rev").asLong(), e.get("path").asText(), e.get("kind").asText(),
                            e.hasNonNull("detail") ? e.get("detail").asText() : null, e.hasNonNull("session") ? e.get("session").asText() : null);
                    deliver(event);
                    cursor = event.rev();
                }
                // every event up to lastRev was examined: continue from there even if none matched, so a
                // quiet watch never falls behind the retention (and resyncs) for others' events
                cursor = Math.max(cursor, page.get("lastRev").asLong());
            } catch (LatchkeyException e) {
                pause(); // every coordinator unreachable: try again shortly from the same cursor
            } catch (RuntimeException e) {
                pause();
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
        thread.interrupt();
    }

}
