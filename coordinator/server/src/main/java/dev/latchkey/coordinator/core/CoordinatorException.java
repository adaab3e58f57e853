package dev.latchkey.coordinator.core;

/**
 * A request the coordinator refuses, with the kind of refusal. Refusals change nothing in the
 * store. How a refusal reads on the wire (an HTTP status, a problem type) is the protocol's
 * business, not the core's: see {@code http.ProblemTypes}.
 */
public class CoordinatorException extends RuntimeException {

    /** The kinds of refusal. */
    public enum Problem {
        BAD_REQUEST,
        UNAUTHENTICATED,
        FORBIDDEN,
        INVALID_PATH,
        BAD_JSON,
        TTL_OUT_OF_RANGE,
        LOCK_DELAY_OUT_OF_RANGE,
        SESSION_NOT_FOUND,
        NODE_NOT_FOUND,
        NOT_LOCK_HOLDER,
        LOCK_BUSY,
        HAS_CHILDREN,
        NODE_LOCKED,
        NOT_A_DIRECTORY,
        IS_A_DIRECTORY,
        PRECONDITION_FAILED,
        CONTENT_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        TOO_MANY,
        STORE_UNAVAILABLE
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
