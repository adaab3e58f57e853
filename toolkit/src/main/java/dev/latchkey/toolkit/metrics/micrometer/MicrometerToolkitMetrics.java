package dev.latchkey.toolkit.metrics.micrometer;

import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Locale;

/**
 * Sends toolkit metrics to a Micrometer registry:
 * <ul>
 *   <li>{@code latchkey.attempts} (counter, tag {@code operation})</li>
 *   <li>{@code latchkey.contention} (counter, tags {@code operation}, {@code kind}: conflict, lock_not_available,
 *       lock_timeout, deadlock, serialization_failure)</li>
 *   <li>{@code latchkey.retries} (counter, tags {@code operation}, {@code kind})</li>
 *   <li>{@code latchkey.lock.wait} (timer, tags {@code operation}, {@code acquired})</li>
 * </ul>
 * Micrometer is an optional dependency of the toolkit: add {@code micrometer-core} to use this class.
 */
public final class MicrometerToolkitMetrics implements ToolkitMetrics {

    private final MeterRegistry registry;

    public MicrometerToolkitMetrics(MeterRegistry registry) {
        this.registry = java.util.Objects.requireNonNull(registry, "registry");
    }

    @Override
    public void attempt(String operation) {
        Counter.builder("latchkey.attempts").tag("operation", operation)
                .description("attempts of units of work").register(registry).increment();
    }

    @Override
    public void contention(String operation, Contention kind) {
        Counter.builder("latchkey.contention").tag("operation", operation).tag("kind", tag(kind))
                .description("attempts that met contention").register(registry).increment();
    }

    @Override
    public void retry(String operation, Contention kind) {
        Counter.builder("latchkey.retries").tag("operation", operation).tag("kind", tag(kind))
                .description("attempts retried after contention").register(registry).increment();
    }

    @Override
    public void lockWait(String operation, Duration waited, boolean acquired) {
        Timer.builder("latchkey.lock.wait").tag("operation", operation).tag("acquired", Boolean.toString(acquired))
                .description("time spent acquiring row and advisory locks").register(registry).record(waited);
    }

    private static String tag(Contention kind) {
        return kind.name().toLowerCase(Locale.ROOT);
    }
}
