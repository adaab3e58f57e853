package dev.latchkey.shop;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What an arena run's numbers say, in sentences: for each payment time, which strategy answered the
 * buyers who did not get the item fastest, which made buyers pay for nothing, which told buyers
 * "busy" while the item was merely being bought, and what that means for the two questions the arena
 * asks (is optimistic locking the better bet when locks are held long; is pessimistic locking's
 * request rate inflated by turning buyers away).
 */
final class Verdict {

    private Verdict() {
    }

    static List<String> of(List<Arena.Result> results) {
        List<String> out = new ArrayList<>();
        if (results.isEmpty()) {
            return out;
        }
        long oversold = results.stream().filter(r -> r.oversold() > 0).count();
        out.add(oversold == 0 ? "Correctness: every strategy sold exactly the stock; nobody was sold an item that was not there."
                : "Correctness: " + oversold + " round(s) oversold; see the table.");
        Map<Long, List<Arena.Result>> byPayment = new LinkedHashMap<>();
        results.forEach(r -> byPayment.computeIfAbsent(r.round().payment().toMillis(), p -> new ArrayList<>()).add(r));
        byPayment.forEach((payment, rounds) -> out.addAll(at(payment, rounds)));
        return out;
    }

    private static List<String> at(long payment, List<Arena.Result> rounds) {
        List<String> out = new ArrayList<>();
        String when = "At " + payment + " ms payment: ";
        List<Arena.Result> withLosers = rounds.stream().filter(r -> r.round().buyers() > r.purchased()).toList();
        if (withLosers.size() > 1) {
            Arena.Result fastest = withLosers.stream().min(Comparator.comparingDouble(Arena.Result::loserP50Millis)).orElseThrow();
            Arena.Result slowest = withLosers.stream().max(Comparator.comparingDouble(Arena.Result::loserP50Millis)).orElseThrow();
            out.add(String.format(Locale.ROOT, "%s%s answered the buyers who did not get the item fastest (median %s), %s slowest (%s).", when,
                    fastest.round().label(), ms(fastest.loserP50Millis()), slowest.round().label(), ms(slowest.loserP50Millis())));
        }
        List<Arena.Result> wasteful = rounds.stream().filter(r -> r.wastedPayments() > 0)
                .sorted(Comparator.comparingInt(Arena.Result::wastedPayments).reversed()).toList();
        if (wasteful.isEmpty()) {
            out.add(when + "no strategy made a buyer pay for an item it did not get.");
        } else {
            out.add(when + String.join("; ", wasteful.stream().map(r -> String.format(Locale.ROOT, "%s made %d payment%s that bought nothing",
                    r.round().label(), r.wastedPayments(), r.wastedPayments() == 1 ? "" : "s")).toList())
                    + " (buyers who paid, lost the race, and paid again or were turned away).");
        }
        List<Arena.Result> busy = rounds.stream().filter(r -> r.busy() > 0 && r.purchased() > 0).toList();
        if (!busy.isEmpty()) {
            out.add(when + String.join("; ", busy.stream().map(r -> String.format(Locale.ROOT, "%s told %d of %d buyers \"busy\"",
                    r.round().label(), r.busy(), r.round().buyers())).toList())
                    + ", for an item that was only being bought: it sold in the same round, so \"busy\" was really \"sold out\" or \"wait a moment\".");
        }
        optimisticVersusWaiting(rounds).ifPresent(s -> out.add(when + s));
        inflatedRate(rounds).ifPresent(s -> out.add(when + s));
        return out;
    }

    /** The first question: with the lock held for the payment, does optimistic locking do better than waiting for the row lock? */
    private static Optional<String> optimisticVersusWaiting(List<Arena.Result> rounds) {
        Optional<Arena.Result> optimistic = find(rounds, Strategy.OPTIMISTIC);
        Optional<Arena.Result> waiting = find(rounds, Strategy.PESSIMISTIC_WAIT);
        if (optimistic.isEmpty() || waiting.isEmpty()) {
            return Optional.empty();
        }
        Arena.Result o = optimistic.get();
        Arena.Result w = waiting.get();
        boolean faster = o.requestsPerSecond() > w.requestsPerSecond();
        return Optional.of(String.format(Locale.ROOT, "optimistic answered %.0f buyers a second against pessimistic-wait's %.0f (%s), "
                + "and made %d wasted payment%s against %d: %s", o.requestsPerSecond(), w.requestsPerSecond(), faster ? "faster" : "slower",
                o.wastedPayments(), o.wastedPayments() == 1 ? "" : "s", w.wastedPayments(), faster
                        ? "no lock is held while paying, so nobody queues, but the losers paid for nothing."
                        : "the row lock made buyers queue, but nobody paid twice."));
    }

    /** The second question: is a strategy's answer rate high because it turns buyers away? */
    private static Optional<String> inflatedRate(List<Arena.Result> rounds) {
        return find(rounds, Strategy.PESSIMISTIC_NOWAIT).filter(r -> r.busyShare() > 0.25).map(r -> String.format(Locale.ROOT,
                "pessimistic-nowait answered %.0f buyers a second, but %.0f%% of those answers were \"busy\": its rate is high because it "
                        + "turns buyers away at once, not because it sells faster.", r.requestsPerSecond(), 100 * r.busyShare()));
    }

    private static Optional<Arena.Result> find(List<Arena.Result> rounds, Strategy s) {
        return rounds.stream().filter(r -> r.round().strategy() == s && r.round().impl() == Arena.Impl.JDBC).findFirst()
                .or(() -> rounds.stream().filter(r -> r.round().strategy() == s).findFirst());
    }

    private static String ms(double millis) {
        return millis < 10 ? String.format(Locale.ROOT, "%.1f ms", millis) : String.format(Locale.ROOT, "%.0f ms", millis);
    }
}
