package io.turnout.domain;

import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How a domain's records are made comparable before the two stores are compared: fields left out
 * (e.g. a column only one store has), and the precision timestamps are cut to (e.g. when one store
 * keeps milliseconds and the other microseconds).
 */
public record Normalization(Set<String> ignoredFields, String timestampPrecision) {
    public static final Set<String> PRECISIONS = Set.of("milliseconds", "seconds", "minutes");

    /** Compares every field exactly. */
    public static final Normalization NONE = new Normalization(Set.of(), null);

    public boolean ignores(String field) {
        return ignoredFields.contains(field);
    }

    /** Names of the compared fields whose values differ; every compared field when one record is missing. */
    public List<String> differingFields(List<Field> fields, Record a, Record b) {
        List<String> names = new ArrayList<>();
        for (Field f : fields) {
            if (ignores(f.name())) continue;
            if (a == null || b == null || !Objects.equals(value(f, a.get(f.name())), value(f, b.get(f.name())))) names.add(f.name());
        }
        return names;
    }

    private Object value(Field f, Object value) {
        if (f.type() != FieldType.TIMESTAMP || value == null || timestampPrecision == null) return value;
        ChronoUnit unit = switch (timestampPrecision) {
            case "milliseconds" -> ChronoUnit.MILLIS;
            case "seconds" -> ChronoUnit.SECONDS;
            default -> ChronoUnit.MINUTES;
        };
        return ((OffsetDateTime) value).truncatedTo(unit);
    }
}
