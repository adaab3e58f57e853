package dev.latchkey.testing;

import java.util.Locale;

/** The database engines a {@link DatabaseTest} can run on. */
public enum Database {
    POSTGRESQL("PostgreSQL"),
    MARIADB("MariaDB"),
    MYSQL("MySQL"),
    H2("H2");

    private final String displayName;

    Database(String displayName) {
        this.displayName = displayName;
    }

    /** The name shown in test reports, e.g. {@code PostgreSQL}. */
    public String displayName() {
        return displayName;
    }

    /** Parses a name as written in {@code LATCHKEY_TEST_DATABASES}, ignoring case ({@code postgres} is accepted). */
    public static Database parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "postgresql", "postgres", "pg" -> POSTGRESQL;
            case "mariadb" -> MARIADB;
            case "mysql" -> MYSQL;
            case "h2" -> H2;
            default -> throw new IllegalArgumentException(
                    "unknown database '" + name + "' (known: postgresql, mariadb, mysql, h2)");
        };
    }
}
