package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.toolkit.failure.Contention;
import dev.latchkey.toolkit.failure.ContentionException;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import dev.latchkey.toolkit.retry.RetryLoop;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.TransactionException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RetryLoopTest {

    private final List<Duration> pauses = new ArrayList<>();

    private RetryLoop loop(RetryPolicy policy) {
        return new RetryLoop(policy, ToolkitMetrics.NONE, pauses::add);
    }

    @Test
    void retriesContentionUntilAnAttemptSucceedsAndCountsAttemptsFromOne() {
        List<Integer> numbers = new ArrayList<>();
        String result = loop(RetryPolicy.defaults()).run("op", n -> {
            numbers.add(n);
            if (n < 3) {
                throw new ContentionException(Contention.CONFLICT, "stale", null);
            }
            return "done";
        });
        assertThat(result).isEqualTo("done");
        assertThat(numbers).containsExactly(1, 2, 3);
        assertThat(pauses).hasSize(2);
    }

    @Test
    void troubleIsNotRetriedAndACheckedFailureComesWrapped() {
        List<Integer> numbers = new ArrayList<>();
        assertThatThrownBy(() -> loop(RetryPolicy.defaults()).run("op", n -> {
            numbers.add(n);
            throw new IOException("disk");
        })).isInstanceOf(TransactionException.class).hasRootCauseInstanceOf(IOException.class);
        assertThat(numbers).containsExactly(1);
        assertThat(pauses).isEmpty();
    }

    @Test
    void theLastFailureCarriesTheEarlierOnesAndKindsThePolicyLeavesOutAreNotRetried() {
        Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> loop(RetryPolicy.defaults().withMaxAttempts(3)).run("op", n -> {
            throw new ContentionException(Contention.LOCK_TIMEOUT, "attempt " + n, null);
        }));
        assertThat(thrown).hasMessage("attempt 3");
        assertThat(thrown.getSuppressed()).extracting(Throwable::getMessage).containsExactly("attempt 1", "attempt 2");

        List<Integer> numbers = new ArrayList<>();
        assertThatThrownBy(() -> loop(RetryPolicy.defaults().retryingOnly(Contention.DEADLOCK)).run("op", n -> {
            numbers.add(n);
            throw new ContentionException(Contention.CONFLICT, "stale", null);
        })).isInstanceOf(ContentionException.class);
        assertThat(numbers).containsExactly(1);
    }

    @Test
    void anInterruptedPauseEndsTheLoopWithTheInterruptFlagSet() {
        RetryLoop loop = new RetryLoop(RetryPolicy.defaults(), ToolkitMetrics.NONE, d -> {
            throw new InterruptedException();
        });
        try {
            assertThatThrownBy(() -> loop.run("op", n -> {
                throw new ContentionException(Contention.DEADLOCK, "victim", null);
            })).isInstanceOf(ContentionException.class).satisfies(t -> assertThat(t.getSuppressed()).isEmpty());
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }
}
