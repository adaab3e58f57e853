package dev.latchkey.toolkit;

import dev.latchkey.toolkit.internal.Identifiers;
import java.util.Objects;
import org.jooq.Field;
import org.jooq.Table;

/**
 * Describes a table the toolkit works on: its name, the key column that picks one row, and
 * optionally a version column (for optimistic locking) and a fence column (for fenced writes).
 *
 * <pre>{@code
 * TableSpec items = TableSpec.table("item").key("id").version("version");
 * TableSpec events = TableSpec.table("event").key("id").timestampVersion("updated_at");
 * TableSpec register = TableSpec.table("register").key("id").fence("fence_token");
 * }</pre>
 *
 * <p>Names are plain SQL identifiers; anything else (quotes, spaces, SQL) is refused here, before
 * any database is involved. They are matched against the database's catalog case-insensitively
 * when the toolkit first uses the spec, and quoted exactly as the catalog spells them.
 */
public record TableSpec(String schema, String table, String keyColumn, String versionColumn, VersionKind versionKind,
        String fenceColumn) {

    /** How a version column advances on every successful compare-and-set. */
    public enum VersionKind {
        /** An integer column that goes up by one. */
        COUNTER,
        /** A timestamp column (microsecond precision or finer) that moves to a later instant. */
        TIMESTAMP
    }

    public TableSpec {
        Identifiers.require("table name", table);
        if (schema != null) {
            Identifiers.require("schema name", schema);
        }
        if (keyColumn != null) {
            Identifiers.require("key column", keyColumn);
        }
        if (versionColumn != null) {
            Identifiers.require("version column", versionColumn);
            Objects.requireNonNull(versionKind, "versionKind");
        }
        if (fenceColumn != null) {
            Identifiers.require("fence column", fenceColumn);
        }
    }

    /** Starts a spec for a table in the connection's current schema. */
    public static TableSpec table(String table) {
        return new TableSpec(null, table, null, null, null, null);
    }

    /** Starts a spec for a table in a named schema. */
    public static TableSpec table(String schema, String table) {
        return new TableSpec(schema, table, null, null, null, null);
    }

    /** Starts a spec from a jOOQ table (generated or declared) and its key field. */
    public static TableSpec of(Table<?> table, Field<?> key) {
        Objects.requireNonNull(table, "table");
        String schema = table.getSchema() == null || table.getSchema().getName().isEmpty() ? null : table.getSchema().getName();
        return new TableSpec(schema, table.getName(), null, null, null, null).key(key.getName());
    }

    public TableSpec key(String column) {
        return new TableSpec(schema, table, column, versionColumn, versionKind, fenceColumn);
    }

    /** An integer version column that the toolkit increments on each update. */
    public TableSpec version(String column) {
        return new TableSpec(schema, table, keyColumn, column, VersionKind.COUNTER, fenceColumn);
    }

    public TableSpec version(Field<?> column) {
        return version(column.getName());
    }

    /** A timestamp version column that the toolkit moves forward on each update. */
    public TableSpec timestampVersion(String column) {
        return new TableSpec(schema, table, keyColumn, column, VersionKind.TIMESTAMP, fenceColumn);
    }

    /** A column holding the highest fencing token accepted for the row. */
    public TableSpec fence(String column) {
        return new TableSpec(schema, table, keyColumn, versionColumn, versionKind, column);
    }

    String requireKey() {
        if (keyColumn == null) {
            throw new IllegalArgumentException("table spec for '" + table + "' has no key column: call key(...)");
        }
        return keyColumn;
    }

    @Override
    public String toString() {
        return (schema == null ? "" : schema + ".") + table;
    }
}
