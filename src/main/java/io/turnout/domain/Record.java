package io.turnout.domain;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A record in API shape: field name to a value of the field's {@link FieldType}. Both stores map to
 * and from this shape, so live traffic, the outbox relay and comparisons share one mapping.
 */
public final class Record {
    private final Map<String, Object> values;

    public Record(Map<String, Object> values) {
        this(new LinkedHashMap<>(values));
    }

    private Record(LinkedHashMap<String, Object> own) {
        this.values = Collections.unmodifiableMap(own);
    }

    /** A record of a map the caller has just built and hands over: it is not copied, and must not be changed after. */
    public static Record owning(LinkedHashMap<String, Object> values) {
        return new Record(values);
    }

    public Object get(String field) {
        return values.get(field);
    }

    public boolean has(String field) {
        return values.containsKey(field);
    }

    public Map<String, Object> values() {
        return values;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Record r && r.values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
