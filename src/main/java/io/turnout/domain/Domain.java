package io.turnout.domain;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.turnout.store.Filter;
import io.turnout.store.Origin;
import io.turnout.store.Store;
import io.turnout.store.TableStore;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.List;
import java.util.Optional;

/**
 * A family of records with a legacy and a new origin, moved between them by one stage flag. Both
 * are usually table stores; the new one may instead be a read-only search origin, and then every
 * write stays on the legacy store.
 */
public record Domain(String name, String flag, Field key, List<Field> fields, Origin legacy, Origin target,
        double shadowSampleRate, Normalization normalization, List<PreflightCheck> preflight, Declared declared) {

    /** A record as the data API shows it: every field of the domain, in order. */
    public com.fasterxml.jackson.databind.node.ObjectNode toJson(Record r) {
        var node = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        for (Field f : fields) {
            node.set(f.name(), f.type().toJson(r.get(f.name())));
        }
        return node;
    }

    /** Characters outside the Basic Multilingual Plane are written as UTF-8, as the tree's text has them, not as escaped surrogates. */
    private static final JsonFactory JSON = JsonFactory.builder().enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();

    /**
     * {@link #toJson(Record)} as UTF-8 bytes, written field by field straight into the buffer a
     * response sends, without a tree or an intermediate string.
     */
    public Buffer json(Record r) {
        return bytes(64 + 48 * fields.size(), g -> write(g, r));
    }

    /** JSON that {@code body} writes to a UTF-8 generator, as the bytes a response sends; {@code capacity} is a first guess at their size. */
    public static Buffer bytes(int capacity, JsonBody body) {
        ByteBuf out = Unpooled.buffer(capacity);
        try (JsonGenerator g = generator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Buffer.buffer(out);
    }

    /** Writes one JSON value to a generator. */
    @FunctionalInterface
    public interface JsonBody {
        void write(JsonGenerator g) throws IOException;
    }

    /** A UTF-8 generator that writes into the given bytes. */
    public static JsonGenerator generator(ByteBuf out) throws IOException {
        return JSON.createGenerator((OutputStream) new ByteBufOutputStream(out), JsonEncoding.UTF8);
    }

    /** Writes a record as {@link #toJson(Record)} shows it to a generator, as one object. */
    public void write(JsonGenerator g, Record r) throws IOException {
        g.writeStartObject();
        for (Field f : fields) {
            g.writeFieldName(f.jsonName());
            f.type().write(g, r.get(f.name()));
        }
        g.writeEndObject();
    }

    /** The origin that serves reads on this side. */
    public Origin origin(Side side) {
        return side == Side.LEGACY ? legacy : target;
    }

    /** The table store on this side; fails for a read-only search origin (see {@link #writable}). */
    public Store store(Side side) {
        if (origin(side) instanceof Store s) return s;
        throw new IllegalStateException("The " + side.label() + " side of domain " + name + " is read-only");
    }

    /** Whether writes can go to this side. */
    public boolean writable(Side side) {
        return origin(side) instanceof Store;
    }

    /** Whether both sides are table stores, so Turnout can copy and compare them. */
    public boolean copyable() {
        return writable(Side.LEGACY) && writable(Side.NEW);
    }

    /** Why a filter operator cannot be served at every stage, or null when both origins can express it. */
    public String unsupported(Filter.Op op) {
        String why = legacy.unsupported(op);
        return why != null ? why : target.unsupported(op);
    }

    public Optional<Field> field(String name) {
        return fields.stream().filter(f -> f.name().equals(name)).findFirst();
    }

    /** Whether a dual write commits both stores in one transaction. */
    public boolean sameDatabase() {
        return copyable() && store(Side.LEGACY).database().name().equals(store(Side.NEW).database().name());
    }

    /** Whether a store holds the field (a column or a value derived from its columns); a search origin holds every field. */
    public boolean holds(Side side, String field) {
        return !(origin(side) instanceof TableStore t) || t.holds(field);
    }

    /** Whether the field is a column of that store, so a write to the store sets it. */
    public boolean stores(Side side, String field) {
        return origin(side) instanceof TableStore t ? t.stores(field) : origin(side) instanceof io.turnout.store.MappedStore;
    }

    /** The fields a copy from {@code source} may write: those the source holds. */
    public Set<String> copiedFrom(Side source) {
        if (origin(source) instanceof TableStore t) return t.heldFields();
        Set<String> out = new LinkedHashSet<>();
        fields.forEach(f -> out.add(f.name()));
        return out;
    }

    /** Whether a client value can travel from {@code source} to {@code target}: a field the target stores and the source does not hold. */
    public boolean carries(Side source, Side target) {
        return fields.stream().anyMatch(f -> stores(target, f.name()) && !holds(source, f.name()));
    }

    /** Fields one of the stores does not hold: never compared, never copied. */
    public Set<String> heldByOneOnly() {
        Set<String> out = new LinkedHashSet<>();
        fields.stream().filter(f -> !holds(Side.LEGACY, f.name()) || !holds(Side.NEW, f.name())).forEach(f -> out.add(f.name()));
        return out;
    }

    /** Whether Turnout makes up the key of a new record the client sent without one: a random UUID. */
    public boolean generatesKey() {
        return key.type() == FieldType.UUID;
    }

    /** This domain with the given fields required on create, besides those declared so. */
    public Domain requiring(Set<String> names) {
        if (names.stream().allMatch(n -> field(n).map(Field::required).orElse(true))) return this;
        List<Field> updated = fields.stream()
                .map(f -> names.contains(f.name()) && !f.required() ? new Field(f.name(), f.type(), true, f.maxLength()) : f)
                .toList();
        Field k = updated.stream().filter(f -> f.name().equals(key.name())).findFirst().orElseThrow();
        return new Domain(name, flag, k, updated, legacy, target, shadowSampleRate, normalization, preflight, declared);
    }

    /**
     * List filters beyond the fields that both stores declare (e.g. {@code service} for users: an
     * active integration with that service), each taking one string value.
     */
    public Set<String> namedFilters() {
        if (legacy instanceof io.turnout.store.MappedStore l && target instanceof io.turnout.store.MappedStore t) {
            Set<String> out = new java.util.TreeSet<>(l.filterNames());
            out.retainAll(t.filterNames());
            return out;
        }
        return Set.of();
    }

    /** The key as text, for the outbox and the backfill's records; {@link io.turnout.store.KeyLock} names a key's lock the same way. */
    public String keyText(Object key) {
        return String.valueOf(key);
    }
}
