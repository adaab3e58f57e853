package dev.latchkey.toolkit.internal;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jooq.Field;
import org.jooq.Name;
import org.jooq.Table;
import org.jooq.impl.DSL;

/**
 * A table whose name and columns were found in the database catalog, spelled exactly as stored,
 * so that jOOQ's quoting matches on every database (H2 folds unquoted names to upper case).
 */
public record ResolvedTable(String schema, String name, Map<String, String> columnsByLowerName, List<String> columns) {

    /** The exact spelling of a column, or a clear error naming the columns there are. */
    public String column(String requested) {
        Identifiers.require("column name", requested);
        String exact = columnsByLowerName.get(requested.toLowerCase(Locale.ROOT));
        if (exact == null) {
            throw new IllegalArgumentException("unknown column '" + requested + "' in table '" + name + "' (columns: "
                    + String.join(", ", columns) + ")");
        }
        return exact;
    }

    public Table<?> table() {
        Name qualified = schema == null ? DSL.name(name) : DSL.name(schema, name);
        return DSL.table(qualified);
    }

    public Field<Object> field(String requested) {
        return DSL.field(DSL.name(column(requested)));
    }
}
