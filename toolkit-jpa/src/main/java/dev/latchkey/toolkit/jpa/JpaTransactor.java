package dev.latchkey.toolkit.jpa;

import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import dev.latchkey.toolkit.retry.RetryLoop;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.TransactionException;
import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityManagerFactory;
import jakarta.persistence.EntityNotFoundException;
import jakarta.persistence.EntityTransaction;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Runs units of work on JPA entities, retrying the ones that meet contention, with a clean slate
 * for every attempt.
 *
 * <p>How {@link #execute} runs a unit of work:
 * <ol>
 *   <li>each attempt gets a new EntityManager (an empty persistence context, so every entity is read
 *       again from the database) and begins a new resource-local transaction;</li>
 *   <li>the work returns: commit, which flushes; a failing flush or commit (a stale {@code @Version},
 *       a deadlock, a serialization failure) counts as a failure of the attempt;</li>
 *   <li>the work throws: roll back;</li>
 *   <li>the EntityManager is closed, and {@link RetryLoop} decides whether to try again.</li>
 * </ol>
 *
 * <p>That is the point of the class: a retry inside a transaction that is already marked
 * rollback-only, or with entities still cached from the failed attempt, cannot succeed. A call made
 * while this transactor's transaction already runs on the thread joins it (no retry there: the
 * outer call retries the whole unit).
 *
 * <p><b>Idempotency contract:</b> the work may run more than once; what it does outside the
 * transaction must be safe to repeat. The entities it returns are detached.
 */
public final class JpaTransactor {

    private static final ThreadLocal<Map<EntityManagerFactory, EntityManager>> CURRENT =
            ThreadLocal.withInitial(IdentityHashMap::new);

    private final EntityManagerFactory emf;
    private final RetryLoop loop;

    public JpaTransactor(EntityManagerFactory emf, RetryPolicy policy, ToolkitMetrics metrics) {
        this(emf, new RetryLoop(policy, metrics));
    }

    public JpaTransactor(EntityManagerFactory emf, RetryLoop loop) {
        this.emf = Objects.requireNonNull(emf, "entityManagerFactory");
        this.loop = Objects.requireNonNull(loop, "loop");
    }

    public RetryPolicy policy() {
        return loop.policy();
    }

    /** Runs the work as operation "transaction". */
    public <T> T execute(JpaWork<T> work) {
        return execute("transaction", work);
    }

    /** Runs the work in a new EntityManager and transaction per attempt, retrying contention as the policy says. */
    public <T> T execute(String operation, JpaWork<T> work) {
        Objects.requireNonNull(operation, "operation");
        Objects.requireNonNull(work, "work");
        EntityManager outer = CURRENT.get().get(emf);
        if (outer != null) {
            return joined(outer, work);
        }
        return loop.run(operation, n -> attempt(work));
    }

    /**
     * Reads the entity in a new transaction, applies the change and commits, again from a fresh read
     * after each contention (a stale {@code @Version} most often). Returns the entity as committed.
     *
     * @throws EntityNotFoundException when there is no entity with that id
     */
    public <T> T modify(String operation, Class<T> type, Object id, Consumer<? super T> change) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(change, "change");
        return execute(operation, em -> {
            T entity = em.find(type, id);
            if (entity == null) {
                throw new EntityNotFoundException("no " + type.getSimpleName() + " with id " + id);
            }
            change.accept(entity);
            return entity;
        });
    }

    /** The EntityManager of this transactor's transaction running on this thread, if any. */
    public Optional<EntityManager> currentEntityManager() {
        return Optional.ofNullable(CURRENT.get().get(emf));
    }

    private <T> T attempt(JpaWork<T> work) throws Exception {
        EntityManager em = emf.createEntityManager();
        Map<EntityManagerFactory, EntityManager> current = CURRENT.get();
        try {
            EntityTransaction tx = em.getTransaction();
            tx.begin();
            current.put(emf, em);
            try {
                T result = work.run(em);
                tx.commit();
                return result;
            } catch (Throwable t) {
                if (tx.isActive()) {
                    try {
                        tx.rollback();
                    } catch (RuntimeException rollbackFailure) {
                        t.addSuppressed(rollbackFailure);
                    }
                }
                throw t;
            }
        } finally {
            current.remove(emf);
            if (current.isEmpty()) {
                CURRENT.remove();
            }
            em.close();
        }
    }

    private static <T> T joined(EntityManager em, JpaWork<T> work) {
        try {
            return work.run(em);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new TransactionException("unit of work failed: " + e.getMessage(), e);
        }
    }
}
