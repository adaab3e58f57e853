package dev.latchkey.toolkit.retry;

import java.sql.Connection;

/** A unit of work run in one transaction on the given connection. */
@FunctionalInterface
public interface TransactionWork<T> {

    T run(Connection connection) throws Exception;
}
