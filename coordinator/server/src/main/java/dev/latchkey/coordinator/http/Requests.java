package dev.latchkey.coordinator.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.core.Namespace;
import dev.latchkey.coordinator.core.Page;
import io.javalin.http.Context;
import java.util.Locale;

/** Reading requests: strict JSON bodies, bounded body sizes, and the API's path, query and header parameters. */
final class Requests {

    /**
     * Strict JSON: unknown fields, trailing data ({@code {}{}}), duplicate keys and type coercion
     * ({@code "12000"} for a number, {@code null} for a primitive) are refused, not guessed at.
     */
    final ObjectMapper json = com.fasterxml.jackson.databind.json.JsonMapper.builder(com.fasterxml.jackson.core.JsonFactory.builder()
                    // buffers from one pool for the whole process: requests run on virtual threads, for which Jackson's
                    // default (a pool per thread) allocates fresh buffers on every read and write, 8-16 KB each (measured:
                    // more than half of what the coordinator allocated under load, and a young collection twice a second)
                    .recyclerPool(com.fasterxml.jackson.core.util.JsonRecyclerPools.sharedConcurrentDequePool())
                    .build())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_TRAILING_TOKENS,
                    DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();
    /** A body that is not the JSON the call takes. */
    static final class BadJson extends RuntimeException {
        BadJson(String message) {
            super(message);
        }
    }

    <T> T body(Context ctx, Class<T> type) {
        byte[] bytes = bodyBytes(ctx);
        if (bytes.length == 0) {
            throw new BadJson("the request needs a JSON body");
        }
        requireJsonContentType(ctx);
        if (holdsNulEscape(bytes)) {
            throw new BadJson("the body holds a NUL character (\\u0000), which no name, id or value here may");
        }
        try {
            T value = json.readValue(bytes, type);
            if (value == null) {
                throw new BadJson("the body must be a JSON object, not null");
            }
            return value;
        } catch (java.io.IOException e) {
            String message = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
            throw new BadJson("the body is not valid JSON for this call: " + message);
        }
    }

    /**
     * Whether JSON text holds the escape of a NUL character. No string of the API may hold one, and
     * PostgreSQL refuses it in text: one such value in a set-based batch would fail its neighbours.
     */
    static boolean holdsNulEscape(byte[] json) {
        for (int i = 0; i + 5 < json.length; i++) {
            if (json[i] == '\\' && (json[i + 1] == 'u' || json[i + 1] == 'U') && json[i + 2] == '0' && json[i + 3] == '0'
                    && json[i + 4] == '0' && json[i + 5] == '0') {
                return true;
            }
        }
        return false;
    }

    /** {@link #holdsNulEscape(byte[])} on text (the escape is ASCII, so its UTF-8 bytes and its chars are the same). */
    static boolean holdsNulEscape(CharSequence json) {
        for (int i = 0; i + 5 < json.length(); i++) {
            if (json.charAt(i) == '\\' && (json.charAt(i + 1) == 'u' || json.charAt(i + 1) == 'U') && json.charAt(i + 2) == '0'
                    && json.charAt(i + 3) == '0' && json.charAt(i + 4) == '0' && json.charAt(i + 5) == '0') {
                return true;
            }
        }
        return false;
    }

