package dev.latchkey.toolkit.retry;

/**
 * Carries a checked exception (usually an {@link java.sql.SQLException}) out of a
 * {@link Transactor}; earlier failed attempts are attached as suppressed exceptions.
 */
public class TransactionException extends RuntimeException {

    public TransactionException(String message, Throwable cause) {
        super(message, cause);
    }
}
