package dev.latchkey.shop;

import java.util.ArrayList;
import java.util.List;

/**
 * What one arena buyer did, on the round's clock: when it started and got its answer, each payment
 * it made (a payment that did not end in a purchase was wasted: the optimistic buyer who lost the
 * race pays again), and the answer. Collected only for arena buyers: a checkout records its payments
 * into the trace of its thread when there is one.
 */
public record BuyerTrace(String buyer, double startMs, double endMs, List<double[]> paymentsMs, Purchase.Outcome outcome, int attempts) {

    private static final ThreadLocal<Recorder> CURRENT = new ThreadLocal<>();

    /** Collects one buyer's payments while its checkout runs on this thread. */
    static final class Recorder implements AutoCloseable {
        private final long origin;
        private final List<double[]> payments = new ArrayList<>();

        Recorder(long originNanos) {
            this.origin = originNanos;
            CURRENT.set(this);
        }

        List<double[]> payments() {
            return payments;
        }

        double ms(long nanos) {
            return (nanos - origin) / 1e6;
        }

        @Override
        public void close() {
            CURRENT.remove();
        }
    }

    /** Notes a payment from {@code startNanos} to now, if a trace is being recorded on this thread. */
    static void paid(long startNanos) {
        Recorder r = CURRENT.get();
        if (r != null) {
            r.payments.add(new double[] {r.ms(startNanos), r.ms(System.nanoTime())});
        }
    }
}
