package dev.latchkey.coordinator.core;

import java.util.List;

/**
 * One page of a listing in key order; {@code next} is the key to pass as {@code after} for the
 * following page, or {@code null} on the last one. Keyset pages stay correct while rows come and go.
 */
public record Page<T>(List<T> items, String next) {

    /** The most a page holds, whatever a caller asks for. */
    public static final int MAX = 10_000;

    /** Makes a page from up to {@code limit + 1} rows fetched in key order. */
    static <T> Page<T> of(List<T> rows, int limit, java.util.function.Function<T, String> key) {
        if (rows.size() <= limit) {
            return new Page<>(List.copyOf(rows), null);
        }
        List<T> items = List.copyOf(rows.subList(0, limit));
        return new Page<>(items, key.apply(items.get(limit - 1)));
    }
}
