package dev.latchkey.spring.app;

import org.springframework.transaction.annotation.Transactional;

/** A caller that already runs a transaction. */
public class Outer {

    private final Checkout checkout;

    public Outer(Checkout checkout) {
        this.checkout = checkout;
    }

    @Transactional
    public int callRetrying(long id) {
        return checkout.increment(id);
    }

    @Transactional
    public int callJoined(long id) {
        return checkout.incrementJoined(id);
    }

    @Transactional
    public int callSpringRetry(long id) {
        return checkout.incrementWithSpringRetry(id);
    }
}
