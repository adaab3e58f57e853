package dev.latchkey.toolkit.pessimistic;

import static dev.latchkey.toolkit.dialect.DatabaseKind.H2;
import static dev.latchkey.toolkit.dialect.DatabaseKind.MARIADB;
import static dev.latchkey.toolkit.dialect.DatabaseKind.MYSQL;
import static dev.latchkey.toolkit.dialect.DatabaseKind.POSTGRES;

import dev.latchkey.toolkit.dialect.DatabaseKind;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;

/**
 * The row-locking clause per database. jOOQ renders the SELECT; the clause is ours because jOOQ
 * renders bounded waits as session settings it never restores ({@code SET LOCAL lock_timeout} on
 * PostgreSQL, a multi-statement on MySQL) and only whole seconds.
 */
public final class LockClause {

    /** Databases that spell a shared row lock {@code LOCK IN SHARE MODE}. */
    static final Set<DatabaseKind> SHARE_MODE_SPELLING = EnumSet.of(MARIADB);
    /** Databases with no shared row lock at all: a share request takes an exclusive lock. */
    static final Set<DatabaseKind> NO_SHARED_ROW_LOCK = EnumSet.of(H2);
    /** Databases that take a bounded wait in the statement: {@code FOR UPDATE WAIT n}. */
    static final Set<DatabaseKind> WAIT_IN_STATEMENT = EnumSet.of(MARIADB, H2);
    /**
     * Databases that count lock waits in whole seconds, so a bound is rounded up to the next second.
     * MariaDB accepts {@code WAIT 0.4} but truncates it to {@code WAIT 0}, which is NOWAIT.
     */
    static final Set<DatabaseKind> WHOLE_SECOND_WAITS = EnumSet.of(MARIADB, MYSQL);
    /** Databases where the bound is the transaction-local {@code lock_timeout}, set and restored around the statement. */
    static final Set<DatabaseKind> WAIT_BY_LOCK_TIMEOUT = EnumSet.of(POSTGRES);
    /** Databases where the bound is the session's {@code innodb_lock_wait_timeout}, in whole seconds, set and restored. */
    static final Set<DatabaseKind> WAIT_BY_INNODB_TIMEOUT = EnumSet.of(MYSQL);
    /**
     * Databases where any error poisons the whole transaction, so a failed NOWAIT or bounded wait
     * runs inside a savepoint that is rolled back, leaving the caller's transaction usable.
     */
    static final Set<DatabaseKind> SAVEPOINT_AROUND_FAILABLE_WAIT = EnumSet.of(POSTGRES);

    private LockClause() {
    }

    public static String render(DatabaseKind kind, LockMode mode, WaitPolicy wait) {
        String lock;
        if (mode == LockMode.UPDATE || NO_SHARED_ROW_LOCK.contains(kind)) {
            lock = " FOR UPDATE";
        } else if (SHARE_MODE_SPELLING.contains(kind)) {
            lock = " LOCK IN SHARE MODE";
        } else {
            lock = " FOR SHARE";
        }
        return lock + switch (wait) {
            case WaitPolicy.NoWait n -> " NOWAIT";
            case WaitPolicy.SkipLocked s -> " SKIP LOCKED";
            case WaitPolicy.Bounded b -> !WAIT_IN_STATEMENT.contains(kind) ? ""
                    : " WAIT " + (WHOLE_SECOND_WAITS.contains(kind) ? Long.toString(wholeSeconds(b.timeout())) : seconds(b.timeout()));
            case WaitPolicy.DatabaseDefault d -> "";
        };
    }

    /** Fractional seconds, e.g. {@code 0.25}, exact to the millisecond. */
    static String seconds(Duration d) {
        return BigDecimal.valueOf(Math.max(1, d.toMillis()), 3).stripTrailingZeros().toPlainString();
    }

    /** Whole seconds, rounded up, at least one: MySQL's lock wait granularity. */
    static long wholeSeconds(Duration d) {
        long ms = d.toMillis();
        return Math.max(1, (ms + 999) / 1000);
    }
}
