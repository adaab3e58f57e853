package dev.latchkey.toolkit.failure;

/**
 * The vendor error codes and SQLSTATEs the classifier knows, with where each is documented.
 */
public final class ErrorCodes {

    private ErrorCodes() {
    }

    // MySQL and MariaDB: https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html
    // and https://mariadb.com/kb/en/mariadb-error-codes/

    /**
     * ER_LOCK_WAIT_TIMEOUT. MariaDB answers NOWAIT with this code too, and MySQL Connector/J labels
     * it SQLSTATE 40001 although only the statement was rolled back.
     */
    public static final int MYSQL_LOCK_WAIT_TIMEOUT = 1205;
    /** ER_LOCK_DEADLOCK: the whole transaction was rolled back. */
    public static final int MYSQL_LOCK_DEADLOCK = 1213;
    /** ER_LOCK_NOWAIT (MySQL 8): NOWAIT found the row locked. */
    public static final int MYSQL_LOCK_NOWAIT = 3572;
    /** ER_CHECKREAD (MariaDB): a record changed since the last read in a snapshot-isolated transaction. */
    public static final int MARIADB_RECORD_CHANGED = 1020;

    // H2: https://h2database.com/javadoc/org/h2/api/ErrorCode.html

    /** LOCK_TIMEOUT_1: timeout trying to lock a table or row (also NOWAIT). */
    public static final int H2_LOCK_TIMEOUT = 50200;
    /** DEADLOCK_1: the current transaction was rolled back. */
    public static final int H2_DEADLOCK = 40001;
    /** CONCURRENT_UPDATE_1: a concurrent update to the same row. */
    public static final int H2_CONCURRENT_UPDATE = 90131;
    /** ROW_NOT_FOUND_WHEN_DELETING_1 / ROW_NOT_FOUND_IN_PRIMARY_INDEX: a row changed under a snapshot. */
    public static final int H2_ROW_NOT_FOUND_IN_PRIMARY_INDEX = 90143;

    // SQLSTATE (PostgreSQL reports no vendor code): https://www.postgresql.org/docs/current/errcodes-appendix.html

    /** serialization_failure (standard class 40). */
    public static final String SQLSTATE_SERIALIZATION_FAILURE = "40001";
    /** deadlock_detected (PostgreSQL). */
    public static final String SQLSTATE_DEADLOCK = "40P01";
    /** lock_not_available (PostgreSQL): NOWAIT, and also a lock_timeout that ran out. */
    public static final String SQLSTATE_LOCK_NOT_AVAILABLE = "55P03";
}
