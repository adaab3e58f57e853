package dev.latchkey.shop;

import java.time.Duration;

/** What one checkout ended with, how many attempts it took and how long. */
public record Purchase(Outcome outcome, int attempts, Duration latency) {

    public enum Outcome {
        /** The buyer got the item. */
        PURCHASED("Thank you: the item is yours."),
        /** There was none left when the buyer tried. */
        SOLD_OUT("Sorry, this item has just sold out."),
        /** Someone else held the item (NOWAIT) or the lock wait ran out: the buyer may try again. */
        BUSY("Someone else is buying this item right now; please try again in a moment.");

        private final String message;

        Outcome(String message) {
            this.message = message;
        }

        /** The words the shop shows the buyer. */
        public String message() {
            return message;
        }
    }
}
