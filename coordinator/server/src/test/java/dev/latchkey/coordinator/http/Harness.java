package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.store.StoreConfig;
import dev.latchkey.testing.TestDatabase;
import java.time.Duration;

/** A coordinator serving HTTP on a free port, in this JVM, on a test database. */
public final class Harness implements AutoCloseable {

    public final Coordinator coordinator;
    final HttpApi http;
    public final Api api;

    public Harness(TestDatabase db) {
        this(db, Coordinator.Settings.defaults());
    }

    public Harness(TestDatabase db, Coordinator.Settings settings) {
        this(db.jdbcUrl(), db.user(), db.password(), settings);
    }

    public Harness(String url, String user, String password, Coordinator.Settings settings) {
        this(url, user, password, settings, false);
    }

    /** A coordinator that requires bearer tokens, with the admin token {@link #BOOTSTRAP} named "bootstrap". */
    public static Harness withTokens(TestDatabase db) {
        return new Harness(db.jdbcUrl(), db.user(), db.password(), Coordinator.Settings.defaults(), true);
    }

    /** A coordinator that requires bearer tokens, with these settings. */
    public static Harness withTokens(TestDatabase db, Coordinator.Settings settings) {
        return new Harness(db.jdbcUrl(), db.user(), db.password(), settings, true);
    }

    public static final String BOOTSTRAP = "bootstrap-token-for-tests-0123456789";

    /** A coordinator with tokens and these per-identity limits. */
    public static Harness withLimits(TestDatabase db, Limits limits) {
        return new Harness(db.jdbcUrl(), db.user(), db.password(), Coordinator.Settings.defaults(), true, limits);
    }

    private Harness(String url, String user, String password, Coordinator.Settings settings, boolean tokens) {
        this(url, user, password, settings, tokens, Limits.defaults());
    }

    private Harness(String url, String user, String password, Coordinator.Settings settings, boolean tokens, Limits limits) {
        this(url, user, password, settings, tokens, limits, null);
    }

    /** A coordinator with tokens (or not), these limits and TLS; {@link #api} then speaks HTTPS only if the caller makes it. */
    public static Harness with(TestDatabase db, boolean tokens, Limits limits, TlsConfig tls) {
        return new Harness(db.jdbcUrl(), db.user(), db.password(), Coordinator.Settings.defaults(), tokens, limits, tls);
    }

    /** A coordinator on this store configuration, without tokens. */
    public Harness(StoreConfig store, Coordinator.Settings settings) {
        this.coordinator = new Coordinator(store, settings);
        this.http = new HttpApi(coordinator, false, Limits.defaults(), null);
        int port = http.start("127.0.0.1", 0);
        this.api = new Api(http.scheme() + "://127.0.0.1:" + port);
    }

    private Harness(String url, String user, String password, Coordinator.Settings settings, boolean tokens, Limits limits, TlsConfig tls) {
        StoreConfig store = new StoreConfig(url, user, password, 40);
        // through PgBouncer in transaction mode (LATCHKEY_TEST_PG_POOLER): no session state, and polling for others' commits
        this.coordinator = new Coordinator(dev.latchkey.testing.TestDatabase.pooled(url) ? store.behindPooler(null) : store, settings);
        if (tokens) {
            coordinator.tokens().ensure("bootstrap", BOOTSTRAP, true);
        }
        this.http = new HttpApi(coordinator, tokens, limits, tls);
        int port = http.start("127.0.0.1", 0);
        this.api = new Api(http.scheme() + "://127.0.0.1:" + port);
    }

    public static Coordinator.Settings fastReaper() {
        return new Coordinator.Settings(Duration.ofMillis(20), Duration.ofMillis(100), Duration.ofSeconds(5), 100_000);
    }

    @Override
    public void close() {
        http.close();
        coordinator.close();
    }
}
