package dev.latchkey.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.spring.app.Checkout;
import dev.latchkey.spring.app.Outer;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

class RetryOnContentionTest {

    @DatabaseTest
    void sixtyFourThreadsIncrementOneVersionedEntityEachAttemptInANewTransaction(TestDatabase db) throws Exception {
        Shop.on(db, 1).run(context -> {
            assertThat(context).hasNotFailed();
            Checkout checkout = context.getBean(Checkout.class);
            ExecutorService pool = Executors.newFixedThreadPool(64);
            try {
                List<Future<Integer>> calls = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    calls.add(pool.submit(() -> checkout.increment(1L)));
                }
                for (Future<Integer> f : calls) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(Shop.stock(db, 1)).isEqualTo(10 + 64);
            MeterRegistry meters = context.getBean(MeterRegistry.class);
            double attempts = meters.get("latchkey.attempts").tag("operation", "Checkout.increment").counter().count();
            assertThat(checkout.runs().get()).as("the method body ran once per attempt").isEqualTo((int) attempts);
            assertThat(checkout.sessions()).as("every attempt had a transaction (and persistence context) of its own")
                    .hasSize(checkout.runs().get());
            double retries = meters.find("latchkey.retries").tag("operation", "Checkout.increment").counters().stream()
                    .mapToDouble(c -> c.count()).sum();
            assertThat(attempts).isEqualTo(64 + retries);
            System.out.printf("%s: 64 increments through @RetryOnContention @Transactional took %.0f attempts%n", db, attempts);
        });
    }

    @DatabaseTest
    void insideAnOuterTransactionItIsRefusedBeforeAnyStatementOrJoinsWhenAskedTo(TestDatabase db) throws Exception {
        Shop.on(db, 1).run(context -> {
            Checkout checkout = context.getBean(Checkout.class);
            Outer outer = context.getBean(Outer.class);
            assertThatThrownBy(() -> outer.callRetrying(1L)).isInstanceOf(RetryInsideTransactionException.class)
                    .hasMessageContaining("Checkout.increment").hasMessageContaining("join = true");
            assertThat(checkout.runs()).as("the method never ran").hasValue(0);
            assertThat(Shop.stock(db, 1)).isEqualTo(10);

            assertThat(outer.callJoined(1L)).isEqualTo(11);
            assertThat(checkout.runs()).hasValue(1);
            assertThat(Shop.stock(db, 1)).isEqualTo(11);
        });
    }

    @DatabaseTest
    void aStaleVersionIsRetriedInAFreshTransaction(TestDatabase db) throws Exception {
        Shop.on(db, 1).run(context -> {
            Checkout checkout = context.getBean(Checkout.class);
            checkout.behindTheBack(() -> Shop.bumpBehindTheBack(db, 1));
            assertThat(checkout.increment(1L)).isEqualTo(12);
            assertThat(checkout.runs()).hasValue(2);
            assertThat(Shop.stock(db, 1)).isEqualTo(12);
        });
    }

    /**
     * Peer pin: Spring Framework 7's own {@code @Retryable}, with the toolkit's predicate, inside a
     * caller's transaction. Every retry joins the same transaction and persistence context, which the
     * first failure has already marked rollback-only: it cannot succeed, and the caller's commit fails.
     */
    @DatabaseTest
    void peerPinSpringRetryableInsideAnOuterTransactionRetriesInTheDeadTransaction(TestDatabase db) throws Exception {
        Shop.on(db, 1).run(context -> {
            Checkout checkout = context.getBean(Checkout.class);
            Outer outer = context.getBean(Outer.class);
            checkout.behindTheBack(() -> Shop.bumpBehindTheBack(db, 1));
            Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() -> outer.callSpringRetry(1L));
            System.out.printf("PIN %s @Retryable inside a transaction: %d runs, %d sessions, %s%n", db.database(), checkout.runs().get(),
                    checkout.sessions().size(), failure);
            assertThat(failure).isNotNull();
            assertThat(checkout.runs()).as("the first run and all three retries ran, and failed").hasValue(4);
            assertThat(checkout.sessions()).as("all attempts shared one persistence context").hasSize(1);
            assertThat(Shop.stock(db, 1)).as("only the write behind its back stands").isEqualTo(11);
        });
    }
}
