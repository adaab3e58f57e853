package dev.latchkey.toolkit.internal;

import dev.latchkey.toolkit.dialect.DatabaseKind;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Looks a table up in the JDBC catalog (metadata only; no statement is prepared). */
public final class TableResolver {

    private TableResolver() {
    }

    public static ResolvedTable resolve(Connection connection, DatabaseKind kind, String schema, String table)
            throws SQLException {
        DatabaseMetaData meta = connection.getMetaData();
        String catalog;
        String schemaPattern;
        if (kind.isMySqlFamily()) {
            catalog = schema != null ? schema : connection.getCatalog();
            schemaPattern = null;
        } else {
            catalog = null;
            schemaPattern = schema != null ? schema : connection.getSchema();
        }
        // Try the name as given, then as the database folds unquoted names.
        for (String candidateSchema : variants(schemaPattern)) {
            for (String candidate : variants(table)) {
                ResolvedTable found = columns(meta, catalog, candidateSchema, candidate, schema);
                if (found != null) {
                    return found;
                }
            }
        }
        throw new IllegalArgumentException("unknown table '" + (schema == null ? "" : schema + ".") + table
                + "' (looked in " + (kind.isMySqlFamily() ? "database " + catalog : "schema " + schemaPattern) + ")");
    }

    private static List<String> variants(String name) {
        if (name == null) {
            return java.util.Collections.singletonList(null);
        }
        List<String> names = new ArrayList<>(List.of(name));
        for (String v : List.of(name.toLowerCase(Locale.ROOT), name.toUpperCase(Locale.ROOT))) {
            if (!names.contains(v)) {
                names.add(v);
            }
        }
        return names;
    }

    private static ResolvedTable columns(DatabaseMetaData meta, String catalog, String schema, String table,
            String requestedSchema) throws SQLException {
        String escape = meta.getSearchStringEscape();
        Map<String, String> byLower = new LinkedHashMap<>();
        List<String> ordered = new ArrayList<>();
        String exactTable = null;
        try (ResultSet rs = meta.getColumns(catalog, escapePattern(schema, escape), escapePattern(table, escape), "%")) {
            while (rs.next()) {
                String tableName = rs.getString("TABLE_NAME");
                if (!tableName.equals(table)) {
                    continue; // the pattern may still match look-alikes where the driver ignores the escape
                }
                exactTable = tableName;
                String column = rs.getString("COLUMN_NAME");
                byLower.putIfAbsent(column.toLowerCase(Locale.ROOT), column);
                ordered.add(column);
            }
        }
        if (exactTable == null) {
            return null;
        }
        return new ResolvedTable(requestedSchema == null ? null : schema, exactTable, Map.copyOf(byLower), List.copyOf(ordered));
    }

    private static String escapePattern(String name, String escape) {
        if (name == null || escape == null || escape.isEmpty()) {
            return name;
        }
        return name.replace(escape, escape + escape).replace("_", escape + "_").replace("%", escape + "%");
    }
}
