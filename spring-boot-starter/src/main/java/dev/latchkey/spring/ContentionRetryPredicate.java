package dev.latchkey.spring;

import dev.latchkey.toolkit.failure.FailureClassifier;
import java.lang.reflect.Method;
import org.springframework.resilience.retry.MethodRetryPredicate;

/**
 * For Spring's own {@code @Retryable}: retry exactly the failures the toolkit classifies as
 * contention, by database code anywhere in the cause chain.
 *
 * <pre>{@code
 * @Retryable(predicate = ContentionRetryPredicate.class, maxRetries = 5)
 * }</pre>
 *
 * <p>Mind where it runs: {@code @Retryable} does not start a transaction per attempt, and inside a
 * caller's transaction it retries in the same, rollback-only transaction (see docs/jpa-spring.md).
 * {@link RetryOnContention} refuses that case.
 */
public class ContentionRetryPredicate implements MethodRetryPredicate {

    @Override
    public boolean shouldRetry(Method method, Throwable throwable) {
        return FailureClassifier.classify(throwable).isPresent();
    }
}
