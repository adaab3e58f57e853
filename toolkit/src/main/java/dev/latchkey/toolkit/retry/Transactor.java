package dev.latchkey.toolkit.retry;

import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import java.io.PrintWriter;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * Runs units of work in transactions and retries the ones that meet contention.
 *
 * <p>How {@link #execute} runs a unit of work (the retrying is {@link RetryLoop}'s):
 * <ol>
 *   <li>each attempt takes a connection, turns auto-commit off and runs the work in a fresh transaction;</li>
 *   <li>the work returns: commit (a failing commit counts as a failure of the attempt);</li>
 *   <li>the work throws: roll back, and classify the failure ({@link dev.latchkey.toolkit.failure.FailureClassifier});</li>
 *   <li>contention the policy retries, with attempts left: pause (jittered exponential backoff) and
 *       go to 1;</li>
 *   <li>otherwise throw the last failure, with the earlier ones attached as suppressed.</li>
 * </ol>
 *
 * <p><b>Idempotency contract:</b> the work may run more than once, so everything it does outside the
 * transaction (sending mail, calling a payment service, changing fields of shared objects) must be
 * safe to repeat, or be done after {@code execute} returns. What it does inside the transaction is
 * rolled back with the failed attempt.
 *
 * <p>While an attempt runs, {@link #dataSource()} hands the attempt's connection to code that asks
 * for one (closing it is then a no-op), so existing DAOs take part in the transaction unchanged.
 */
public final class Transactor {

    /**
     * The connections of the transactions running on this thread, one per data source: a transactor
     * joins only a transaction on its own database, never one that another transactor opened on
     * another database (a single static slot once let a call for database A write into B's transaction).
     */
    private static final ThreadLocal<Map<DataSource, Connection>> CURRENT = ThreadLocal.withInitial(IdentityHashMap::new);

    private final DataSource dataSource;
    private final RetryPolicy policy;
    private final ToolkitMetrics metrics;
    private final Sleeper sleeper;
    private final RetryLoop loop;
    private final DataSource bound;

    /** How the transactor pauses; tests replace it. */
    @FunctionalInterface
    public interface Sleeper extends RetryLoop.Sleeper {
    }

    public Transactor(DataSource dataSource, RetryPolicy policy, ToolkitMetrics metrics) {
        this(dataSource, policy, metrics, d -> Thread.sleep(d));
    }

    public Transactor(DataSource dataSource, RetryPolicy policy, ToolkitMetrics metrics, Sleeper sleeper) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
        this.loop = new RetryLoop(policy, metrics, sleeper);
        this.bound = new BoundDataSource(dataSource);
    }

    public RetryPolicy policy() {
        return policy;
    }

    /** The same transactor with another policy. */
    public Transactor withPolicy(RetryPolicy other) {
        return new Transactor(dataSource, other, metrics, sleeper);
    }

    /** Runs the work as operation "transaction". */
    public <T> T execute(TransactionWork<T> work) {
        return execute("transaction", work);
    }

    /**
     * Runs the work in a transaction, retrying contention as the policy says. Joins the transaction
     * already running on this thread, if any (then no retry happens here: the outer one retries).
     */
    public <T> T execute(String operation, TransactionWork<T> work) {
        Objects.requireNonNull(operation, "operation");
        Objects.requireNonNull(work, "work");
        Connection outer = bound(dataSource);
        if (outer != null) {
            return runJoined(outer, work);
        }
        return loop.run(operation, n -> attempt(work));
    }

    /** A data source that hands out the current attempt's connection inside {@link #execute}, a fresh one outside. */
    public DataSource dataSource() {
        return bound;
    }

    /** The connection of this transactor's transaction running on this thread (on its data source), if any. */
    public Optional<Connection> currentConnection() {
        return Optional.ofNullable(bound(dataSource));
    }

    private static Connection bound(DataSource dataSource) {
        return CURRENT.get().get(dataSource);
    }

    private <T> T attempt(TransactionWork<T> work) throws Exception {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(false);
            Map<DataSource, Connection> current = CURRENT.get();
            current.put(dataSource, connection);
            try {
                T result = work.run(connection);
                connection.commit();
                return result;
            } catch (Throwable t) {
                try {
                    connection.rollback();
                } catch (SQLException rollbackFailure) {
                    t.addSuppressed(rollbackFailure);
                }
                throw t;
            } finally {
                current.remove(dataSource);
                if (current.isEmpty()) {
                    CURRENT.remove();
                }
                try {
                    connection.setAutoCommit(autoCommit);
                } catch (SQLException ignored) {
                    // the pool will discard a broken connection
                }
            }
        }
    }

    private static <T> T runJoined(Connection connection, TransactionWork<T> work) {
        try {
            return work.run(connection);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new TransactionException("unit of work failed: " + e.getMessage(), e);
        }
    }

    /** Hands out the current transaction's connection, wrapped so that closing it does not end the transaction. */
    private static final class BoundDataSource implements DataSource {
        private final DataSource target;

        BoundDataSource(DataSource target) {
            this.target = target;
        }

        @Override
        public Connection getConnection() throws SQLException {
            Connection current = bound(target);
            return current == null ? target.getConnection() : unclosable(current);
        }

        @Override
        public Connection getConnection(String username, String password) throws SQLException {
            Connection current = bound(target);
            return current == null ? target.getConnection(username, password) : unclosable(current);
        }

        private static Connection unclosable(Connection connection) {
            return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                    (proxy, method, args) -> switch (method.getName()) {
                        case "close" -> null;
                        case "isClosed" -> false;
                        // Ending the transaction is the Transactor's job; a DAO's own rollback() is left to it.
                        case "rollback" -> args == null ? null : method.invoke(connection, args);
                        case "commit" -> throw new IllegalStateException(
                                "commit() is managed by the Transactor running this transaction");
                        case "setAutoCommit" -> {
                            if (Boolean.TRUE.equals(args[0])) {
                                throw new IllegalStateException("auto-commit cannot be turned on inside a Transactor's transaction");
                            }
                            yield null;
                        }
                        case "unwrap" -> ((Class<?>) args[0]).isInstance(connection) ? connection : connection.unwrap((Class<?>) args[0]);
                        default -> {
                            try {
                                yield method.invoke(connection, args);
                            } catch (java.lang.reflect.InvocationTargetException e) {
                                throw e.getCause();
                            }
                        }
                    });
        }

        @Override
        public PrintWriter getLogWriter() throws SQLException {
            return target.getLogWriter();
        }

        @Override
        public void setLogWriter(PrintWriter out) throws SQLException {
            target.setLogWriter(out);
        }

        @Override
        public void setLoginTimeout(int seconds) throws SQLException {
            target.setLoginTimeout(seconds);
        }

        @Override
        public int getLoginTimeout() throws SQLException {
            return target.getLoginTimeout();
        }

        @Override
        public Logger getParentLogger() throws SQLFeatureNotSupportedException {
            return target.getParentLogger();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            return iface.isInstance(target) ? iface.cast(target) : target.unwrap(iface);
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) throws SQLException {
            return iface.isInstance(target) || target.isWrapperFor(iface);
        }
    }
}
