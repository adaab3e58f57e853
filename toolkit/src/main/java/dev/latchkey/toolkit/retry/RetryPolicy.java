package dev.latchkey.toolkit.retry;

import dev.latchkey.toolkit.failure.Contention;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How often, and after what pause, a unit of work is tried again when it meets contention.
 *
 * <p>The pause before attempt {@code n + 1} is drawn uniformly from {@code [0, min(maxBackoff,
 * initialBackoff * multiplier^(n-1))]} ("full jitter"), so that racing callers spread out instead of
 * colliding again in step.
 *
 * @param maxAttempts    attempts in all, at least 1
 * @param initialBackoff the cap on the first pause
 * @param maxBackoff     the cap on any pause
 * @param multiplier     how fast the cap grows, at least 1
 * @param retryOn        which contention kinds are retried
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double multiplier,
        Set<Contention> retryOn) {

    public RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, not " + maxAttempts);
        }
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        if (initialBackoff.isNegative() || maxBackoff.isNegative()) {
            throw new IllegalArgumentException("backoff cannot be negative");
        }
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("maxBackoff " + maxBackoff + " is below initialBackoff " + initialBackoff);
        }
        if (!(multiplier >= 1.0)) {
            throw new IllegalArgumentException("multiplier must be at least 1, not " + multiplier);
        }
        retryOn = Set.copyOf(retryOn);
        for (Contention c : retryOn) {
            if (!c.retryable()) {
                throw new IllegalArgumentException(c + " is not retryable");
            }
        }
    }

    /** 10 attempts, pauses from 5 ms growing ×2 up to 500 ms, every retryable contention. */
    public static RetryPolicy defaults() {
        return new RetryPolicy(10, Duration.ofMillis(5), Duration.ofMillis(500), 2.0, EnumSet.allOf(Contention.class));
    }

    /** One attempt, no retry. */
    public static RetryPolicy none() {
        return defaults().withMaxAttempts(1);
    }

    public RetryPolicy withMaxAttempts(int attempts) {
        return new RetryPolicy(attempts, initialBackoff, maxBackoff, multiplier, retryOn);
    }

    public RetryPolicy withBackoff(Duration initial, Duration max) {
        return new RetryPolicy(maxAttempts, initial, max, multiplier, retryOn);
    }

    public RetryPolicy withMultiplier(double value) {
        return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, value, retryOn);
    }

    public RetryPolicy retryingOnly(Contention first, Contention... rest) {
        return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, multiplier, EnumSet.of(first, rest));
    }

    public boolean retries(Contention contention) {
        return retryOn.contains(contention);
    }

    /** The cap on the pause after the given failed attempt (1-based). */
    public Duration backoffCap(int failedAttempt) {
        double cap = initialBackoff.toNanos() * Math.pow(multiplier, Math.max(0, failedAttempt - 1));
        return Duration.ofNanos((long) Math.min(cap, maxBackoff.toNanos()));
    }

    /** A jittered pause after the given failed attempt. */
    public Duration backoff(int failedAttempt) {
        long cap = backoffCap(failedAttempt).toNanos();
        return cap == 0 ? Duration.ZERO : Duration.ofNanos(ThreadLocalRandom.current().nextLong(cap + 1));
    }
}
