package dev.latchkey.toolkit;

import dev.latchkey.toolkit.advisory.AdvisoryLocks;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.fencing.FencedTable;
import dev.latchkey.toolkit.internal.ResolvedTable;
import dev.latchkey.toolkit.internal.Sql;
import dev.latchkey.toolkit.internal.TableResolver;
import dev.latchkey.toolkit.metrics.ToolkitMetrics;
import dev.latchkey.toolkit.optimistic.OptimisticTable;
import dev.latchkey.toolkit.pessimistic.RowLocker;
import dev.latchkey.toolkit.retry.RetryPolicy;
import dev.latchkey.toolkit.retry.Transactor;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * Where the toolkit starts: bound to one {@link DataSource}, whose database it detects once.
 *
 * <pre>{@code
 * Toolkit toolkit = Toolkit.create(dataSource);
 * OptimisticTable items = toolkit.optimistic(TableSpec.table("item").key("id").version("version"));
 * Transactor tx = toolkit.transactor(RetryPolicy.defaults());
 * tx.execute("buy", c -> items.update(42L).expectVersion(7).set("stock", 0).execute(c).orThrow());
 * }</pre>
 *
 * <p>Tables are looked up in the catalog when a table object is made, so an unknown table or
 * column fails there, with a clear message, and not in the middle of a transaction.
 */
public final class Toolkit {

    private final DataSource dataSource;
    private final Sql sql;
    private final ToolkitMetrics metrics;

    private Toolkit(DataSource dataSource, DatabaseKind kind, ToolkitMetrics metrics) {
        this.dataSource = dataSource;
        this.sql = new Sql(kind);
        this.metrics = metrics;
    }

    /** A toolkit for the database behind the data source, without metrics. */
    public static Toolkit create(DataSource dataSource) {
        return create(dataSource, ToolkitMetrics.NONE);
    }

    /** A toolkit that reports to the given metrics (for example a {@code MicrometerToolkitMetrics}). */
    public static Toolkit create(DataSource dataSource, ToolkitMetrics metrics) {
        Objects.requireNonNull(dataSource, "dataSource");
        Objects.requireNonNull(metrics, "metrics");
        try (Connection c = dataSource.getConnection()) {
            return new Toolkit(dataSource, DatabaseKind.detect(c), metrics);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot reach the database to detect its kind: " + e.getMessage(), e);
        }
    }

    public DatabaseKind database() {
        return sql.kind();
    }

    public DataSource dataSource() {
        return dataSource;
    }

    public ToolkitMetrics metrics() {
        return metrics;
    }

    /** Compare-and-set updates and deletes on a table with a key and a version column (or guards only). */
    public OptimisticTable optimistic(TableSpec spec) {
        return new OptimisticTable(resolve(spec), spec, sql);
    }

    /** Row locks on a table, by key. */
    public RowLocker rowLocks(TableSpec spec) {
        return new RowLocker(resolve(spec), spec, sql, metrics);
    }

    /** Writes that are refused when the caller's fencing token is older than the row's fence. */
    public FencedTable fenced(TableSpec spec) {
        if (spec.fenceColumn() == null) {
            throw new IllegalArgumentException("table spec for '" + spec + "' has no fence column: call fence(...)");
        }
        return new FencedTable(resolve(spec), spec, sql);
    }

    /** Named advisory locks (PostgreSQL, MySQL, MariaDB; refused on H2). */
    public AdvisoryLocks advisory() {
        return new AdvisoryLocks(sql.kind(), metrics);
    }

    /** Runs units of work in transactions, retrying contention as the policy says. */
    public Transactor transactor(RetryPolicy policy) {
        return new Transactor(dataSource, policy, metrics);
    }

    private ResolvedTable resolve(TableSpec spec) {
        spec.requireKey();
        try (Connection c = dataSource.getConnection()) {
            ResolvedTable table = TableResolver.resolve(c, sql.kind(), spec.schema(), spec.table());
            table.column(spec.keyColumn());
            if (spec.versionColumn() != null) {
                table.column(spec.versionColumn());
            }
            if (spec.fenceColumn() != null) {
                table.column(spec.fenceColumn());
            }
            return table;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the catalog for table '" + spec + "': " + e.getMessage(), e);
        }
    }
}
