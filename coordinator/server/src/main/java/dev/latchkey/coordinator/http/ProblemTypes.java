package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.CoordinatorException.Problem;

/**
 * How each refusal of the core reads over HTTP: its status and its stable RFC 9457 problem type
 * ({@link #PREFIX} + slug, which clients match on) with a title. The only place that knows.
 */
final class ProblemTypes {

    static final String PREFIX = "https://latchkey.dev/problems/";

    /** A problem as the API reports it. */
    record Type(int status, String slug, String title) {
        String uri() {
            return PREFIX + slug;
        }
    }

    private ProblemTypes() {
    }

    static Type of(Problem problem) {
        return switch (problem) {
            case BAD_REQUEST -> new Type(400, "bad-request", "Bad request");
            case UNAUTHENTICATED -> new Type(401, "unauthenticated", "No valid bearer token");
            case FORBIDDEN -> new Type(403, "forbidden", "Not allowed for this identity");
            case INVALID_PATH -> new Type(400, "invalid-path", "Invalid path");
            case BAD_JSON -> new Type(400, "bad-json", "Malformed JSON");
            case TTL_OUT_OF_RANGE -> new Type(400, "ttl-out-of-range", "Session TTL out of range");
            case LOCK_DELAY_OUT_OF_RANGE -> new Type(400, "lock-delay-out-of-range", "Lock-delay out of range");
            case SESSION_NOT_FOUND -> new Type(404, "session-not-found", "Unknown or expired session");
            case NODE_NOT_FOUND -> new Type(404, "node-not-found", "No such node");
            case NOT_LOCK_HOLDER -> new Type(409, "not-lock-holder", "The session does not hold this lock");
            case LOCK_BUSY -> new Type(409, "lock-busy", "The lock is held by another session");
            case HAS_CHILDREN -> new Type(409, "has-children", "The directory is not empty");
            case NODE_LOCKED -> new Type(409, "node-locked", "The node's lock is held");
            case NOT_A_DIRECTORY -> new Type(409, "not-a-directory", "Not a directory");
            case IS_A_DIRECTORY -> new Type(409, "is-a-directory", "Is a directory");
            case PRECONDITION_FAILED -> new Type(412, "precondition-failed", "Precondition failed");
            case CONTENT_TOO_LARGE -> new Type(413, "content-too-large", "Content too large");
            case TOO_MANY -> new Type(429, "too-many", "Over a per-identity limit");
            case UNSUPPORTED_MEDIA_TYPE -> new Type(415, "unsupported-media-type", "The body must be application/json");
            case STORE_UNAVAILABLE -> new Type(503, "store-unavailable", "The store is unavailable");
        };
    }
}
