package dev.latchkey.shop;

import java.util.Locale;

/** The ways the shop can sell the last item, each explained the way a buyer would hear it. */
public enum Strategy {
    /** Read stock and version, pay, then compare-and-set; a conflict re-reads and pays again. */
    OPTIMISTIC("optimistic", "version compare-and-set; a buyer who loses the race starts over"),
    /** Lock the item row, pay while holding it, write; other buyers queue behind the lock. */
    PESSIMISTIC_WAIT("pessimistic-wait", "FOR UPDATE; buyers queue while one pays, up to a bounded wait"),
    /** Try to lock the item row without waiting; a buyer who finds it locked is told to try again. */
    PESSIMISTIC_NOWAIT("pessimistic-nowait", "FOR UPDATE NOWAIT; someone else is buying this, try again"),
    /** Take one unit with {@code UPDATE ... SET stock = stock - 1 WHERE stock > 0}, then pay. */
    CONDITIONAL_UPDATE("conditional-update", "one atomic UPDATE ... WHERE stock > 0 reserves the unit, payment follows"),
    /** Hold the coordinator's lock on the item while paying; the stock update and the order are fenced by its sequencer. */
    COORDINATOR_LOCK("coordinator-lock", "a coordinator lock per item; writes fenced by the lock's sequencer");

    private final String id;
    private final String description;

    /** What the strategy locks, and when a buyer gets an answer (for the arena page). */
    public String locks() {
        return switch (this) {
            case OPTIMISTIC -> "Nothing. Reads stock and version, pays, then writes only if the version is unchanged.";
            case PESSIMISTIC_WAIT -> "The item's row (SELECT ... FOR UPDATE), from before payment until the commit.";
            case PESSIMISTIC_NOWAIT -> "The item's row, as pessimistic-wait, but never waits for it (FOR UPDATE NOWAIT).";
            case CONDITIONAL_UPDATE -> "The row for one UPDATE only: stock = stock - 1 WHERE stock > 0, before payment.";
            case COORDINATOR_LOCK -> "A coordinator lock per item, held while paying; the stock write is fenced by its sequencer.";
        };
    }

    public String answers() {
        return switch (this) {
            case OPTIMISTIC -> "At once, but a buyer who loses the race has paid for nothing, and pays again on the retry.";
            case PESSIMISTIC_WAIT -> "After queueing behind whoever holds the row: losers wait for each payment ahead of them.";
            case PESSIMISTIC_NOWAIT -> "At once: a buyer who finds the row locked is told \"busy, try again\", even if the item then sells.";
            case CONDITIONAL_UPDATE -> "At once: the unit is reserved or it is gone; only the winner pays.";
            case COORDINATOR_LOCK -> "After queueing for the coordinator's lock, as pessimistic-wait, but across processes and databases.";
        };
    }

    Strategy(String id, String description) {
        this.id = id;
        this.description = description;
    }

    public String id() {
        return id;
    }

    public String description() {
        return description;
    }

    public static Strategy parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (Strategy s : values()) {
            if (s.id.equals(t)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown strategy '" + text + "' (known: optimistic, pessimistic-wait, "
                + "pessimistic-nowait, conditional-update, coordinator-lock)");
    }
}
