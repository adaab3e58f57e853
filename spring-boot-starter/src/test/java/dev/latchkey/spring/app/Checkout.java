package dev.latchkey.spring.app;

import dev.latchkey.spring.ContentionRetryPredicate;
import dev.latchkey.spring.RetryOnContention;
import jakarta.persistence.EntityManager;
import jakarta.persistence.PersistenceContext;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.resilience.annotation.Retryable;
import org.springframework.transaction.annotation.Transactional;

/** The service the tests drive: the same increment under @RetryOnContention, join, and Spring's @Retryable. */
public class Checkout {

    @PersistenceContext
    private EntityManager em;

    private final AtomicInteger runs = new AtomicInteger();
    private final Set<Object> sessions = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private volatile Runnable behindTheBack = () -> { };

    /** (The bean is a class proxy: tests read its state through methods, which reach the target.) */
    public AtomicInteger runs() {
        return runs;
    }

    public Set<Object> sessions() {
        return sessions;
    }

    /** Runs before the first attempt's flush: lets a test write behind the transaction's back. */
    public void behindTheBack(Runnable action) {
        this.behindTheBack = action;
    }

    @RetryOnContention(policy = "checkout")
    @Transactional
    public int increment(long id) {
        return bump(id);
    }

    @RetryOnContention(join = true)
    @Transactional
    public int incrementJoined(long id) {
        return bump(id);
    }

    @Retryable(predicate = ContentionRetryPredicate.class, maxRetries = 3, delay = 0, jitter = 0)
    @Transactional
    public int incrementWithSpringRetry(long id) {
        return bump(id);
    }

    private int bump(long id) {
        int run = runs.incrementAndGet();
        sessions.add(em.getDelegate()); // the transaction's own Session, behind the shared proxy
        Item item = em.find(Item.class, id);
        if (run == 1) {
            behindTheBack.run();
        }
        item.setStock(item.getStock() + 1);
        em.flush();
        return item.getStock();
    }
}
