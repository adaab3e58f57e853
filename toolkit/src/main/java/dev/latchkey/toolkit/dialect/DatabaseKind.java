package dev.latchkey.toolkit.dialect;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.Locale;
import org.jooq.SQLDialect;

/**
 * The database engines the toolkit renders SQL for.
 *
 * <p>Detection reads the JDBC metadata rather than trusting jOOQ's guess: MySQL Connector/J
 * reports a MariaDB server as product {@code MySQL}, and jOOQ would then render {@code FOR SHARE}
 * and lock waits that MariaDB rejects. The server version string gives MariaDB away.
 */
public enum DatabaseKind {
    POSTGRES(SQLDialect.POSTGRES),
    MYSQL(SQLDialect.MYSQL),
    MARIADB(SQLDialect.MARIADB),
    H2(SQLDialect.H2);

    static {
        // jOOQ prints a banner and tips through its logger unless asked not to.
        System.setProperty("org.jooq.no-logo", System.getProperty("org.jooq.no-logo", "true"));
        System.setProperty("org.jooq.no-tips", System.getProperty("org.jooq.no-tips", "true"));
    }

    private final SQLDialect jooqDialect;

    DatabaseKind(SQLDialect jooqDialect) {
        this.jooqDialect = jooqDialect;
    }

    /** The jOOQ dialect used to render and quote SQL for this database. */
    public SQLDialect jooqDialect() {
        return jooqDialect;
    }

    /**
     * An SQL expression for the database's clock in epoch milliseconds (BIGINT). Coordinators judge
     * every lease by it, so coordinators whose own clocks disagree still agree on what expired.
     */
    public String nowMillisExpression() {
        return switch (this) {
            case POSTGRES -> "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";
            case MYSQL, MARIADB -> "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)";
            case H2 -> "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000 AS BIGINT)";
        };
    }

    /** True for the databases that speak the MySQL protocol and error codes. */
    public boolean isMySqlFamily() {
        return this == MYSQL || this == MARIADB;
    }

    /**
     * Detects the database behind a connection.
     *
     * @throws UnsupportedDatabaseException for a database the toolkit does not know
     */
    public static DatabaseKind detect(Connection connection) throws SQLException {
        DatabaseMetaData meta = connection.getMetaData();
        return fromMetadata(meta.getDatabaseProductName(), meta.getDatabaseProductVersion());
    }

    /** Maps a JDBC product name and version (as {@link DatabaseMetaData} reports them) to a kind. */
    public static DatabaseKind fromMetadata(String productName, String productVersion) {
        String product = productName == null ? "" : productName.toLowerCase(Locale.ROOT);
        String version = productVersion == null ? "" : productVersion.toLowerCase(Locale.ROOT);
        if (product.contains("postgres")) {
            return POSTGRES;
        }
        if (product.contains("mariadb") || (product.contains("mysql") && version.contains("mariadb"))) {
            return MARIADB;
        }
        if (product.contains("mysql")) {
            return MYSQL;
        }
        if (product.equals("h2")) {
            return H2;
        }
        throw new UnsupportedDatabaseException("Latchkey does not support the database '" + productName + " "
                + productVersion + "'; it supports PostgreSQL, MySQL, MariaDB and H2");
    }
}
