package dev.latchkey.coordinator.http;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Per-identity caps: live sessions, open watch streams, and requests per second (a token bucket
 * that allows bursts of one second's worth). A request over a cap gets 429 with {@code Retry-After}.
 * Without authentication every caller is one identity, so the caps are the whole coordinator's.
 *
 * @param sessions          live sessions one identity may hold
 * @param watches           watch streams one identity may have open
 * @param requestsPerSecond sustained requests per second per identity (bursts up to as many)
 * @param connections       open connections in all (HTTP, watch streams and session channels); past it
 *                          new ones wait in the listen backlog until one closes
 * @param connectionsPerAddress open connections from one client address; past it a new one is closed at once
 */
public record Limits(int sessions, int watches, int requestsPerSecond, int connections, int connectionsPerAddress) {

    public static final int DEFAULT_CONNECTIONS = 10_000;
    public static final int DEFAULT_CONNECTIONS_PER_ADDRESS = 2_000;

    /** Generous enough for the benchmarks (10,000 sessions, hundreds of watchers), and still a bound. */
    public static Limits defaults() {
        return new Limits(50_000, 5_000, 50_000);
    }

    /** The per-identity caps, with the default connection caps. */
    public Limits(int sessions, int watches, int requestsPerSecond) {
        this(sessions, watches, requestsPerSecond, DEFAULT_CONNECTIONS, DEFAULT_CONNECTIONS_PER_ADDRESS);
    }

    public Limits {
        if (sessions < 1 || watches < 1 || requestsPerSecond < 1 || connections < 1 || connectionsPerAddress < 1) {
            throw new IllegalArgumentException("limits must be positive: " + sessions + ", " + watches + ", " + requestsPerSecond + ", "
                    + connections + ", " + connectionsPerAddress);
        }
    }

    /** Refused for a limit; {@code retryAfterSeconds} goes into the Retry-After header. */
    static final class Exceeded extends RuntimeException {
        final long retryAfterSeconds;

        Exceeded(String message, long retryAfterSeconds) {
            super(message);
            this.retryAfterSeconds = retryAfterSeconds;
        }
    }

    /** The counters behind the caps, per identity. */
    static final class Meter {
        private final Limits limits;
        private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
        private final ConcurrentHashMap<String, AtomicInteger> watches = new ConcurrentHashMap<>();

        Meter(Limits limits) {
            this.limits = limits;
        }

        Limits limits() {
            return limits;
        }

        /** Takes one request from the identity's bucket, or refuses. */
        void request(String identity) {
            if (buckets.size() > 100_000) {
                buckets.clear();
            }
            Bucket bucket = buckets.computeIfAbsent(identity, i -> new Bucket(limits.requestsPerSecond()));
            if (!bucket.take()) {
                throw new Exceeded("'" + identity + "' sends more than " + limits.requestsPerSecond() + " requests per second", 1);
            }
        }

        /** Counts a watch stream opened; refuses one over the cap. The caller calls {@link #watchClosed} when it ends. */
        void watchOpened(String identity) {
            AtomicInteger open = watches.computeIfAbsent(identity, i -> new AtomicInteger());
            if (open.incrementAndGet() > limits.watches()) {
                open.decrementAndGet();
                throw new Exceeded("'" + identity + "' has " + limits.watches() + " watch streams open, the most one identity may", 5);
            }
        }

        void watchClosed(String identity) {
            AtomicInteger open = watches.get(identity);
            if (open != null) {
                open.decrementAndGet();
            }
        }
    }

    /** A token bucket refilled continuously at the rate, holding at most one second's worth. */
    private static final class Bucket {
        private final double rate;
        private double tokens;
        private long last = System.nanoTime();

        Bucket(int rate) {
            this.rate = rate;
            this.tokens = rate;
        }

        synchronized boolean take() {
            long now = System.nanoTime();
            tokens = Math.min(rate, tokens + (now - last) / 1e9 * rate);
            last = now;
            if (tokens < 1) {
                return false;
            }
            tokens -= 1;
            return true;
        }
    }
}
