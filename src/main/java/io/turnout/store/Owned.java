package io.turnout.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.domain.Domain;
import io.turnout.domain.Field;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * What a client wrote to fields that only the store being mirrored into holds: the authoritative
 * store cannot hold them, so a state-based copy from it cannot bring them over. Each field is set to
 * a value or, for a replace that left it out, back to its column default.
 */
public record Owned(Map<String, Object> values, Set<String> defaults) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final Owned NONE = new Owned(Map.of(), Set.of());

    public boolean isEmpty() {
        return values.isEmpty() && defaults.isEmpty();
    }

    /** This write followed by a later one to the same key: the later one wins per field. */
    public Owned then(Owned later) {
        Map<String, Object> v = new LinkedHashMap<>(values);
        Set<String> d = new LinkedHashSet<>(defaults);
        later.values.forEach((f, x) -> {
            v.put(f, x);
            d.remove(f);
        });
        later.defaults.forEach(f -> {
            v.remove(f);
            d.add(f);
        });
        return new Owned(v, d);
    }

    /** As stored in an outbox entry, or null when there is nothing to carry. */
    public String toJson(Domain domain) {
        if (isEmpty()) return null;
        ObjectNode node = JSON.createObjectNode();
        ObjectNode set = node.putObject("values");
        values.forEach((f, x) -> set.set(f, domain.field(f).orElseThrow().type().toJson(x)));
        defaults.forEach(node.putArray("defaults")::add);
        return node.toString();
    }

    /** Reads what {@link #toJson} wrote; fields the domain no longer declares are left out. */
    public static Owned fromJson(Domain domain, String text) {
        if (text == null) return NONE;
        try {
            JsonNode node = JSON.readTree(text);
            Map<String, Object> v = new LinkedHashMap<>();
            node.path("values").fields().forEachRemaining(e -> domain.field(e.getKey())
                    .ifPresent(f -> v.put(f.name(), f.type().fromJson(e.getValue()))));
            Set<String> d = new LinkedHashSet<>();
            node.path("defaults").forEach(f -> domain.field(f.asText()).map(Field::name).ifPresent(d::add));
            return new Owned(v, d);
        } catch (IOException e) {
            throw new IllegalArgumentException("unreadable owned values in the outbox: " + e.getMessage(), e);
        }
    }
}
