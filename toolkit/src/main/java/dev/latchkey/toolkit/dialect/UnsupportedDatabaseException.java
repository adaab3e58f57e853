package dev.latchkey.toolkit.dialect;

/** A database, or a feature on a database, that the toolkit cannot serve. */
public class UnsupportedDatabaseException extends RuntimeException {

    public UnsupportedDatabaseException(String message) {
        super(message);
    }
}
