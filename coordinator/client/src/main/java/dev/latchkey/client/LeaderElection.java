package dev.latchkey.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Leader election on a session: campaign in the background, learn when elected and when
 * leadership is lost (resigned, or the session left the safe state), read the current leader.
 *
 * <pre>{@code
 * LeaderElection election = new LeaderElection(session, "restock", "shop-1:8080");
 * election.addListener(new LeaderElection.Listener() {
 *     public void elected(Sequencer s) { startRestockJob(s); }
 *     public void revoked() { stopRestockJob(); }
 * });
 * election.start();
 * }</pre>
 * Whatever the leader does in the world should be fenced with its sequencer, because a leader can
 * learn it lost leadership only after the fact.
 */
public final class LeaderElection implements AutoCloseable {

    /** Hears leadership changes on the election's thread. */
    public interface Listener {
        default void elected(Sequencer sequencer) {
        }

        default void revoked() {
        }
    }

    /** The current leader as the coordinator reports it. */
    public record Leader(String value, Sequencer sequencer) {
    }

    private final Session session;
    private final String name;
    private final String value;
    private final Duration lockDelay;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final Object monitor = new Object();
    private volatile Sequencer leadership;
    private volatile boolean running;
    private Thread thread;

    public LeaderElection(Session session, String name, String value) {
        this(session, name, value, Duration.ZERO);
    }

    public LeaderElection(Session session, String name, String value, Duration lockDelay) {
        this.session = session;
        this.name = name;
        this.value = value;
        this.lockDelay = lockDelay;
        session.addListener(new SessionListener() {
            @Override
            public void onJeopardy() {
                lose();
            }

            @Override
            public void onExpired() {
                lose();
            }
        });
    }

    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** Starts campaigning in the background until elected (and again after losing, while the session lives). */
    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        thread = Thread.ofVirtual().name("latchkey-election " + name).start(this::campaign);
    }

    public boolean isLeader() {
        return leadership != null && session.state() == SessionState.SAFE;
    }

    /** This candidate's sequencer while it leads. */
    public Optional<Sequencer> sequencer() {
        return isLeader() ? Optional.of(leadership) : Optional.empty();
    }

    /** Waits until this candidate leads, or the timeout passes. */
    public boolean awaitLeadership(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (monitor) {
            while (!isLeader()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                monitor.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /** The current leader, whoever it is. */
    public Optional<Leader> leader() {
        try {
            JsonNode l = session.client().send("GET", "/v1/elections/" + name, null, Map.of(), Duration.ZERO).json();
            return Optional.of(new Leader(l.get("value").asText(), Sequencer.parse(l.get("sequencer").asText())));
        } catch (LatchkeyException e) {
            if (e.status() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /**
     * Gives up leadership (if held) and stops campaigning. This candidate stops being leader (its
     * listeners hear {@code revoked}) before the lock is released: the release hands the lock to the
     * next candidate in the same transaction, so the next leader may be told it won before this call
     * returns, and two candidates must never both believe they lead.
     */
    public void resign() {
        running = false;
        if (thread != null) {
            thread.interrupt();
        }
        Sequencer held = leadership;
        if (held != null) {
            lose();
            try {
                session.client().send("DELETE", "/v1/elections/" + name + "?session=" + session.id(), null, Map.of(), Duration.ZERO);
            } catch (LatchkeyException e) {
                if (!e.is("not-lock-holder") && !e.is("session-not-found")) {
                    throw e;
                }
            }
        }
    }

    private void campaign() {
        while (running && session.state() != SessionState.EXPIRED) {
            if (leadership != null || session.state() != SessionState.SAFE) {
                sleep(100);
                continue;
            }
            try {
                JsonNode grant = session.client().send("POST", "/v1/elections/" + name, LatchkeyClient.json(Map.of("session", session.id(),
                        "value", value, "waitMs", 5_000, "lockDelayMs", lockDelay.toMillis())), Map.of(), Duration.ofSeconds(5)).json();
                Sequencer s = Sequencer.parse(grant.get("sequencer").asText());
                synchronized (monitor) {
                    leadership = s;
                    monitor.notifyAll();
                }
                listeners.forEach(l -> l.elected(s));
            } catch (LatchkeyException e) {
                if (!e.is("lock-busy")) {
                    sleep(200);
                }
            }
        }
    }

    private void lose() {
        Sequencer had;
        synchronized (monitor) {
            had = leadership;
            leadership = null;
            monitor.notifyAll();
        }
        if (had != null) {
            listeners.forEach(Listener::revoked);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        resign();
    }

}
