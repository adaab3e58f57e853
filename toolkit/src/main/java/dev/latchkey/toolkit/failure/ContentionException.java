package dev.latchkey.toolkit.failure;

/**
 * Thrown when a caller turns a contention outcome into an exception (for instance with
 * {@code outcome.orThrow()}) so that a {@link dev.latchkey.toolkit.retry.Transactor} retries it.
 */
public class ContentionException extends RuntimeException {

    private final Contention contention;

    public ContentionException(Contention contention, String message) {
        super(message);
        this.contention = contention;
    }

    public ContentionException(Contention contention, String message, Throwable cause) {
        super(message, cause);
        this.contention = contention;
    }

    public Contention contention() {
        return contention;
    }
}
