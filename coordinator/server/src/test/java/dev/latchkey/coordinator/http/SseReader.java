package dev.latchkey.coordinator.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.stream.Stream;

/** Reads a Server-Sent Events stream event by event; closing it drops the connection. */
final class SseReader implements AutoCloseable {

    record SseEvent(String id, String event, String data) {
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final Stream<String> lines;
    private final Iterator<String> it;

    SseReader(String url, String lastEventId) throws Exception {
        this(url, "Last-Event-ID", lastEventId);
    }

    /** Opens the stream with one more header (none when {@code value} is null); returns once the server has answered 200. */
    SseReader(String url, String header, String value) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(2)).header("Accept", "text/event-stream");
        if (value != null) {
            b.header(header, value);
        }
        HttpResponse<Stream<String>> response = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) {
            throw new AssertionError("watch answered " + response.statusCode());
        }
        this.lines = response.body();
        this.it = lines.iterator();
    }

    /** The id of the last {@code progress} event: how far the server has looked on this watch's behalf. */
    volatile String progress;

    /** The next event, or null when the server sent a keep-alive comment or a progress event instead. */
    SseEvent next() {
        String id = null;
        String event = "message";
        StringBuilder data = new StringBuilder();
        while (it.hasNext()) {
            String line = it.next();
            if (line.isEmpty()) {
                if (event.equals("progress")) {
                    progress = id;
                    return null;
                }
                if (data.length() > 0 || id != null) {
                    return new SseEvent(id, event, data.toString());
                }
                continue;
            }
            if (line.startsWith(":")) {
                if (line.startsWith(": ping") || line.startsWith(":ping")) {
                    return null;
                }
                continue;
            }
            int colon = line.indexOf(':');
            String field = colon < 0 ? line : line.substring(0, colon);
            String value = colon < 0 ? "" : line.substring(colon + 1).stripLeading();
            switch (field) {
                case "id" -> id = value;
                case "event" -> event = value;
                case "data" -> data.append(data.length() > 0 ? "\n" : "").append(value);
                default -> { }
            }
        }
        throw new IllegalStateException("the stream ended");
    }

    @Override
    public void close() {
        lines.close();
    }
}
