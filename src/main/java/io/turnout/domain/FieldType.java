package io.turnout.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vertx.sqlclient.Row;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
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
    UUID("uuid", java.util.UUID.class),
    /** Any JSON value, e.g. the integrations a user has linked; only a SQL-mapped store holds one (see io.turnout.store.MappedStore). */
    JSON("jsonb", JsonNode.class);

    private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper();

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

    /**
     * Whether a key may be of this type: one whose text Turnout and PostgreSQL write alike, as the
     * key's lock is named by both (io.turnout.store.KeyLock) and the outbox and the backfill keep
     * keys as text. A timestamp or a JSON value is written differently by each.
     */
    public boolean keyable() {
        return this == INTEGER || this == UUID || this == STRING;
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
            case JSON:
                return node.deepCopy();
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
                case JSON:
                    return parseJson(text);
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
            case JSON:
                // selected as text (see readCast): PostgreSQL's jsonb text is canonical
                String text = row.getString(index);
                return text == null ? null : parseJson(text);
            default:
                return row.getUUID(index);
        }
    }

    /** Writes a value as {@link #toJson} shows it, straight to a generator. */
    public void write(com.fasterxml.jackson.core.JsonGenerator g, Object value) throws java.io.IOException {
        if (value == null) {
            g.writeNull();
            return;
        }
        switch (this) {
            case INTEGER:
                g.writeNumber((Long) value);
                return;
            case BOOLEAN:
                g.writeBoolean((Boolean) value);
                return;
            case TIMESTAMP:
                g.writeString(Timestamps.iso((OffsetDateTime) value));
                return;
            case JSON:
                g.writeRawValue(value.toString());
                return;
            default:
                g.writeString(value.toString());
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
                return f.textNode(Timestamps.iso((OffsetDateTime) value));
            case JSON:
                return (JsonNode) value;
            default:
                return f.textNode(value.toString());
        }
    }

    /** The type a value is selected as: JSON travels as text, every other type as itself. */
    public String readCast() {
        return this == JSON ? "text" : sqlType;
    }

    /** A parameter placeholder cast to this type; JSON travels as text, so the client never re-encodes it. */
    public String param(int n) {
        return this == JSON ? "$" + n + "::text::jsonb" : "$" + n + "::" + sqlType;
    }

    /** A value as it is bound to {@link #param}. */
    public Object bind(Object value) {
        return this == JSON && value != null ? value.toString() : value;
    }

    /** The Java class {@link #bind} gives, for array parameters. */
    public Class<?> bindType() {
        return this == JSON ? String.class : javaType;
    }

    private static JsonNode parseJson(String text) {
        try {
            JsonNode node = MAPPER.readTree(text);
            if (node == null) throw new IllegalArgumentException("must be JSON");
            return node.isNull() ? null : node;
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("must be JSON");
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
