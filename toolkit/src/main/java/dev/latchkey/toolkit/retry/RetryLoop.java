package dev.latchkey.toolkit.retry;

import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.FailureClassifier;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Runs an attempt until it succeeds, retrying the failures that {@link FailureClassifier} calls
 * contention and the policy retries, with jittered backoff between attempts.
 *
 * <p>The loop knows nothing about transactions: each attempt must open (and end) its own, so that a
 * retry starts from a clean slate. {@link Transactor} drives JDBC attempts with it; the JPA
 * transactor and the Spring aspect drive theirs.
 *
 * <pre>{@code
 * RetryLoop loop = new RetryLoop(RetryPolicy.defaults(), ToolkitMetrics.NONE);
 * Order order = loop.run("checkout", attempt -> checkoutInItsOwnTransaction(cart));
 * }</pre>
 *
 * <p>The final failure is thrown as it was (a checked one wrapped in {@link TransactionException}),
 * with the earlier attempts' failures attached as suppressed.
 */
public final class RetryLoop {

    /** One try; {@code number} counts from 1. */
    @FunctionalInterface
    public interface Attempt<T> {
        T run(int number) throws Exception;
    }

    /** How the loop pauses; tests replace it. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(Duration duration) throws InterruptedException;
    }

    private final RetryPolicy policy;
    private final ToolkitMetrics metrics;
    private final Sleeper sleeper;

    public RetryLoop(RetryPolicy policy, ToolkitMetrics metrics) {
        this(policy, metrics, Thread::sleep);
    }

    public RetryLoop(RetryPolicy policy, ToolkitMetrics metrics, Sleeper sleeper) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    }

    public RetryPolicy policy() {
        return policy;
    }

    /** Runs the attempt, again after each retryable contention, at most {@code policy.maxAttempts()} times. */
    public <T> T run(String operation, Attempt<T> attempt) {
        Objects.requireNonNull(operation, "operation");
        Objects.requireNonNull(attempt, "attempt");
        List<Throwable> failures = new ArrayList<>();
        for (int number = 1; ; number++) {
            metrics.attempt(operation);
            Throwable failure;
            try {
                return attempt.run(number);
            } catch (Throwable t) {
                failure = t;
            }
            Optional<Contention> contention = FailureClassifier.classify(failure);
            contention.ifPresent(c -> metrics.contention(operation, c));
            boolean retry = contention.map(policy::retries).orElse(false) && number < policy.maxAttempts();
            if (!retry) {
                throw finalFailure(operation, failure, failures, number);
            }
            failures.add(failure);
            metrics.retry(operation, contention.get());
            try {
                sleeper.sleep(policy.backoff(number));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failures.remove(failures.size() - 1);
                throw finalFailure(operation, failure, failures, number);
            }
        }
    }

    private static RuntimeException finalFailure(String operation, Throwable last, List<Throwable> earlier, int attempts) {
        for (Throwable t : earlier) {
            if (t != last) {
                last.addSuppressed(t);
            }
        }
        if (last instanceof RuntimeException r) {
            return r;
        }
        if (last instanceof Error e) {
            throw e;
        }
        return new TransactionException(operation + " failed after " + attempts + " attempt(s): " + last.getMessage(), last);
    }
}
