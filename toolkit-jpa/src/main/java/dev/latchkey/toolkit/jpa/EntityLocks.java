package dev.latchkey.toolkit.jpa;

import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.pessimistic.LockMode;
import dev.latchkey.toolkit.pessimistic.LockOutcome;
import dev.latchkey.toolkit.pessimistic.LockRequest;
import dev.latchkey.toolkit.pessimistic.RowLocker;
import dev.latchkey.toolkit.pessimistic.WaitPolicy;
import jakarta.persistence.EntityManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.hibernate.Session;

/**
 * Row locks on an entity's table, by id, inside the EntityManager's transaction; then the entities,
 * loaded or refreshed, as the locked rows hold them. Obtained from {@link JpaToolkit#locks(Class)}.
 *
 * <pre>{@code
 * EntityLockOutcome<Item> outcome = items.lock(42L).noWait().execute(em);
 * List<Job> claimed = jobs.lock(candidateIds).skipLocked().execute(em).orThrow().entities();
 * }</pre>
 *
 * <p>The lock is the toolkit's {@code SELECT ... FOR UPDATE} on the EntityManager's own connection,
 * with the ids de-duplicated and sorted (two callers locking overlapping sets cannot deadlock), the
 * wait rendered for the database at hand, and on PostgreSQL a savepoint around a NOWAIT or bounded
 * wait so that failing it leaves the transaction usable. No Hibernate lock hint is involved.
 */
public final class EntityLocks<T> {

    private final EntityTable table;
    private final RowLocker locker;
    private final DatabaseKind kind;
    private final Class<?> idType;

    EntityLocks(EntityTable table, RowLocker locker, DatabaseKind kind) {
        this.table = table;
        this.locker = locker;
        this.kind = kind;
        this.idType = table.persister().getIdentifierMapping().getJavaType().getJavaTypeClass();
    }

    /** Starts a request to lock the entities with these ids. */
    public Request lock(Object... ids) {
        return new Request(Arrays.asList(ids));
    }

    /** Starts a request to lock the entities with these ids. */
    public Request lock(Collection<?> ids) {
        return new Request(new ArrayList<>(ids));
    }

    /** One request, built fluently and run with {@link #execute(EntityManager)}. */
    public final class Request {
        private final List<Object> ids;
        private final LockRequest rows;
        private LockMode mode = LockMode.UPDATE;

        private Request(List<Object> ids) {
            this.ids = ids.stream().map(EntityLocks.this::coerce).toList();
            this.rows = locker.lock(this.ids);
        }

        /** Waits at most this long (MySQL and MariaDB: rounded up to whole seconds); zero means NOWAIT. */
        public Request waitAtMost(Duration timeout) {
            rows.waitAtMost(timeout);
            return this;
        }

        /** Fails at once when a row is locked. */
        public Request noWait() {
            rows.noWait();
            return this;
        }

        /** Leaves locked rows out: they are reported as missing. */
        public Request skipLocked() {
            rows.skipLocked();
            return this;
        }

        public Request waitPolicy(WaitPolicy wait) {
            rows.waitPolicy(wait);
            return this;
        }

        /** A shared lock ({@code FOR SHARE}): others may read-lock the rows too, nobody may write them. */
        public Request forShare() {
            return mode(LockMode.SHARE);
        }

        public Request mode(LockMode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            rows.mode(mode);
            return this;
        }

        /** The operation name used for metrics. */
        public Request operation(String name) {
            rows.operation(name);
            return this;
        }

        /**
         * Takes the locks in the EntityManager's transaction, then loads the locked entities. Pending
         * changes are flushed first, so that the reload cannot undo them.
         */
        public EntityLockOutcome<T> execute(EntityManager em) {
            Objects.requireNonNull(em, "em");
            if (!em.isJoinedToTransaction()) {
                throw new IllegalStateException("entity row locks need a transaction: begin one, or use a JpaTransactor");
            }
            em.flush();
            LockOutcome outcome = em.unwrap(Session.class).doReturningWork(rows::execute);
            return switch (outcome) {
                case LockOutcome.Failed f -> new EntityLockOutcome.Failed<>(f);
                case LockOutcome.Locked l -> {
                    List<Object> missing = l.missing().stream().map(EntityLocks.this::coerce).toList();
                    List<Object> locked = RowOrder.sorted(ids).stream().filter(id -> !missing.contains(id)).toList();
                    yield new EntityLockOutcome.Locked<>(EntityLoader.load(em, table, locked, mode == LockMode.UPDATE, kind),
                            missing, l.waited());
                }
            };
        }
    }

    /** An id in the entity's id type (the rows return BIGINT keys as Long, callers may pass an int). */
    private Object coerce(Object id) {
        Objects.requireNonNull(id, "ids must not contain null");
        if (idType.isInstance(id) || !(id instanceof Number n)) {
            return id;
        }
        if (idType == Long.class || idType == long.class) {
            return n.longValue();
        }
        if (idType == Integer.class || idType == int.class) {
            return Math.toIntExact(n.longValue());
        }
        if (idType == Short.class || idType == short.class) {
            return (short) n.intValue();
        }
        return id;
    }
}
