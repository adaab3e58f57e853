package dev.latchkey.coordinator.core;

import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.StoreConfig;
import java.time.Duration;

/** One coordinator process's services over one store. Any number may share a store. */
public final class Coordinator implements AutoCloseable {

    /** Tunables, with defaults fit for production. */
    public record Settings(Duration pollInterval, Duration reaperInterval, Duration outageThreshold, long eventRetention) {
        public static Settings defaults() {
            return new Settings(Duration.ofMillis(20), Duration.ofMillis(250), Duration.ofSeconds(2), 100_000);
        }

        /**
         * A gap longer than this between reaper ticks (by the database clock) is an outage, and
         * leases do not run during one. Eight reaper intervals by default: long enough that a busy
         * coordinator's late tick is not mistaken for an outage, short enough that a session whose
         * TTL exceeds 1.5 times the threshold survives an outage of any length.
         */
        public Settings withOutageThreshold(Duration threshold) {
            return new Settings(pollInterval, reaperInterval, threshold, eventRetention);
        }

        public Settings withEventRetention(long revisions) {
            return new Settings(pollInterval, reaperInterval, outageThreshold, revisions);
        }
    }

    /** At most this many of the latest events are kept in memory for watchers (and never more than the retention). */
    static final long RECENT_EVENTS_IN_MEMORY = 10_000;

    private final Store store;
    private final EventHub hub;
    private final Sessions sessions;
    private final Namespace namespace;
    private final Locks locks;
    private final Watches watches;
    private final Elections elections;
    private final Reaper reaper;
    private final Tokens tokens;
    private final Acls acls;

    public Coordinator(StoreConfig config, Settings settings) {
        this.store = Store.open(config);
        this.hub = new EventHub(store, settings.pollInterval(), config.sessionUrl(), config.user(), config.password(),
                (int) Math.min(settings.eventRetention(), RECENT_EVENTS_IN_MEMORY));
        this.acls = new Acls(store);
        store.onCommit(events -> { // this coordinator's commits reach its waiters and watchers without a re-read
            acls.onCommitted(events);
            hub.offerCommitted(events);
        });
        store.outageThreshold(settings.outageThreshold());
        this.sessions = new Sessions(store);
        this.namespace = new Namespace(store);
        this.locks = new Locks(store, hub);
        this.watches = new Watches(store, hub);
        this.elections = new Elections(namespace, locks);
        this.tokens = new Tokens(store);
        this.reaper = new Reaper(store, settings.reaperInterval(), settings.outageThreshold(), settings.eventRetention());
    }

    public Acls acls() {
        return acls;
    }

    public Tokens tokens() {
        return tokens;
    }

    public Store store() {
        return store;
    }

    public EventHub events() {
        return hub;
    }

    public Sessions sessions() {
        return sessions;
    }

    public Namespace namespace() {
        return namespace;
    }

    public Locks locks() {
        return locks;
    }

    public Watches watches() {
        return watches;
    }

    public Elections elections() {
        return elections;
    }

    public Reaper reaper() {
        return reaper;
    }

    @Override
    public void close() {
        reaper.close();
        sessions.close();
        hub.close();
        store.close();
    }
}
