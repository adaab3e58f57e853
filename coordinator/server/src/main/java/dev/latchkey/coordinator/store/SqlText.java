package dev.latchkey.coordinator.store;

import dev.latchkey.toolkit.dialect.DatabaseKind;

/**
 * Pieces of the fixed SQL that set-based statements are built from: placeholders for a list or for
 * rows of values. Only the number of placeholders varies, so the texts repeat from batch to batch
 * and each driver reuses what it prepared for them.
 */
public final class SqlText {

    private SqlText() {
    }

    /**
     * SQL written with double-quoted lower-case identifiers (as the migrations create them: H2 would
     * fold unquoted names to upper case), in the quoting of {@code kind}: MySQL and MariaDB quote
     * identifiers with backticks (double quotes are strings there unless ANSI_QUOTES is set).
     */
    public static String quoted(DatabaseKind kind, String sql) {
        return kind.isMySqlFamily() ? sql.replace('"', '`') : sql;
    }

    private static final int CACHED = 64;
    private static final String[] LISTS = new String[CACHED + 1];

    /** {@code (?, ?, …)} with {@code n} placeholders, n ≥ 1. */
    public static String list(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("a list needs at least one element");
        }
        if (n <= CACHED) {
            String cached = LISTS[n];
            if (cached == null) {
                cached = build(n);
                LISTS[n] = cached;
            }
            return cached;
        }
        return build(n);
    }

    /** {@code (?, ?), (?, ?), …}: {@code n} rows of {@code width} placeholders each. */
    public static String rows(int n, int width) {
        if (n < 1 || width < 1) {
            throw new IllegalArgumentException("rows need at least one row and one column");
        }
        String row = build(width);
        StringBuilder sb = new StringBuilder(n * (row.length() + 2));
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(row);
        }
        return sb.toString();
    }

    private static String build(int n) {
        StringBuilder sb = new StringBuilder(n * 3 + 2).append('(');
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "?" : ", ?");
        }
        return sb.append(')').toString();
    }
}
