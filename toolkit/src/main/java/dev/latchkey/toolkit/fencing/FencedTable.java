package dev.latchkey.toolkit.fencing;

import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.internal.Identifiers;
import dev.latchkey.toolkit.internal.ResolvedTable;
import dev.latchkey.toolkit.internal.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jooq.Field;
import org.jooq.impl.DSL;

/**
 * Fenced writes: an update applies only when the caller's fencing token is not older than the
 * newest one the row has accepted, and then records it.
 *
 * <pre>{@code
 * UPDATE t SET ..., fence = :token WHERE key = :key AND (fence IS NULL OR fence <= :token)
 * }</pre>
 *
 * <p>An equal token is accepted (the same holder writing again); an older one is refused with
 * {@link FenceOutcome.Fenced}, reporting the fence it met. Because the check and the write are one
 * statement, it holds inside the caller's own transaction with no extra lock.
 */
public final class FencedTable {

    private final ResolvedTable table;
    private final TableSpec spec;
    private final Sql sql;
    private final String keyColumn;
    private final String fenceColumn;

    public FencedTable(ResolvedTable table, TableSpec spec, Sql sql) {
        this.table = table;
        this.spec = spec;
        this.sql = sql;
        this.keyColumn = table.column(spec.keyColumn());
        this.fenceColumn = table.column(spec.fenceColumn());
    }

    /** Starts a fenced update of one row. */
    public Write update(Object key, FencingToken token) {
        return new Write(Objects.requireNonNull(key, "key must not be null"), Objects.requireNonNull(token, "token").value());
    }

    /** The highest token the row has accepted, or null when none; empty when there is no row. */
    public java.util.Optional<Long> currentFence(Connection connection, Object key) throws SQLException {
        String statement = sql.cached("F|read", () -> sql.dsl().select(fence()).from(table.table()).where(key().eq(Sql.placeholder())));
        try (PreparedStatement ps = sql.prepare(connection, statement, List.of(key)); ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return java.util.Optional.empty();
            }
            long value = rs.getLong(1);
            return java.util.Optional.of(rs.wasNull() ? Long.MIN_VALUE : value);
        }
    }

    /** One fenced update, built fluently. */
    public final class Write {
        private final Object key;
        private final long token;
        private final Map<String, Object> values = new LinkedHashMap<>();

        private Write(Object key, long token) {
            this.key = key;
            this.token = token;
        }

        public Write set(String column, Object value) {
            Identifiers.require("column name", column);
            String exact = table.column(column);
            if (exact.equals(keyColumn) || exact.equals(fenceColumn)) {
                throw new IllegalArgumentException("column '" + column + "' is managed by the fenced write");
            }
            values.put(column, value);
            return this;
        }

        public FenceOutcome execute(Connection connection) throws SQLException {
            List<String> columns = new ArrayList<>(values.keySet());
            String statement = sql.cached("F|" + columns, () -> {
                Map<Field<?>, Object> set = new LinkedHashMap<>();
                for (String c : columns) {
                    set.put(table.field(c), Sql.placeholder());
                }
                set.put(fence(), Sql.placeholder());
                return sql.dsl().update(table.table()).set(set)
                        .where(key().eq(Sql.placeholder()).and(fence().isNull().or(fence().le(Sql.placeholder()))));
            });
            List<Object> binds = new ArrayList<>(values.values());
            binds.add(token);
            binds.add(key);
            binds.add(token);
            int count;
            try (PreparedStatement ps = sql.prepare(connection, statement, binds)) {
                count = ps.executeUpdate();
            }
            if (count == 1) {
                return new FenceOutcome.Accepted(key, token);
            }
            if (count > 1) {
                throw new IllegalStateException(count + " rows of " + spec + " have key " + key);
            }
            return currentFence(connection, key)
                    .<FenceOutcome>map(current -> new FenceOutcome.Fenced(key, token, current))
                    .orElseGet(() -> new FenceOutcome.Gone(key));
        }
    }

    private Field<Object> key() {
        return DSL.field(DSL.name(keyColumn));
    }

    private Field<Object> fence() {
        return DSL.field(DSL.name(fenceColumn));
    }
}
