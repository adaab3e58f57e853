package dev.latchkey.coordinator.store;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the coordinator keeps its state: a JDBC URL with credentials. Without one, an embedded H2
 * database in a data folder of the coordinator's own.
 */
public record StoreConfig(String jdbcUrl, String user, String password, int poolSize) {

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
