package dev.latchkey.toolkit.internal;

import dev.latchkey.toolkit.dialect.DatabaseKind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.jooq.DSLContext;
import org.jooq.Param;
import org.jooq.QueryPart;
import org.jooq.conf.ParamType;
import org.jooq.conf.RenderQuotedNames;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;

/**
 * Renders SQL with jOOQ once per statement shape and runs it with plain JDBC. jOOQ quotes every
 * identifier; values are always bound parameters.
 */
public final class Sql {

    private final DatabaseKind kind;
    private final DSLContext dsl;
    private final Map<String, String> rendered = new ConcurrentHashMap<>();

    public Sql(DatabaseKind kind) {
        this.kind = kind;
        Settings settings = new Settings()
                .withRenderQuotedNames(RenderQuotedNames.ALWAYS)
                .withParamType(ParamType.INDEXED)
                .withRenderFormatted(false)
                .withExecuteLogging(false);
        this.dsl = DSL.using(kind.jooqDialect(), settings);
    }

    public DatabaseKind kind() {
        return kind;
    }

    public DSLContext dsl() {
        return dsl;
    }

    /** A bind placeholder; values are supplied at execution in the order the placeholders render. */
    public static Param<Object> placeholder() {
        return DSL.param("p", (Object) null);
    }

    /** The SQL for a statement shape, rendered the first time the shape is seen. */
    public String cached(String shape, Supplier<? extends QueryPart> query) {
        return rendered.computeIfAbsent(shape, s -> dsl.render(query.get()));
    }

    /** SQL text for a statement shape, built the first time the shape is seen. */
    public String cachedText(String shape, Supplier<String> text) {
        return rendered.computeIfAbsent(shape, s -> text.get());
    }

    public PreparedStatement prepare(Connection connection, String sql, List<?> values) throws SQLException {
        PreparedStatement ps = connection.prepareStatement(sql);
        try {
            bind(ps, values);
            return ps;
        } catch (SQLException | RuntimeException e) {
            ps.close();
            throw e;
        }
    }

    public void bind(PreparedStatement ps, List<?> values) throws SQLException {
        for (int i = 0; i < values.size(); i++) {
            Object value = jdbcValue(values.get(i));
            if (value instanceof Timestamp ts && kind.isMySqlFamily()) {
                // Connector/J takes MariaDB 10.x for MySQL 5.5 (its handshake says "5.5.5-10.x") and then
                // drops fractional seconds from Timestamp parameters; a string keeps the microseconds.
                ps.setString(i + 1, MYSQL_DATETIME.format(ts.toLocalDateTime()));
            } else {
                ps.setObject(i + 1, value);
            }
        }
    }

    private static final java.time.format.DateTimeFormatter MYSQL_DATETIME =
            java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    /** Converts the time types callers use to the JDBC type every driver accepts. */
    public static Object jdbcValue(Object value) {
        if (value instanceof Instant instant) {
            return Timestamp.from(instant);
        }
        if (value instanceof OffsetDateTime odt) {
            return Timestamp.from(odt.toInstant());
        }
        return value;
    }

    /** Reads a column value back, turning timestamps into {@link Instant}s. */
    public static Object javaValue(Object value) {
        if (value instanceof Timestamp ts) {
            return ts.toInstant();
        }
        if (value instanceof java.time.LocalDateTime ldt) {
            return Timestamp.valueOf(ldt).toInstant();
        }
        return value;
    }

}
