package dev.latchkey.toolkit.metrics;

import dev.latchkey.toolkit.failure.Contention;
import java.time.Duration;

/**
 * What the toolkit reports as it works, each tagged by an operation name the caller chose. Every
 * method is a no-op by default; {@link dev.latchkey.toolkit.metrics.micrometer.MicrometerToolkitMetrics}
 * sends them to Micrometer when it is on the class path.
 */
public interface ToolkitMetrics {

    ToolkitMetrics NONE = new ToolkitMetrics() {
    };

    /** One attempt of a unit of work began. */
    default void attempt(String operation) {
    }

    /** An attempt failed with contention (conflicts, timeouts, deadlocks, ...). */
    default void contention(String operation, Contention kind) {
    }

    /** A failed attempt is being retried. */
    default void retry(String operation, Contention kind) {
    }

    /** A row-lock or advisory-lock acquisition finished, successfully or not, after this long. */
    default void lockWait(String operation, Duration waited, boolean acquired) {
    }
}
