package dev.latchkey.coordinator.store;

import static dev.latchkey.coordinator.store.Schema.*;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.Event;
import dev.latchkey.migrations.Migrations;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.failure.FailureClassifier;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.Transactor;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;

/**
 * The coordinator's store: a connection pool on the configured database with the coordinator's
 * migrations applied. Any number of coordinators may open the same store at once (Liquibase's
 * lock serialises their migrations).
 *
 * <p>Every lease, expiry and lock-delay is computed from {@link #nowMillis}, the database's clock,
 * so that coordinators on machines whose clocks disagree still agree on what has expired.
 */
public final class Store implements AutoCloseable {

    private static final Settings SETTINGS = new Settings().withExecuteLogging(false).withRenderFormatted(false);

    private final HikariDataSource dataSource;
    private final DatabaseKind kind;
    private final String nowSql;
    private final Transactor transactor;
    private volatile Consumer<List<Event>> onCommit = events -> { };

    private Store(HikariDataSource dataSource, DatabaseKind kind) {
        this.dataSource = dataSource;
        this.kind = kind;
        this.nowSql = "SELECT " + kind.nowMillisExpression();
        this.transactor = new Transactor(dataSource,
                RetryPolicy.defaults().withMaxAttempts(20).withBackoff(Duration.ofMillis(2), Duration.ofMillis(100)), ToolkitMetrics.NONE);
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
        hikari.setConnectionTimeout(5_000);
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

    /** Called after every writing transaction commits, with the events it appended. */
    public void onCommit(Consumer<List<Event>> listener) {
        this.onCommit = listener;
    }

    public DSLContext dsl(Connection c) {
        return DSL.using(c, kind.jooqDialect(), SETTINGS);
    }

    /** The database clock in epoch milliseconds. */
    public long nowMillis(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(nowSql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** The database clock in epoch milliseconds, on a connection of its own. */
    public long nowMillis() {
        return readAt((dsl, now) -> now);
    }

    /**
     * Runs a writing transaction (revision counter first), retrying deadlocks and serialization
     * failures; listeners hear of its events after it commits.
     */
    public <T> T write(String operation, Function<WriteTx, T> work) {
        List<List<Event>> committed = new java.util.ArrayList<>(1);
        T result = run(() -> transactor.execute(operation, c -> {
            committed.clear();
            WriteTx tx = new WriteTx(dsl(c), nowMillis(c), kind == DatabaseKind.POSTGRES);
            T r = work.apply(tx);
            tx.flush();
            committed.add(tx.events());
            return r;
        }));
        if (!committed.isEmpty() && !committed.get(0).isEmpty()) {
            onCommit.accept(committed.get(0));
        }
        return result;
    }

    /** A read that needs the database clock: the work gets a DSL context and "now" in epoch ms. */
    public <T> T readAt(java.util.function.BiFunction<DSLContext, Long, T> work) {
        return read(c -> {
            try {
                return work.apply(dsl(c), nowMillis(c));
            } catch (SQLException e) {
                throw new StoreUnavailableException("cannot read the database clock: " + e.getMessage(), e);
            }
        });
    }

    /** Runs a read on a connection in auto-commit mode. */
    public <T> T read(Function<Connection, T> work) {
        return run(() -> {
            try (Connection c = dataSource.getConnection()) {
                return work.apply(c);
            } catch (SQLException e) {
                throw new StoreUnavailableException("the store failed: " + e.getMessage(), e);
            }
        });
    }

    private static <T> T run(java.util.function.Supplier<T> body) {
        try {
            return body.get();
        } catch (CoordinatorException | StoreUnavailableException e) {
            throw e;
        } catch (org.jooq.exception.DataAccessException e) {
            throw unavailable(e);
        } catch (RuntimeException e) {
            if (e.getCause() instanceof SQLException || FailureClassifier.classify(e).isPresent()) {
                throw unavailable(e);
            }
            throw e;
        }
    }

    private static StoreUnavailableException unavailable(Exception e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        boolean connection = root instanceof SQLTransientConnectionException || root instanceof java.net.ConnectException;
        return new StoreUnavailableException((connection ? "the store is unreachable: " : "the store failed: ") + root.getMessage(), e);
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
