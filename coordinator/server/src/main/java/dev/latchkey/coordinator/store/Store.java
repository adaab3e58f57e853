package dev.latchkey.coordinator.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.latchkey.migrations.Migrations;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import javax.sql.DataSource;
import org.jooq.impl.DSL;

/**
 * The coordinator's store: a connection pool on the configured database with the coordinator's
 * migrations applied. Any number of coordinators may open the same store at once (Liquibase's
 * lock serialises their migrations).
 *
 * <p>Every lease, expiry and lock-delay is computed from {@link #now()}, the database's clock, so
 * that coordinators on machines whose clocks disagree still agree on what has expired.
 */
public final class Store implements AutoCloseable {

    private final HikariDataSource dataSource;
    private final DatabaseKind kind;
    private final String nowSql;

    private Store(HikariDataSource dataSource, DatabaseKind kind) {
        this.dataSource = dataSource;
        this.kind = kind;
        this.nowSql = DSL.using(kind.jooqDialect()).renderInlined(DSL.select(DSL.currentTimestamp(DSL.inline(6))));
    }

    /** Opens the pool and applies the coordinator's migrations. */
    public static Store open(StoreConfig config) {
        HikariConfig hikari = new HikariConfig();
        hikari.setJdbcUrl(config.jdbcUrl());
        hikari.setUsername(config.user());
        hikari.setPassword(config.password());
        hikari.setMaximumPoolSize(config.poolSize());
        hikari.setMinimumIdle(Math.min(2, config.poolSize()));
        hikari.setPoolName("latchkey-store");
        HikariDataSource ds = null;
        try {
            ds = new HikariDataSource(hikari);
            DatabaseKind kind;
            try (Connection c = ds.getConnection()) {
                kind = DatabaseKind.detect(c);
            }
            Migrations.apply(ds, Migrations.Changelog.COORDINATOR);
            return new Store(ds, kind);
        } catch (SQLException | RuntimeException e) {
            if (ds != null) {
                ds.close();
            }
            throw new StoreUnavailableException("cannot open the store at " + config.jdbcUrl() + ": " + e.getMessage(), e);
        }
    }

    public DataSource dataSource() {
        return dataSource;
    }

    public DatabaseKind kind() {
        return kind;
    }

    /** The database's clock, at microsecond precision. */
    public Instant now() {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(nowSql)) {
            rs.next();
            Timestamp ts = rs.getTimestamp(1);
            return ts.toInstant();
        } catch (SQLException e) {
            throw new StoreUnavailableException("cannot read the database clock: " + e.getMessage(), e);
        }
    }

    /** Whether the store answers a trivial query within the pool's validation timeout. */
    public boolean healthy() {
        try (Connection c = dataSource.getConnection()) {
            return c.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public void close() {
        dataSource.close();
    }

    /** The store could not be reached or used. */
    public static final class StoreUnavailableException extends RuntimeException {
        public StoreUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
