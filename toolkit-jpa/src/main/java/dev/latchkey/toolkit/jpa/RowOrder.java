package dev.latchkey.toolkit.jpa;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/** The order the row locker locks in: ids de-duplicated and sorted. */
final class RowOrder {

    private RowOrder() {
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static List<Object> sorted(List<Object> ids) {
        return new ArrayList<>(new TreeSet(ids));
    }
}
