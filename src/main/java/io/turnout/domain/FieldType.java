package io.turnout.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vertx.sqlclient.Row;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.UUID;

/**
 * The value types an API field can have. Each knows how to read itself from JSON and query text,
 * which PostgreSQL type carries it, and how to write itself back as JSON, so both stores of a
 * domain exchange the same Java values whatever their column types.
 */
public enum FieldType {
    STRING("text", String.class),
    INTEGER("int8", Long.class),
    BOOLEAN("bool", Boolean.class),
    TIMESTAMP("timestamptz", OffsetDateTime.class),
    UUID("uuid", java.util.UUID.class);

    private final String sqlType;
    private final Class<?> javaType;

    FieldType(String sqlType, Class<?> javaType) {
        this.sqlType = sqlType;
        this.javaType = javaType;
    }

    /** The Java class values of this type have. */
    public Class<?> javaType() {
        return javaType;
    }

    /** The PostgreSQL type parameters and read expressions are cast to. */
    public String sqlType() {
        return sqlType;
    }

    public static FieldType of(String name) {
        return valueOf(name.trim().toUpperCase(Locale.ROOT));
    }

    /** Converts a JSON value; throws {@link IllegalArgumentException} with a reason when it does not fit. */
    public Object fromJson(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        switch (this) {
            case STRING:
                if (!node.isTextual()) throw new IllegalArgumentException("must be a string");
                return node.textValue();
            case INTEGER:
                if (!node.isIntegralNumber() || !node.canConvertToLong()) {
                    throw new IllegalArgumentException("must be an integer");
                }
                return node.longValue();
            case BOOLEAN:
                if (!node.isBoolean()) throw new IllegalArgumentException("must be true or false");
                return node.booleanValue();
            default:
                if (!node.isTextual()) throw new IllegalArgumentException("must be a string");
                return fromText(node.textValue());
        }
    }

    /** Converts text from a URL or the outbox; throws {@link IllegalArgumentException} when it does not fit. */
    public Object fromText(String text) {
        try {
            switch (this) {
                case STRING:
                    return text;
                case INTEGER:
                    return Long.parseLong(text.trim());
                case BOOLEAN:
                    if ("true".equalsIgnoreCase(text)) return Boolean.TRUE;
                    if ("false".equalsIgnoreCase(text)) return Boolean.FALSE;
                    throw new IllegalArgumentException("must be true or false");
                case TIMESTAMP:
                    return OffsetDateTime.parse(text.trim()).withOffsetSameInstant(ZoneOffset.UTC);
                default:
                    return java.util.UUID.fromString(text.trim());
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be an integer");
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("must be an ISO-8601 timestamp with offset, e.g. 2025-01-31T12:00:00Z");
        } catch (IllegalArgumentException e) {
            if (this == UUID) throw new IllegalArgumentException("must be a UUID");
            throw e;
        }
    }

    /** Reads the column at {@code index}, which the store selected cast to {@link #sqlType()}. */
    public Object read(Row row, int index) {
        switch (this) {
            case STRING:
                return row.getString(index);
            case INTEGER:
                return row.getLong(index);
            case BOOLEAN:
                return row.getBoolean(index);
            case TIMESTAMP:
                OffsetDateTime t = row.getOffsetDateTime(index);
                return t == null ? null : t.withOffsetSameInstant(ZoneOffset.UTC);
            default:
                return row.getUUID(index);
        }
    }

    public JsonNode toJson(Object value) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (value == null) return f.nullNode();
        switch (this) {
            case INTEGER:
                return f.numberNode((Long) value);
            case BOOLEAN:
                return f.booleanNode((Boolean) value);
            case TIMESTAMP:
                return f.textNode(DateTimeFormatter.ISO_INSTANT.format(((OffsetDateTime) value).toInstant()));
            default:
                return f.textNode(value.toString());
        }
    }

    /** Orders two values of one type as PostgreSQL does: UUIDs as unsigned bytes, which their canonical text also gives. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static int compare(Object a, Object b) {
        if (a instanceof java.util.UUID || b instanceof java.util.UUID) return a.toString().compareTo(b.toString());
        return ((Comparable) a).compareTo(b);
    }

    public String lower() {
        return name().toLowerCase(Locale.ROOT);
    }
}
