package dev.latchkey.shop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Sends N concurrent buyers (virtual threads) at one item with stock K under a strategy, and
 * measures what happened: purchases, oversells (must be 0), sold-out answers, busy answers (lock-wait
 * failures), retried conflicts, throughput and latency percentiles.
 */
public final class Arena {

    /** How the checkout is written: plain JDBC with the toolkit, or JPA entities with the JPA toolkit. */
    public enum Impl {
        JDBC,
        JPA;

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Impl parse(String text) {
            for (Impl i : values()) {
                if (i.id().equals(text.trim().toLowerCase(java.util.Locale.ROOT))) {
                    return i;
                }
            }
            throw new IllegalArgumentException("unknown implementation '" + text + "' (known: jdbc, jpa)");
        }
    }

    private final Shop shop;
    private final JpaCheckout jpa;

    public Arena(Shop shop) {
        this(shop, null);
    }

    /** @param jpa the JPA checkout for rounds with {@link Impl#JPA} (null: JDBC only) */
    public Arena(Shop shop, JpaCheckout jpa) {
        this.shop = shop;
        this.jpa = jpa;
    }

    /** One arena run's settings. */
    public record Round(Strategy strategy, int buyers, int stock, Duration payment, Impl impl) {

        public Round(Strategy strategy, int buyers, int stock, Duration payment) {
            this(strategy, buyers, stock, payment, Impl.JDBC);
        }

        /** "optimistic", or "optimistic (jpa)" for the JPA checkout. */
        public String label() {
            return impl == Impl.JDBC ? strategy.id() : strategy.id() + " (" + impl.id() + ")";
        }

        public Round {
            java.util.Objects.requireNonNull(impl, "impl");
            if (buyers < 1 || buyers > 10_000) {
                throw new IllegalArgumentException("buyers must be between 1 and 10000, not " + buyers);
            }
            if (stock < 0) {
                throw new IllegalArgumentException("stock cannot be negative: " + stock);
            }
            if (payment.isNegative() || payment.compareTo(Duration.ofSeconds(10)) > 0) {
                throw new IllegalArgumentException("payment time must be between 0 and 10 s, not " + payment);
            }
        }
    }

    /** What a round measured. */
    /**
     * @param payments        payments made (a buyer who retried may have paid more than once)
     * @param loserP50Millis  the median time to an answer for the buyers who did not get the item
     * @param timeline        each buyer's trace (the first {@link #TIMELINE_BUYERS}), on the round's clock
     */
    public record Result(Round round, int purchased, int oversold, int soldOut, int busy, int retries, int errors,
            long ordersInDatabase, long stockLeft, Duration elapsed, double requestsPerSecond, double p50Millis,
            double p95Millis, double p99Millis, int payments, double loserP50Millis, List<BuyerTrace> timeline) {

        /** Payments that did not buy anything (made by buyers who then lost, and retried or gave up). */
        public int wastedPayments() {
            return Math.max(0, payments - purchased);
        }

        /** The share of buyers told "busy": turned away while the item was being bought, not because it was gone. */
        public double busyShare() {
            return round.buyers() == 0 ? 0 : (double) busy / round.buyers();
        }
    }

    /** How many buyers of a round are traced for the timeline. */
    static final int TIMELINE_BUYERS = 200;

    /**
     * Runs every strategy once, unreported, so that the measured rounds do not pay for opening
     * connections, loading classes and compiling the hot paths.
     */
    public void warmUp(int buyers) throws Exception {
        for (Impl impl : jpa == null ? List.of(Impl.JDBC) : List.of(Impl.values())) {
            for (Strategy s : Strategy.values()) {
                run(new Round(s, Math.min(buyers, 64), 1, Duration.ZERO, impl), 0);
            }
        }
    }

    public Result run(Round round, long itemId) throws Exception {
        return run(round, itemId, () -> { });
    }

    /** Runs a round; {@code onBuyerDone} is called as each buyer gets an answer (for live progress). */
    public Result run(Round round, long itemId, Runnable onBuyerDone) throws Exception {
        if (round.impl() == Impl.JPA && jpa == null) {
            throw new IllegalArgumentException("this arena has no JPA checkout");
        }
        shop.stockItem(itemId, "Last latch key", 1999, round.stock());
        List<Future<Purchase>> futures = new ArrayList<>(round.buyers());
        CountDownLatch start = new CountDownLatch(1);
        long began;
        long ended;
        int errors = 0;
        List<Purchase> purchases = new ArrayList<>();
        List<BuyerTrace> traces = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicInteger payments = new java.util.concurrent.atomic.AtomicInteger();
        try (ExecutorService buyers = Executors.newVirtualThreadPerTaskExecutor()) {
            long[] origin = new long[1];
            for (int i = 0; i < round.buyers(); i++) {
                String buyer = "buyer-" + i;
                boolean traced = i < TIMELINE_BUYERS;
                futures.add(buyers.submit(() -> {
                    start.await();
                    long t0 = System.nanoTime();
                    try (BuyerTrace.Recorder recorder = new BuyerTrace.Recorder(origin[0])) {
                        Purchase p = round.impl() == Impl.JPA ? jpa.checkout(itemId, buyer, round.payment(), round.strategy())
                                : shop.checkout(itemId, buyer, round.payment(), round.strategy());
                        if (traced) {
                            traces.add(new BuyerTrace(buyer, recorder.ms(t0), recorder.ms(System.nanoTime()), List.copyOf(recorder.payments()),
                                    p.outcome(), p.attempts()));
                        }
                        payments.addAndGet(recorder.payments().size());
                        return p;
                    } finally {
                        onBuyerDone.run();
                    }
                }));
            }
            began = System.nanoTime();
            origin[0] = began;
            start.countDown();
            for (Future<Purchase> f : futures) {
                try {
                    purchases.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    errors++;
                }
            }
            ended = System.nanoTime();
        }
        long[] stockAndOrders = shop.stockAndOrders(itemId);
        int purchased = count(purchases, Purchase.Outcome.PURCHASED);
        double[] millis = purchases.stream().mapToDouble(p -> p.latency().toNanos() / 1e6).sorted().toArray();
        double[] loserMillis = purchases.stream().filter(p -> p.outcome() != Purchase.Outcome.PURCHASED)
                .mapToDouble(p -> p.latency().toNanos() / 1e6).sorted().toArray();
        List<BuyerTrace> timeline = new ArrayList<>(traces);
        timeline.sort(java.util.Comparator.comparingDouble(BuyerTrace::startMs));
        Duration elapsed = Duration.ofNanos(ended - began);
        return new Result(round, purchased, (int) Math.max(0, stockAndOrders[1] - round.stock()),
                count(purchases, Purchase.Outcome.SOLD_OUT), count(purchases, Purchase.Outcome.BUSY),
                purchases.stream().mapToInt(p -> p.attempts() - 1).sum(), errors, stockAndOrders[1], stockAndOrders[0],
                elapsed, round.buyers() / Math.max(1e-9, elapsed.toNanos() / 1e9),
                percentile(millis, 50), percentile(millis, 95), percentile(millis, 99), payments.get(), percentile(loserMillis, 50),
                List.copyOf(timeline));
    }

    private static int count(List<Purchase> purchases, Purchase.Outcome outcome) {
        return (int) purchases.stream().filter(p -> p.outcome() == outcome).count();
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

}
