package dev.latchkey.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs the method again when it fails with contention (a stale {@code @Version}, a lock timeout, a
 * deadlock, a serialization failure), each attempt in a transaction of its own.
 *
 * <pre>{@code
 * @RetryOnContention(policy = "checkout")
 * @Transactional
 * public Order buy(long itemId) { ... }
 * }</pre>
 *
 * <p>The retry runs <em>outside</em> {@code @Transactional} (the starter orders its advice before
 * the transaction's), so every attempt begins and ends its own transaction. Entered while a
 * transaction is already active (a caller's {@code @Transactional}), the method is refused with a
 * {@link RetryInsideTransactionException} before any statement runs: a retry there would repeat
 * work inside a transaction that the failure has already marked rollback-only. With
 * {@code join = true} it runs once in the caller's transaction instead, and the caller's own
 * {@code @RetryOnContention} retries the whole.
 */
@Target({ElementType.METHOD, ElementType.TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Inherited
@Documented
public @interface RetryOnContention {

    /** The retry policy's name under {@code latchkey.retry.policies}; "default" when not configured. */
    String policy() default "default";

    /** The operation name for metrics; the class and method name when empty. */
    String operation() default "";

    /** Inside an active transaction: run once without retrying (true) or refuse (false). */
    boolean join() default false;
}