    /** Refuses a request whose path or query holds a NUL character (raw or percent-encoded). */
    static void requireNoNul(Context ctx) {
        String uri = ctx.req().getRequestURI();
        String query = ctx.queryString();
        if (hasNul(uri) || hasNul(query)) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "the request's path or query holds a NUL character (%00)");
        }
    }

    private static boolean hasNul(String s) {
        return s != null && (s.indexOf('\u0000') >= 0 || s.toLowerCase(Locale.ROOT).contains("%00"));
    }

    /**
     * JSON bodies must say so: a browser sends a cross-site form or text/plain POST without asking,
     * but needs the server's permission (a CORS preflight, which this API never grants) for
     * application/json.
     */
    private static void requireJsonContentType(Context ctx) {
        String type = ctx.contentType();
        String base = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (!base.equals("application/json") && !(base.startsWith("application/") && base.endsWith("+json"))) {
            throw new CoordinatorException(Problem.UNSUPPORTED_MEDIA_TYPE, "this call takes a JSON body with Content-Type: application/json, not "
                    + (type == null ? "none" : "'" + type + "'"));
        }
    }

    /** The most a request body may hold: a file's content and room for headers of the JSON around it. */
    static final int MAX_BODY = Namespace.MAX_CONTENT + 64 * 1024;

    /**
     * Reads the body, at most {@link #MAX_BODY} bytes of it, whether or not a Content-Length was
     * sent: a chunked body that goes on is refused with 413 once the limit is passed, without
     * reading (or keeping) the rest.
     */
    static byte[] bodyBytes(Context ctx) {
        long declared = ctx.req().getContentLengthLong();
        if (declared > MAX_BODY) {
            throw tooLarge(declared + " bytes");
        }
        try {
            byte[] bytes = ctx.req().getInputStream().readNBytes(MAX_BODY + 1);
            if (bytes.length > MAX_BODY) {
                throw tooLarge("more than " + MAX_BODY + " bytes");
            }
            return bytes;
        } catch (java.io.IOException e) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "the body could not be read: " + e.getMessage());
        }
    }

    static CoordinatorException tooLarge(String size) {
        return new CoordinatorException(Problem.CONTENT_TOO_LARGE, "the body is " + size + "; a request holds at most " + MAX_BODY
                + " bytes (a file at most " + Namespace.MAX_CONTENT + ")");
    }

    /*
     * The JSON of recent events, by revision modulo its size: hundreds of watchers of one file
     * (streams or channels) send each event's text, which is made once, not once per watcher.
     */
    private static final int EVENT_TEXTS = 4096;
    private final java.util.concurrent.atomic.AtomicReferenceArray<Object[]> eventTexts = new java.util.concurrent.atomic.AtomicReferenceArray<>(EVENT_TEXTS);

    /** An event as the JSON object watchers get ({@link Views#eventJson}). */
    String eventText(dev.latchkey.coordinator.store.Event e) {
        int slot = (int) Math.floorMod(e.rev(), (long) EVENT_TEXTS);
        Object[] cached = eventTexts.get(slot);
        if (cached != null && (Long) cached[0] == e.rev()) {
            return (String) cached[1];
        }
        String text = toJson(Views.eventJson(e));
        eventTexts.set(slot, new Object[] {e.rev(), text});
        return text;
    }

    String toJson(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String nodePath(Context ctx) {
        return "/" + ctx.pathParam("path");
    }

    static Long ifMatch(Context ctx) {
        String header = ctx.header("If-Match");
        if (header == null) {
            return null;
        }
        String v = header.trim();
        if (v.startsWith("W/")) {
            v = v.substring(2);
        }
        v = v.replace("\"", "");
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "If-Match must hold a content generation, not '" + header + "'");
        }
    }

    /** A boolean query parameter: absent is false; anything but "true" or "false" is refused, never read as false. */
    static boolean booleanParam(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return false;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new CoordinatorException(Problem.BAD_REQUEST, name + " must be true or false, not '" + v + "'");
        };
    }

    /** A listing's page size: {@code ?limit=} (default 1,000, at most {@link Page#MAX}). */
    static int pageLimit(Context ctx) {
        return (int) longParam(ctx, "limit", 1_000, 1, Page.MAX);
    }

    /**
     * Says where a listing's next page starts: a {@code Link: <...>; rel="next"} header (RFC 8288) with
     * the same query and {@code after} set to the page's last key. Nothing on the last page.
     */
    static void linkNext(Context ctx, Page<?> page) {
        if (page.next() == null) {
            return;
        }
        StringBuilder query = new StringBuilder();
        ctx.queryParamMap().forEach((name, values) -> {
            if (!name.equals("after")) {
                for (String v : values) {
                    query.append(query.isEmpty() ? "" : "&").append(encode(name)).append(v.isEmpty() ? "" : "=" + encode(v));
                }
            }
        });
        query.append(query.isEmpty() ? "" : "&").append("after=").append(encode(page.next()));
        ctx.header("Link", "<" + ctx.path() + "?" + query + ">; rel=\"next\"");
    }

    private static String encode(String s) {
        return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
    }

    static long longParam(Context ctx, String name, long fallback, long min, long max) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return fallback;
        }
        try {
            long value = Long.parseLong(v);
            if (value < min || value > max) {
                throw new CoordinatorException(Problem.BAD_REQUEST, name + " must be between " + min + " and " + max + ", not " + value);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new CoordinatorException(Problem.BAD_REQUEST, name + " must be a number, not '" + v + "'");
        }
    }

    static String required(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new CoordinatorException(Problem.BAD_REQUEST, name + " is required");
        }
        return value;
    }

    static long orDefault(Long value, long fallback) {
        return value == null ? fallback : value;
    }
}
