package dev.latchkey.coordinator.store;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the coordinator keeps its state: a JDBC URL with credentials. Without one, an embedded H2
 * database in a data folder of the coordinator's own.
 *
 * <p>{@code pooled}: the URL goes through a transaction-mode pooler (PgBouncer), which hands each
 * transaction whatever server connection is free. Then nothing may rest on a connection's session:
 * server-side prepared statements are off ({@code prepareThreshold=0} is added to a PostgreSQL URL
 * that does not set it), no session setting is made, and what needs one server session for longer
 * than a transaction (LISTEN) goes over {@code directUrl}, a URL straight to the database, when one
 * is given; without one the coordinator polls for other coordinators' commits. (The migrations'
 * lock is held by a transaction of its own, which a pooler keeps on one server connection.)
 */
public record StoreConfig(String jdbcUrl, String user, String password, int poolSize, boolean pooled, String directUrl) {

    public StoreConfig(String jdbcUrl, String user, String password, int poolSize) {
        this(jdbcUrl, user, password, poolSize, false, null);
    }

    public StoreConfig {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        if (!jdbcUrl.startsWith("jdbc:")) {
            throw new IllegalArgumentException("not a JDBC URL: '" + jdbcUrl + "'");
        }
        if (poolSize < 2 || poolSize > 500) {
            throw new IllegalArgumentException("pool size must be between 2 and 500, not " + poolSize);
        }
        user = user == null ? "" : user;
        password = password == null ? "" : password;
        if (directUrl != null && directUrl.isBlank()) {
            directUrl = null;
        }
        if (directUrl != null && !directUrl.startsWith("jdbc:")) {
            throw new IllegalArgumentException("not a JDBC URL: '" + directUrl + "'");
        }
        if (pooled && jdbcUrl.startsWith("jdbc:postgresql:") && !jdbcUrl.contains("prepareThreshold=")) {
            jdbcUrl = jdbcUrl + (jdbcUrl.contains("?") ? "&" : "?") + "prepareThreshold=0";
        }
    }

    /** The same store, reached through a transaction-mode pooler; {@code directUrl} (or null) goes straight to the database. */
    public StoreConfig behindPooler(String directUrl) {
        return new StoreConfig(jdbcUrl, user, password, poolSize, true, directUrl);
    }

    /** The URL for what needs one server session for longer than a transaction: the direct one when pooled, else the store's. */
    public String sessionUrl() {
        return pooled ? directUrl : jdbcUrl;
    }

    /**
     * An embedded H2 store in {@code dataDir/latchkey.mv.db}. Several coordinators on one machine may
     * share the folder: the first to open it serves it to the others over loopback (H2's automatic
     * mixed mode), and another takes over when it stops.
     */
    public static StoreConfig embedded(Path dataDir) {
        Path file = dataDir.toAbsolutePath().resolve("latchkey");
        return new StoreConfig("jdbc:h2:file:" + file + ";AUTO_SERVER=TRUE", "sa", "", 16);
    }
}
