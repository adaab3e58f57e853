package dev.latchkey.toolkit.optimistic;

import dev.latchkey.toolkit.internal.Identifiers;
import dev.latchkey.toolkit.internal.ResolvedTable;
import dev.latchkey.toolkit.internal.Sql;
import java.util.List;
import java.util.Objects;
import org.jooq.Condition;
import org.jooq.Field;
import org.jooq.impl.DSL;

/**
 * A predicate a row must satisfy for a guarded write to apply, such as {@code stock > 0}.
 * Columns are checked against the table, values are bound parameters.
 *
 * <pre>{@code
 * Guard.greaterThan("stock", 0)
 * Guard.atLeast("stock", qty).and(Guard.isNull("withdrawn_at"))
 * }</pre>
 */
public sealed interface Guard {

    /** A text that is equal for guards that render the same SQL (values aside). */
    String shape();

    /** The values to bind, in the order the guard renders its placeholders. */
    List<Object> values();

    /** The jOOQ condition, with placeholders for the values. */
    Condition condition(ResolvedTable table);

    static Guard greaterThan(String column, Object value) {
        return new Compare(column, ">", value);
    }

    static Guard atLeast(String column, Object value) {
        return new Compare(column, ">=", value);
    }

    static Guard lessThan(String column, Object value) {
        return new Compare(column, "<", value);
    }

    static Guard atMost(String column, Object value) {
        return new Compare(column, "<=", value);
    }

    static Guard equalTo(String column, Object value) {
        return new Compare(column, "=", value);
    }

    static Guard notEqualTo(String column, Object value) {
        return new Compare(column, "<>", value);
    }

    static Guard isNull(String column) {
        return new Null(column, true);
    }

    static Guard isNotNull(String column) {
        return new Null(column, false);
    }

    default Guard and(Guard other) {
        return new And(this, Objects.requireNonNull(other, "other"));
    }

    /** Compares a column with a value. */
    record Compare(String column, String operator, Object value) implements Guard {
        public Compare {
            Identifiers.require("guard column", column);
            Objects.requireNonNull(value, "guard value (use isNull for NULL)");
        }

        @Override
        public String shape() {
            return column + operator + "?";
        }

        @Override
        public List<Object> values() {
            return List.of(value);
        }

        @Override
        public Condition condition(ResolvedTable table) {
            Field<Object> f = table.field(column);
            Field<Object> p = Sql.placeholder();
            return switch (operator) {
                case ">" -> f.gt(p);
                case ">=" -> f.ge(p);
                case "<" -> f.lt(p);
                case "<=" -> f.le(p);
                case "=" -> f.eq(p);
                case "<>" -> f.ne(p);
                default -> throw new IllegalArgumentException("unknown operator " + operator);
            };
        }
    }

    /** Tests a column for NULL. */
    record Null(String column, boolean isNull) implements Guard {
        public Null {
            Identifiers.require("guard column", column);
        }

        @Override
        public String shape() {
            return column + (isNull ? " is null" : " is not null");
        }

        @Override
        public List<Object> values() {
            return List.of();
        }

        @Override
        public Condition condition(ResolvedTable table) {
            Field<Object> f = table.field(column);
            return isNull ? f.isNull() : f.isNotNull();
        }
    }

    /** Both guards must hold. */
    record And(Guard left, Guard right) implements Guard {
        @Override
        public String shape() {
            return "(" + left.shape() + " and " + right.shape() + ")";
        }

        @Override
        public List<Object> values() {
            List<Object> all = new java.util.ArrayList<>(left.values());
            all.addAll(right.values());
            return all;
        }

        @Override
        public Condition condition(ResolvedTable table) {
            return DSL.and(left.condition(table), right.condition(table));
        }
    }
}
