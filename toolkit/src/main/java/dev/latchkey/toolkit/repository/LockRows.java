package dev.latchkey.toolkit.repository;

import dev.latchkey.toolkit.pessimistic.LockMode;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs a repository method in a transaction that first locks the rows whose keys are given by
 * one of its arguments (a single key, or a collection of keys). Combine with {@link Retry} to retry
 * when the lock cannot be had.
 */
@Documented
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
public @interface LockRows {

    /** The table whose rows are locked. */
    String table();

    /** Its key column. */
    String key();

    /** Which argument (0-based) holds the key or keys. */
    int keyArgument() default 0;

    LockMode mode() default LockMode.UPDATE;

    /** How to wait for a locked row. */
    Wait waitPolicy() default Wait.DATABASE_DEFAULT;

    /** With {@link Wait#AT_MOST}: the bound in milliseconds. */
    long waitMillis() default 0;

    /** Wait policies expressible in an annotation. */
    enum Wait {
        DATABASE_DEFAULT,
        NO_WAIT,
        AT_MOST
    }
}
