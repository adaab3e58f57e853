package dev.latchkey.testing;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the test databases are, from environment variables (or system properties of the same
 * name) whose defaults are the servers a development machine runs locally.
 *
 * <table>
 *   <caption>settings</caption>
 *   <tr><th>variable</th><th>default</th></tr>
 *   <tr><td>LATCHKEY_TEST_DATABASES</td><td>{@code postgresql,mariadb,h2}, plus {@code mysql} when Docker is present</td></tr>
 *   <tr><td>LATCHKEY_TEST_PG_URL / _USER / _PASSWORD</td><td>{@code jdbc:postgresql://127.0.0.1:5432/test}, {@code postgres}, empty</td></tr>
 *   <tr><td>LATCHKEY_TEST_MARIADB_URL / _USER / _PASSWORD</td><td>{@code jdbc:mysql://127.0.0.1:3306/}, {@code root}, empty</td></tr>
 *   <tr><td>LATCHKEY_TEST_MYSQL_URL / _USER / _PASSWORD</td><td>none: Testcontainers {@code mysql:8.4}</td></tr>
 *   <tr><td>CI</td><td>when {@code true}, an unreachable database fails the test instead of skipping it</td></tr>
 *   <tr><td>LATCHKEY_TEST_PG_POOLER</td><td>{@code pgbouncer}: PostgreSQL test databases are reached through PgBouncer in
 *       transaction mode (started once per JVM by {@code bin/ha pgbouncer}), each a fresh database of its own</td></tr>
 * </table>
 */
public record TestSettings(Map<String, String> env) {

    public static TestSettings fromEnvironment() {
        Map<String, String> merged = new java.util.HashMap<>(System.getenv());
        System.getProperties().forEach((k, v) -> {
            if (k.toString().startsWith("LATCHKEY_TEST_") || k.toString().equals("CI")) {
                merged.put(k.toString(), v.toString());
            }
        });
        return new TestSettings(Map.copyOf(merged));
    }

    /** Whether PostgreSQL test databases are reached through PgBouncer in transaction mode (LATCHKEY_TEST_PG_POOLER=pgbouncer). */
    public boolean pgBouncer() {
        String pooler = env.getOrDefault("LATCHKEY_TEST_PG_POOLER", "").trim();
        if (!pooler.isEmpty() && !pooler.equalsIgnoreCase("pgbouncer")) {
            throw new IllegalArgumentException("LATCHKEY_TEST_PG_POOLER must be 'pgbouncer' or unset, not '" + pooler + "'");
        }
        return !pooler.isEmpty();
    }

    public boolean ci() {
        return "true".equalsIgnoreCase(env.getOrDefault("CI", "").trim());
    }

    /** The databases named in LATCHKEY_TEST_DATABASES, or null when it is not set. */
    public Set<Database> requestedDatabases() {
        String list = env.get("LATCHKEY_TEST_DATABASES");
        if (list == null || list.isBlank()) {
            return null;
        }
        Set<Database> result = EnumSet.noneOf(Database.class);
        for (String name : list.split(",")) {
            if (!name.isBlank()) {
                result.add(Database.parse(name));
            }
        }
        return result;
    }

    /** The server the settings name for a database, or null when none is configured (MySQL by default). */
    public ServerAddress configured(Database database) {
        return switch (database) {
            case POSTGRESQL -> address("PG", "jdbc:postgresql://127.0.0.1:5432/test", "postgres");
            case MARIADB -> address("MARIADB", "jdbc:mysql://127.0.0.1:3306/", "root");
            case MYSQL -> env.containsKey("LATCHKEY_TEST_MYSQL_URL") ? address("MYSQL", null, "root") : null;
            case H2 -> new ServerAddress("jdbc:h2:mem:", "sa", "");
        };
    }

    private ServerAddress address(String prefix, String defaultUrl, String defaultUser) {
        String url = env.getOrDefault("LATCHKEY_TEST_" + prefix + "_URL", defaultUrl);
        String user = env.getOrDefault("LATCHKEY_TEST_" + prefix + "_USER", defaultUser);
        String password = env.getOrDefault("LATCHKEY_TEST_" + prefix + "_PASSWORD", "");
        return new ServerAddress(url, user, password);
    }

    static List<Database> defaultOrder() {
        return new ArrayList<>(List.of(Database.POSTGRESQL, Database.MARIADB, Database.MYSQL, Database.H2));
    }

    /** A JDBC URL with credentials, for an administrative connection to a server. */
    public record ServerAddress(String url, String user, String password) {
    }
}
