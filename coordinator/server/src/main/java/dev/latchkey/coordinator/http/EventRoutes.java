package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Acls;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.Tokens;
import dev.latchkey.coordinator.core.Watches;
import dev.latchkey.coordinator.store.Event;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.sse.SseClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Events: the long-poll listing and the Server-Sent Events stream. */
final class EventRoutes {

    private final Coordinator coordinator;
    private final Access access;
    private final Requests requests;
    private final Limits.Meter meter;

    EventRoutes(Coordinator coordinator, Access access, Requests requests, Limits.Meter meter) {
        this.coordinator = coordinator;
        this.access = access;
        this.requests = requests;
        this.meter = meter;
    }

    void register(Javalin app) {
        app.get("/v1/events", this::events);
        // refused before the stream starts, so a refusal is an ordinary problem response
        app.before("/v1/watch", ctx -> access.require(ctx, watchTarget(ctx).path(), Acls.Permission.READ));
        app.sse("/v1/watch", this::watch);
    }

    /** Long-poll form of the event stream: {@code GET /v1/events?prefix=/a&after=10&waitMs=5000}. */
    private void events(Context ctx) throws InterruptedException {
        WatchLoop.Target target = watchTarget(ctx);
        access.require(ctx, target.path(), Acls.Permission.READ);
        Tokens.Identity who = access.of(ctx);
        long after = Requests.longParam(ctx, "after", -1, -1, Long.MAX_VALUE);
        if (after < 0) {
            after = coordinator.events().currentRevision();
        }
        long waitMs = Requests.longParam(ctx, "waitMs", 0, 0, 60_000);
        int limit = (int) Requests.longParam(ctx, "limit", 500, 1, 5000);
        Watches.Batch batch = coordinator.watches().next(target.path(), target.exact(), after, Duration.ofMillis(waitMs), limit);
        switch (batch) {
            case Watches.Batch.Events e -> ctx.json(Map.of("events", e.events().stream().filter(ev -> access.mayRead(who, ev.path()))
                    .map(Views::eventJson).toList(),
                    "lastRev", e.scannedTo()));
            case Watches.Batch.Resync r -> ctx.json(Map.of("resync", true, "fromRev", r.fromRev(), "horizon", r.horizon(),
                    "lastRev", r.currentRev(), "events", List.of()));
        }
    }

    private void watch(SseClient client) {
        Tokens.Identity who = client.ctx().attribute(Access.IDENTITY);
        try {
            stream(client);
        } finally {
            if (who != null) {
                meter.watchClosed(who.name());
            }
        }
    }

    private void stream(SseClient client) {
        Context ctx = client.ctx();
        Tokens.Identity who = ctx.attribute(Access.IDENTITY);
        Frames frames = new Frames(client);
        WatchLoop.Target target;
        long cursor;
        try {
            target = watchTarget(ctx);
            String lastEventId = ctx.header("Last-Event-ID");
            String from = lastEventId != null ? lastEventId : ctx.queryParam("fromRev");
            cursor = from == null ? coordinator.events().currentRevision() : Long.parseLong(from.trim());
        } catch (RuntimeException e) {
            frames.event("error", requests.toJson(Map.of("detail", e.getMessage() == null ? "bad request" : e.getMessage())), null);
            client.close();
            return;
        }
        frames.comment("watching " + target.path() + " after revision " + cursor);
        try {
            WatchLoop.run(coordinator, access, who, target, cursor, new WatchLoop.Sink() {
                @Override
                public boolean ended() {
                    return client.terminated();
                }

                @Override
                public void event(Event event) {
                    frames.event(Views.kindName(event.kind()), requests.eventText(event), Long.toString(event.rev()));
                }

                @Override
                public void progress(long rev) {
                    // the id moves the client's Last-Event-ID on
                    frames.event("progress", requests.toJson(Map.of("rev", rev)), Long.toString(rev));
                }

                @Override
                public void ping() {
                    frames.comment("ping");
                }

                @Override
                public void resync(long fromRev, long horizon, long currentRev) {
                    frames.event("resync", requests.toJson(Map.of("fromRev", fromRev, "horizon", horizon, "currentRev", currentRev)),
                            Long.toString(currentRev));
                }
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            frames.event("error", requests.toJson(Map.of("detail", String.valueOf(e.getMessage()))), null);
        }
    }

    /**
     * Writes one stream's frames, each as one write and one flush. (Javalin's {@code
     * SseClient.sendEvent} reads its data back through a new 8 KB stream, reader and buffer per
     * event, about 22 KB of garbage each: with 400 watchers on one file that was half of what the
     * coordinator allocated, and its collections set the stream's tail.) Writes happen on the
     * stream's own thread only; a failed write ends the stream.
     */
    private static final class Frames {
        private final SseClient client;

        Frames(SseClient client) {
            this.client = client;
        }

        void event(String kind, String data, String id) {
            StringBuilder frame = new StringBuilder(data.length() + 48);
            if (id != null) {
                frame.append("id: ").append(id).append('\n');
            }
            frame.append("event: ").append(kind).append('\n');
            lines(frame, "data: ", data);
            write(frame.append('\n'));
        }

        void comment(String text) {
            write(lines(new StringBuilder(text.length() + 8), ": ", text));
        }

        /** Each line of {@code text} after {@code prefix} (a line break inside a field would end it). */
        private static StringBuilder lines(StringBuilder frame, String prefix, String text) {
            int start = 0;
            for (int i = 0; i <= text.length(); i++) {
                if (i == text.length() || text.charAt(i) == '\n') {
                    frame.append(prefix).append(text, start, i).append('\n');
                    start = i + 1;
                }
            }
            return frame;
        }

        private void write(CharSequence frame) {
            if (client.terminated()) {
                return;
            }
            try {
                var out = client.ctx().res().getOutputStream();
                out.write(frame.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                out.flush();
            } catch (java.io.IOException | RuntimeException e) {
                client.close(); // the client went away: the loop sees it as ended
            }
        }
    }

    private static WatchLoop.Target watchTarget(Context ctx) {
        return WatchLoop.Target.of(ctx.queryParam("prefix"), ctx.queryParam("path"));
    }
}
