package dev.latchkey.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A session with the coordinator, kept alive in the background.
 *
 * <p>How the client judges its session (Chubby's rules):
 * <ol>
 *   <li>every keep-alive that is answered extends the client's own lease to the moment the request
 *       was <em>sent</em> plus the TTL, less a margin, on the client's monotonic clock: never
 *       longer than the coordinator's lease, whatever the clocks say;</li>
 *   <li>when that lease runs out without an answer the session is in <b>jeopardy</b>: listeners hear
 *       it, leases report not held, the cache is emptied and bypassed; the client keeps trying every
 *       coordinator;</li>
 *   <li>an answer brings it back to <b>safe</b>; a "session not found" answer, or the grace period
 *       (45 s by default) passing in jeopardy, makes it <b>expired</b> for good.</li>
 * </ol>
 */
public final class Session implements AutoCloseable {

    /** How to open a session. */
    public record Options(Duration ttl, String owner, Duration grace, boolean cache, Duration leaseMargin, boolean channel) {
        public Options {
            Objects.requireNonNull(ttl, "ttl");
            Objects.requireNonNull(grace, "grace");
            if (leaseMargin != null && leaseMargin.compareTo(ttl) >= 0) {
                throw new IllegalArgumentException("the lease margin must be shorter than the TTL");
            }
        }

        /** As before the session channel existed: it is on. */
        public Options(Duration ttl, String owner, Duration grace, boolean cache, Duration leaseMargin) {
            this(ttl, owner, grace, cache, leaseMargin, true);
        }

        /** TTL 12 s, grace 45 s, cache on, lease margin 5 % of the TTL (at least 50 ms), session channel on. */
        public static Options defaults() {
            return new Options(Duration.ofSeconds(12), "java-client", Duration.ofSeconds(45), true, null, true);
        }

        public Options ttl(Duration value) {
            return new Options(value, owner, grace, cache, leaseMargin, channel);
        }

        public Options owner(String value) {
            return new Options(ttl, value, grace, cache, leaseMargin, channel);
        }

        public Options grace(Duration value) {
            return new Options(ttl, owner, value, cache, leaseMargin, channel);
        }

        public Options cache(boolean value) {
            return new Options(ttl, owner, grace, value, leaseMargin, channel);
        }

        /**
         * Whether locks and keep-alives go over the session channel (one WebSocket, pipelined; the
         * default) or one HTTP request each. With the channel on, any call it cannot carry (a
         * coordinator without one, a dropped connection) is repeated over HTTP.
         */
        public Options channel(boolean value) {
            return new Options(ttl, owner, grace, cache, leaseMargin, value);
        }

        /** How much shorter than the TTL the client's own lease is (more: earlier, safer jeopardy). */
        public Options leaseMargin(Duration value) {
            return new Options(ttl, owner, grace, cache, value, channel);
        }
    }

    private final LatchkeyClient client;
    private final Options options;
    private final String id;
    private final List<SessionListener> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, FileContent> cache = new ConcurrentHashMap<>();
    private final Map<String, Long> invalidatedAt = new ConcurrentHashMap<>();
    private volatile long invalidatedBelow;
    private final Watch cacheWatch;
    private final Thread keepAlive;
    private final Object stateLock = new Object();
    private volatile SessionState state = SessionState.SAFE;
    private volatile long leaseDeadline;
    private volatile long jeopardySince;
    private volatile long pausedUntil;
    private volatile boolean running = true;

    Session(LatchkeyClient client, Options options) {
        this.client = client;
        this.options = options;
        long sent = System.nanoTime();
        JsonNode opened = client.send("POST", "/v1/sessions",
                LatchkeyClient.json(Map.of("ttlMs", options.ttl().toMillis(), "owner", options.owner() == null ? "java-client" : options.owner())),
                Map.of(), Duration.ZERO).json();
        this.id = opened.get("id").asText();
        this.leaseDeadline = sent + leaseNanos();
        if (options.cache()) {
            this.cacheWatch = client.watch("/", false, client.currentRevision(), this::invalidate);
        } else {
            this.cacheWatch = null;
        }
        this.keepAlive = Thread.ofPlatform().daemon().name("latchkey-keepalive " + id).start(this::keepAliveLoop);
    }

    public String id() {
        return id;
    }

    public SessionState state() {
        return state;
    }

    public LatchkeyClient client() {
        return client;
    }

    public void addListener(SessionListener listener) {
        listeners.add(listener);
    }

    // ---- locks ----------------------------------------------------------------------------------

    /** Acquires an exclusive lock, waiting up to {@code wait}; throws {@code lock-busy} when it could not. */
    public Lease acquire(String path, Duration wait) {
        return acquire(path, Sequencer.Mode.EXCLUSIVE, wait, Duration.ZERO);
    }

    /**
     * Acquires a lock. {@code lockDelay} (at most 60 s) keeps the lock from being granted to anyone
     * else for that long if this session expires while holding it.
     */
    public Lease acquire(String path, Sequencer.Mode mode, Duration wait, Duration lockDelay) {
        long deadline = System.nanoTime() + Math.min(wait.toNanos(), Long.MAX_VALUE / 4);
        while (true) {
            requireUsable();
            // long waits go in chunks, so no single HTTP call outlives a coordinator's patience
            long chunk = Math.max(0, Math.min((deadline - System.nanoTime()) / 1_000_000, 60_000));
            try {
                String modeName = mode.name().toLowerCase(java.util.Locale.ROOT);
                JsonNode grant = overChannel("acquire", Map.of("path", NodePath.require(path), "mode", modeName, "waitMs", chunk,
                        "lockDelayMs", lockDelay.toMillis()), client.requestTimeout().plusMillis(chunk));
                if (grant == null) {
                    grant = client.send("POST", "/v1/locks" + path, LatchkeyClient.json(Map.of("session", id,
                            "mode", modeName, "waitMs", chunk, "lockDelayMs", lockDelay.toMillis())), Map.of(), Duration.ofMillis(chunk)).json();
                }
                return new Lease(this, Sequencer.parse(grant.get("sequencer").asText()));
            } catch (LatchkeyException e) {
                if (!e.is("lock-busy") || System.nanoTime() >= deadline) {
                    throw e;
                }
            }
        }
    }

    /** Tries to acquire within {@code timeout}; empty when another session holds it. */
    public Optional<Lease> tryAcquire(String path, Sequencer.Mode mode, Duration timeout) {
        try {
            return Optional.of(acquire(path, mode, timeout, Duration.ZERO));
        } catch (LatchkeyException e) {
            if (e.is("lock-busy")) {
                return Optional.empty();
            }
            throw e;
        }
    }

    void release(Lease lease) {
        if (state == SessionState.EXPIRED) {
            return; // the coordinator released it with the session
        }
        try {
            if (overChannel("release", Map.of("path", lease.path()), client.requestTimeout()) == null) {
                client.send("DELETE", "/v1/locks" + lease.path() + "?session=" + id, null, Map.of(), Duration.ZERO);
            }
        } catch (LatchkeyException e) {
            if (!e.is("not-lock-holder") && !e.is("session-not-found")) {
                throw e;
            }
        }
    }

    // ---- the session channel -------------------------------------------------------------------

    private final Object channelLock = new Object();
    private volatile Channel channel;
    private volatile long channelRetryAt;
    /** At most one attempt a second to (re)open the channel; calls meanwhile go over HTTP. */
    private static final long CHANNEL_RETRY_NANOS = 1_000_000_000L;

    /**
     * Sends a request over the session channel and returns its answer, or null when there is no
     * channel or it failed on the way (the caller sends the request over HTTP instead; every
     * operation the channel carries may be repeated). Refusals are thrown as over HTTP.
     */
    private JsonNode overChannel(String op, Map<String, Object> args, Duration timeout) {
        return overChannel(op, args, timeout, true);
    }

    /** As above; with {@code mayConnect} false only a channel already open is used (keep-alives never wait for a connect). */
    private JsonNode overChannel(String op, Map<String, Object> args, Duration timeout, boolean mayConnect) {
        Channel c = mayConnect ? channel() : channel;
        if (c != null && !c.isOpen()) {
            c = null;
        }
        if (c == null) {
            return null;
        }
        try {
            return c.call(op, args, timeout);
        } catch (Channel.Closed e) {
            return null;
        }
    }

    private Channel channel() {
        if (!options.channel() || !running) {
            return null;
        }
        Channel c = channel;
        if (c != null && c.isOpen()) {
            return c;
        }
        synchronized (channelLock) {
            c = channel;
            if (c != null && c.isOpen()) {
                return c;
            }
            long now = System.nanoTime();
            if (now - channelRetryAt < 0) {
                return null;
            }
            channelRetryAt = now + CHANNEL_RETRY_NANOS;
            try {
                channel = client.openChannel(id);
            } catch (Channel.Closed e) {
                channel = null;
            }
            return channel;
        }
    }

    /**
     * Watches a subtree (or, with {@code exact}, one node) from after {@code fromRev} (or from now
     * when negative), over this session's channel while it is open and over the event stream
     * otherwise: the same events, in order, once each, either way (see {@link Watch}). The watch
     * outlives the session: once the session is closed it goes on over the event stream.
     */
    public Watch watch(String prefix, boolean exact, long fromRev, Watch.Listener listener) {
        return new Watch(client, this, NodePath.require(prefix), exact, fromRev, listener);
    }

    /** The channel a watch should ride on now, or null: none is open (and none could be opened just now). */
    Channel channelForWatch() {
        Channel c = channel();
        return c != null && c.isOpen() ? c : null;
    }

    /** Whether locks and keep-alives go over an open session channel now (else over HTTP). */
    public boolean usesChannel() {
        Channel c = channel;
        return c != null && c.isOpen();
    }

    /**
     * Drops the session channel's connection as a network failure would, for testing how an
     * application rides through one: calls in flight are repeated over HTTP, and the channel
     * reconnects within a second or so.
     */
    public void dropChannel() {
        Channel c = channel;
        if (c != null) {
            c.close("dropped");
        }
    }

    // ---- files ----------------------------------------------------------------------------------

    /**
     * Reads a file, from the cache when it can be trusted: the session is safe and the cache's
     * event stream has caught up with the coordinator's current revision, so any write completed
     * before this call began has already invalidated the entry.
     */
    public FileContent read(String path) {
        NodePath.require(path);
        if (cacheWatch == null || state != SessionState.SAFE) {
            return client.read(path);
        }
        long revision = client.send("GET", "/v1/events?limit=1&waitMs=0&path=" + LatchkeyClient.encode(path), null, Map.of(),
                Duration.ZERO).json().get("lastRev").asLong();
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (cacheWatch.cursor() < revision && System.nanoTime() < deadline) {
            Thread.onSpinWait();
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (cacheWatch.cursor() >= revision) {
            FileContent cached = cache.get(path);
            if (cached != null && current(path, cached)) {
                return cached;
            }
        }
        FileContent fresh = client.read(path);
        if (state == SessionState.SAFE) {
            // keep it only if no invalidation newer than the content has been seen; later ones remove it
            cache.compute(path, (k, old) -> current(k, fresh) ? fresh : null);
        }
        return fresh;
    }

    private boolean current(String path, FileContent content) {
        long modified = content.stat().modifiedRevision();
        return modified >= invalidatedBelow && modified >= invalidatedAt.getOrDefault(path, 0L);
    }

    public NodeStat write(String path, byte[] content, Long ifGeneration) {
        cache.remove(path);
        return client.write(path, content, ifGeneration);
    }

    /** Creates a file that is deleted when this session ends. */
    public NodeStat createEphemeral(String path, byte[] content) {
        requireUsable();
        return LatchkeyClient.parse(client.send("PUT", LatchkeyClient.nodes(path) + "?ephemeral=true&session=" + id, content,
                Map.of("If-None-Match", "*"), Duration.ZERO).bodyText(), NodeStat.class);
    }

    private void invalidate(WatchEvent event) {
        if (event.isResync()) {
            invalidatedBelow = event.rev();
            cache.clear();
        } else if (event.kind().equals("contents-modified") || event.kind().equals("node-deleted")) {
            invalidatedAt.merge(event.path(), event.rev(), Math::max);
            cache.remove(event.path());
        }
    }

    int cachedEntries() {
        return cache.size();
    }

    // ---- keep-alive and states ------------------------------------------------------------------

    private long leaseNanos() {
        long ttl = options.ttl().toNanos();
        return ttl - (options.leaseMargin() != null ? options.leaseMargin().toNanos() : Math.max(50_000_000L, ttl / 20));
    }

    private void keepAliveLoop() {
        while (running) {
            long now = System.nanoTime();
            if (now >= pausedUntil) {
                try {
                    long sent = System.nanoTime();
                    // a coordinator that hangs must not hold the keep-alive past a fraction of the lease
                    Duration patience = Duration.ofNanos(Math.max(200_000_000L, leaseNanos() / 4));
                    if (overChannel("keepalive", Map.of(), patience, false) == null) {
                        client.sendWithin("POST", "/v1/sessions/" + id + "/keepalive", null, patience);
                    }
                    leaseDeadline = sent + leaseNanos();
                    if (state == SessionState.JEOPARDY) {
                        transition(SessionState.SAFE);
                    }
                } catch (LatchkeyException e) {
                    if (e.is("session-not-found")) {
                        transition(SessionState.EXPIRED);
                        return;
                    }
                    // no coordinator answered: try again soon, the state machine below decides
                }
            }
            now = System.nanoTime();
            if (state == SessionState.SAFE && now >= leaseDeadline) {
                jeopardySince = now;
                transition(SessionState.JEOPARDY);
            }
            if (state == SessionState.JEOPARDY && now - jeopardySince >= options.grace().toNanos()) {
                transition(SessionState.EXPIRED);
                return;
            }
            long sleepNanos = state == SessionState.SAFE
                    ? Math.min(Math.min(options.ttl().toNanos() / 3, leaseNanos() / 2), Math.max(1_000_000L, leaseDeadline - now))
                    : 200_000_000L;
            try {
                Thread.sleep(Duration.ofNanos(sleepNanos));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void transition(SessionState next) {
        synchronized (stateLock) {
            if (state == next || state == SessionState.EXPIRED) {
                return;
            }
            state = next;
        }
        if (next != SessionState.SAFE) {
            cache.clear(); // never trusted again without a fresh read
        }
        for (SessionListener l : listeners) {
            try {
                switch (next) {
                    case SAFE -> l.onSafe();
                    case JEOPARDY -> l.onJeopardy();
                    case EXPIRED -> l.onExpired();
                }
            } catch (RuntimeException e) {
                System.getLogger(Session.class.getName()).log(System.Logger.Level.WARNING, "session listener failed", e);
            }
        }
        if (next == SessionState.EXPIRED) {
            running = false;
            closeChannel();
            if (cacheWatch != null) {
                cacheWatch.close();
            }
        }
    }

    private void closeChannel() {
        synchronized (channelLock) {
            Channel c = channel;
            channel = null;
            if (c != null) {
                c.close("the session ended");
            }
        }
    }

    private void requireUsable() {
        if (state == SessionState.EXPIRED) {
            throw new LatchkeyException(404, "session-not-found", "session " + id + " has expired");
        }
    }

    /**
     * Stops sending keep-alives for a while, as a frozen process would (a garbage-collection pause,
     * a stopped VM). For testing how an application handles jeopardy and expiry.
     */
    public void freezeKeepAlives(Duration duration) {
        pausedUntil = System.nanoTime() + duration.toNanos();
    }

    /** Stops everything without telling the coordinator, as a crash would. The session expires by its TTL. */
    public void abandon() {
        running = false;
        keepAlive.interrupt();
        closeChannel();
        if (cacheWatch != null) {
            cacheWatch.close();
        }
    }

    /** Ends the session: its locks are released at once and its ephemeral nodes deleted. */
    @Override
    public void close() {
        boolean wasRunning = running;
        running = false;
        keepAlive.interrupt();
        if (cacheWatch != null) {
            cacheWatch.close();
        }
        closeChannel();
        if (wasRunning && state != SessionState.EXPIRED) {
            try {
                client.send("DELETE", "/v1/sessions/" + id, null, Map.of(), Duration.ZERO);
            } catch (LatchkeyException e) {
                if (!e.is("session-not-found")) {
                    throw e;
                }
            }
        }
        synchronized (stateLock) {
            state = SessionState.EXPIRED;
        }
    }
}
