package dev.latchkey.coordinator.http;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;

/**
 * What Jetty answers itself, before a request reaches the API (a request line or header it cannot
 * parse, a URI too long, an ambiguous path): the same problem+json as every other refusal, not
 * Jetty's HTML page.
 */
final class ProblemErrorHandler extends ErrorHandler {

    private final com.fasterxml.jackson.databind.ObjectMapper json;

    ProblemErrorHandler(com.fasterxml.jackson.databind.ObjectMapper json) {
        this.json = json;
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/problem+json");
        return ByteBuffer.wrap(body(status, reason));
    }

    @Override
    protected void generateAcceptableResponse(Request baseRequest, HttpServletRequest request, HttpServletResponse response, int code,
            String message) throws IOException {
        baseRequest.setHandled(true);
        response.setContentType("application/problem+json");
        byte[] body = body(code, message);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    private byte[] body(int status, String reason) {
        java.util.Map<String, Object> problem = new java.util.LinkedHashMap<>();
        problem.put("type", ProblemTypes.PREFIX + "http-" + status);
        problem.put("title", "Bad request");
        problem.put("status", status);
        problem.put("detail", reason == null || reason.isBlank() ? "the request could not be read" : reason);
        try {
            return json.writeValueAsBytes(problem);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
