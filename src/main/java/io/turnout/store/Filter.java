package io.turnout.store;

import io.turnout.domain.Field;
import java.util.List;

/** One condition of a list query: {@code field op value}, or {@code field in values}. */
public record Filter(Field field, Op op, List<Object> values) {

    /** Comparison operators the data API accepts, by their query-parameter suffix. */
    public enum Op {
        EQ("=", ""),
        GT(">", "gt"),
        GTE(">=", "gte"),
        LT("<", "lt"),
        LTE("<=", "lte"),
        IN("= ANY", "in"),
        PREFIX("starts_with", "prefix");

        public final String sql;
        public final String suffix;

        Op(String sql, String suffix) {
            this.sql = sql;
            this.suffix = suffix;
        }

        public static Op ofSuffix(String suffix) {
            for (Op op : values()) {
                if (op.suffix.equals(suffix)) return op;
            }
            return null;
        }
    }

    public Object value() {
        return values.get(0);
    }
}
