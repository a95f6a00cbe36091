package io.turnout.domain;

import java.util.Set;

/**
 * How a domain's records are made comparable before the two stores are compared: fields left out
 * (e.g. a column only one store has), and the precision timestamps are cut to (e.g. when one store
 * keeps milliseconds and the other microseconds).
 */
public record Normalization(Set<String> ignoredFields, String timestampPrecision) {
    public static final Set<String> PRECISIONS = Set.of("milliseconds", "seconds", "minutes");

    public boolean ignores(String field) {
        return ignoredFields.contains(field);
    }
}
