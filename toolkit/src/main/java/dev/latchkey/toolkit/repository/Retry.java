package dev.latchkey.toolkit.repository;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs a repository method in its own transaction and retries it on contention (optimistic
 * conflicts, lock timeouts, deadlocks, serialization failures). The method must be safe to run
 * again: see {@link dev.latchkey.toolkit.retry.Transactor}.
 */
@Documented
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
public @interface Retry {

    /** Attempts in all. */
    int attempts() default 10;

    /** Cap on the first pause, in milliseconds. */
    long initialBackoffMillis() default 5;

    /** Cap on any pause, in milliseconds. */
    long maxBackoffMillis() default 500;
}
