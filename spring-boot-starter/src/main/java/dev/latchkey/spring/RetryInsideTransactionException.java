package dev.latchkey.spring;

/** A {@link RetryOnContention} method was entered inside an active transaction, where a retry cannot work. */
public class RetryInsideTransactionException extends IllegalStateException {

    public RetryInsideTransactionException(String message) {
        super(message);
    }
}
