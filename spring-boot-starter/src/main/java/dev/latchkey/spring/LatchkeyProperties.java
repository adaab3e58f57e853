package dev.latchkey.spring;

import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.retry.RetryPolicy;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.core.Ordered;

/** Settings under {@code latchkey.*}. */
@ConfigurationProperties("latchkey")
public class LatchkeyProperties {

    /** Whether Latchkey's toolkit beans and the @RetryOnContention advice are set up. */
    private boolean enabled = true;

    private final Retry retry = new Retry();

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public Retry getRetry() {
        return retry;
    }

    public static class Retry {

        /** Named retry policies, chosen with @RetryOnContention(policy = "name"); "default" applies otherwise. */
        private Map<String, Policy> policies = new LinkedHashMap<>();

        /**
         * The order of the @RetryOnContention advice. It must run before (outside) the transaction
         * advice, whose order is Ordered.LOWEST_PRECEDENCE unless set otherwise.
         */
        private int advisorOrder = Ordered.LOWEST_PRECEDENCE - 1000;

        public Map<String, Policy> getPolicies() {
            return policies;
        }

        public void setPolicies(Map<String, Policy> policies) {
            this.policies = policies;
        }

        public int getAdvisorOrder() {
            return advisorOrder;
        }

        public void setAdvisorOrder(int advisorOrder) {
            this.advisorOrder = advisorOrder;
        }
    }

    public static class Policy {

        /** Attempts in all, at least 1. */
        private int maxAttempts = 10;

        /** The cap on the first pause (each pause is drawn at random below its cap). */
        private Duration initialBackoff = Duration.ofMillis(5);

        /** The cap on any pause. */
        private Duration maxBackoff = Duration.ofMillis(500);

        /** How fast the cap grows from one attempt to the next, at least 1. */
        private double multiplier = 2.0;

        /** Which kinds of contention are retried. */
        private Set<Contention> retryOn = EnumSet.allOf(Contention.class);

        public RetryPolicy toPolicy() {
            return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, multiplier, retryOn);
        }

        public int getMaxAttempts() {
            return maxAttempts;
        }

        public void setMaxAttempts(int maxAttempts) {
            this.maxAttempts = maxAttempts;
        }

        public Duration getInitialBackoff() {
            return initialBackoff;
        }

        public void setInitialBackoff(Duration initialBackoff) {
            this.initialBackoff = initialBackoff;
        }

        public Duration getMaxBackoff() {
            return maxBackoff;
        }

        public void setMaxBackoff(Duration maxBackoff) {
            this.maxBackoff = maxBackoff;
        }

        public double getMultiplier() {
            return multiplier;
        }

        public void setMultiplier(double multiplier) {
            this.multiplier = multiplier;
        }

        public Set<Contention> getRetryOn() {
            return retryOn;
        }

        public void setRetryOn(Set<Contention> retryOn) {
            this.retryOn = retryOn;
        }
    }
}
