package dev.latchkey.client;

/**
 * A request the coordinator refused (with its RFC 9457 problem type and HTTP status), or could not
 * be delivered to any coordinator.
 */
public class LatchkeyException extends RuntimeException {

    private final int status;
    private final String type;

    public LatchkeyException(int status, String type, String message) {
        super(message);
        this.status = status;
        this.type = type;
    }

    public LatchkeyException(String message, Throwable cause) {
        super(message, cause);
        this.status = 0;
        this.type = "unreachable";
    }

    /** The HTTP status, or 0 when no coordinator answered. */
    public int status() {
        return status;
    }

    /** The problem type's last segment, e.g. {@code lock-busy}, {@code precondition-failed}. */
    public String type() {
        return type;
    }

    public boolean is(String problemType) {
        return type.equals(problemType);
    }
}
