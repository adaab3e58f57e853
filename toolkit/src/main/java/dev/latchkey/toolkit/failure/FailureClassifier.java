package dev.latchkey.toolkit.failure;

import static dev.latchkey.toolkit.failure.ErrorCodes.*;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Classifies a failure as one of the {@link Contention} kinds, or as none (then it is trouble,
 * not contention). It walks the whole cause chain (and each SQLException's next-exception chain),
 * and for each SQLException tries the vendor code first, then the SQLSTATE. A code found anywhere
 * in the chain wins over the class names of wrappers ({@code OptimisticLockException},
 * {@code ObjectOptimisticLockingFailureException}, ...), which are only a last resort: Hibernate and
 * Spring report a PostgreSQL serialization failure as an optimistic-lock failure, and it is not one.
 *
 * <p>Vendor code first matters: MySQL Connector/J gives MariaDB's lock-wait timeout (1205) the
 * SQLSTATE 40001, which read alone would claim the whole transaction was rolled back.
 *
 * <p>Some codes mean two things: MariaDB's 1205 and PostgreSQL's 55P03 are returned both for
 * {@code NOWAIT} and for a lock wait that timed out. A caller that knows which it asked for passes a
 * {@link Hint}; without one, PostgreSQL's message text decides and MariaDB's 1205 counts as a timeout.
 */
public final class FailureClassifier {

    /** What the failing statement was waiting with, when the caller knows. */
    public enum Hint {
        NONE,
        NO_WAIT,
        BOUNDED_WAIT
    }

    private static final Set<String> CONFLICT_CLASS_NAMES = Set.of(
            "OptimisticLockException", // Jakarta / javax persistence
            "StaleObjectStateException", // Hibernate
            "StaleStateException", // Hibernate
            "ObjectOptimisticLockingFailureException", // Spring
            "OptimisticLockingFailureException", // Spring
            "DataChangedException"); // jOOQ UpdatableRecord optimistic locking

    private FailureClassifier() {
    }

    public static Optional<Contention> classify(Throwable failure) {
        return classify(failure, Hint.NONE);
    }

    public static Optional<Contention> classify(Throwable failure, Hint hint) {
        List<Throwable> chain = chain(failure);
        // What the database said wins over what a wrapper is called: Spring and Hibernate wrap a
        // PostgreSQL serialization failure or deadlock in an "optimistic locking" exception.
        for (Throwable t : chain) {
            if (t instanceof ContentionException c) {
                return Optional.of(c.contention());
            }
            if (t instanceof SQLException sql) {
                Optional<Contention> found = bySqlException(sql, hint, chain);
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        for (Throwable t : chain) {
            if (CONFLICT_CLASS_NAMES.contains(t.getClass().getSimpleName())) {
                return Optional.of(Contention.CONFLICT);
            }
        }
        return Optional.empty();
    }

    /** The failure and its causes, each once (a cause chain can loop). */
    private static List<Throwable> chain(Throwable failure) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Throwable> chain = new ArrayList<>();
        for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
            chain.add(t);
        }
        return chain;
    }

    private static Optional<Contention> bySqlException(SQLException sql, Hint hint, List<Throwable> chain) {
        Set<SQLException> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (SQLException e = sql; e != null && seen.add(e); e = e.getNextException()) {
            if (e != sql && chain.contains(e)) {
                break;
            }
            Optional<Contention> byVendor = byVendorCode(e, hint);
            if (byVendor.isPresent()) {
                return byVendor;
            }
            Optional<Contention> byState = bySqlState(e, hint);
            if (byState.isPresent()) {
                return byState;
            }
        }
        return Optional.empty();
    }

    private static Optional<Contention> byVendorCode(SQLException e, Hint hint) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        return switch (e.getErrorCode()) {
            case MYSQL_LOCK_WAIT_TIMEOUT -> Optional.of(hint == Hint.NO_WAIT ? Contention.LOCK_NOT_AVAILABLE : Contention.LOCK_TIMEOUT);
            case MYSQL_LOCK_DEADLOCK -> Optional.of(Contention.DEADLOCK);
            case MYSQL_LOCK_NOWAIT -> Optional.of(Contention.LOCK_NOT_AVAILABLE);
            case MARIADB_RECORD_CHANGED -> Optional.of(Contention.SERIALIZATION_FAILURE);
            case H2_LOCK_TIMEOUT -> Optional.of(hint == Hint.NO_WAIT ? Contention.LOCK_NOT_AVAILABLE : Contention.LOCK_TIMEOUT);
            // 40001 is both H2's DEADLOCK_1 code and a SQLSTATE; H2 sets the SQLSTATE to "40001" as well.
            case H2_DEADLOCK -> state.equals(SQLSTATE_SERIALIZATION_FAILURE) && isH2(e)
                    ? Optional.of(Contention.DEADLOCK) : Optional.empty();
            case H2_CONCURRENT_UPDATE, H2_ROW_NOT_FOUND_IN_PRIMARY_INDEX -> isH2(e)
                    ? Optional.of(Contention.SERIALIZATION_FAILURE) : Optional.empty();
            default -> Optional.empty();
        };
    }

    private static Optional<Contention> bySqlState(SQLException e, Hint hint) {
        String state = e.getSQLState();
        if (state == null) {
            return Optional.empty();
        }
        return switch (state) {
            case SQLSTATE_DEADLOCK -> Optional.of(Contention.DEADLOCK);
            case SQLSTATE_SERIALIZATION_FAILURE -> Optional.of(Contention.SERIALIZATION_FAILURE);
            case SQLSTATE_LOCK_NOT_AVAILABLE -> Optional.of(switch (hint) {
                case NO_WAIT -> Contention.LOCK_NOT_AVAILABLE;
                case BOUNDED_WAIT -> Contention.LOCK_TIMEOUT;
                case NONE -> mentionsTimeout(e) ? Contention.LOCK_TIMEOUT : Contention.LOCK_NOT_AVAILABLE;
            });
            default -> Optional.empty();
        };
    }

    private static boolean mentionsTimeout(SQLException e) {
        String message = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
        return message.contains("lock timeout");
    }

    private static boolean isH2(SQLException e) {
        return e.getClass().getName().startsWith("org.h2.");
    }
}
