package io.turnout.store;

import io.turnout.domain.Field;
import io.turnout.domain.FieldType;
import io.turnout.domain.Normalization;
import java.util.List;
import java.util.StringJoiner;
import java.util.function.Function;

/** The SQL that hashes one record in API shape, shared by every kind of store so their checksums agree. */
final class Checksums {
    private Checksums() {}

    /**
     * A 64-bit hash of the record, after normalisation: the compared fields in order, each read by
     * {@code expression} cast to its API type (JSON as canonical jsonb text).
     */
    static String rowHash(List<Field> fields, Function<Field, String> expression, Normalization n) {
        StringJoiner values = new StringJoiner(", ");
        for (Field f : fields) {
            if (n.ignores(f.name())) continue;
            String expr = expression.apply(f);
            if (f.type() == FieldType.TIMESTAMP && n.timestampPrecision() != null) {
                expr = "date_trunc('" + n.timestampPrecision() + "', " + expr + ")";
            }
            values.add(expr);
        }
        return "hashtextextended(ROW(" + values + ")::text, 0)";
    }
}
