package dev.latchkey.coordinator.core;

/**
 * A request the coordinator refuses, with the HTTP status and the stable problem type it maps to.
 * Refusals change nothing in the store.
 */
public class CoordinatorException extends RuntimeException {

    /** The stable problem types of the HTTP API (RFC 9457 {@code type} is {@code PREFIX + slug}). */
    public enum Problem {
        BAD_REQUEST(400, "bad-request", "Bad request"),
        INVALID_PATH(400, "invalid-path", "Invalid path"),
        BAD_JSON(400, "bad-json", "Malformed JSON"),
        TTL_OUT_OF_RANGE(400, "ttl-out-of-range", "Session TTL out of range"),
        LOCK_DELAY_OUT_OF_RANGE(400, "lock-delay-out-of-range", "Lock-delay out of range"),
        SESSION_NOT_FOUND(404, "session-not-found", "Unknown or expired session"),
        NODE_NOT_FOUND(404, "node-not-found", "No such node"),
        NOT_LOCK_HOLDER(409, "not-lock-holder", "The session does not hold this lock"),
        LOCK_BUSY(409, "lock-busy", "The lock is held by another session"),
        HAS_CHILDREN(409, "has-children", "The directory is not empty"),
        NODE_LOCKED(409, "node-locked", "The node's lock is held"),
        NOT_A_DIRECTORY(409, "not-a-directory", "Not a directory"),
        IS_A_DIRECTORY(409, "is-a-directory", "Is a directory"),
        PRECONDITION_FAILED(412, "precondition-failed", "Precondition failed"),
        CONTENT_TOO_LARGE(413, "content-too-large", "Content too large"),
        STORE_UNAVAILABLE(503, "store-unavailable", "The store is unavailable");

        public static final String PREFIX = "https://latchkey.dev/problems/";

        private final int status;
        private final String slug;
        private final String title;

        Problem(int status, String slug, String title) {
            this.status = status;
            this.slug = slug;
            this.title = title;
        }

        public int status() {
            return status;
        }

        public String type() {
            return PREFIX + slug;
        }

        public String title() {
            return title;
        }
    }

    private final Problem problem;

    public CoordinatorException(Problem problem, String detail) {
        super(detail);
        this.problem = problem;
    }

    public Problem problem() {
        return problem;
    }
}
