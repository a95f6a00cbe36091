package io.turnout.search;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.domain.Field;
import io.turnout.domain.FieldType;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.store.Filter;
import io.turnout.store.Origin;
import io.turnout.store.Query;
import io.vertx.core.Future;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A domain's read-only search origin: one index of a search service, each API field mapped to a
 * document attribute. Turns data API filters into the service's filter language and refuses those
 * it cannot express, so a list never answers something other than what was asked.
 */
public final class SearchStore implements Origin {
    private static final Map<Filter.Op, String> OPS = Map.of(
            Filter.Op.EQ, "eq", Filter.Op.IN, "in", Filter.Op.GTE, "gte", Filter.Op.LTE, "lte", Filter.Op.PREFIX, "prefix");

    private final Side side;
    private final SearchClient client;
    private final String index;
    private final List<Field> fields;
    private final Field key;
    private final Map<String, String> attributes;
    private final boolean fallback;

    public SearchStore(Side side, SearchClient client, String index, List<Field> fields, Field key,
            Map<String, String> attributes, boolean fallback) {
        this.side = side;
        this.client = client;
        this.index = index;
        this.fields = fields;
        this.key = key;
        this.attributes = Map.copyOf(attributes);
        this.fallback = fallback;
    }

    @Override
    public Side side() {
        return side;
    }

    /** The search service this store reads from. */
    public SearchClient client() {
        return client;
    }

    @Override
    public String describe() {
        return "search origin '" + client.name() + "'";
    }

    @Override
    public boolean fallsBack() {
        return fallback;
    }

    @Override
    public String unsupported(Filter.Op op) {
        if (OPS.containsKey(op)) return null;
        return "the " + describe() + " cannot express '" + op.suffix + "'; it knows eq, in, gte, lte and prefix";
    }

    @Override
    public Future<Record> get(Object id) {
        return client.get(index, text(id), doc -> {
            Record r = record(doc);
            if (!text(r.get(key.name())).equals(text(id))) throw client.malformed("the document of another key for '" + id + "'");
            return r;
        });
    }

    /** The records with these keys, in the order asked. */
    @Override
    public Future<List<Record>> getAll(List<Object> keys) {
        List<String> ids = keys.stream().map(SearchStore::text).toList();
        return client.batch(index, attribute(key), ids, this::record).map(SearchClient.Batch::found);
    }

    @Override
    public Future<List<Record>> list(Query query) {
        Optional<List<Object>> keys = query.keyLookup(key);
        if (keys.isPresent()) {
            // a lookup by keys: batch calls, then the data API's key order and paging
            return getAll(keys.get()).map(found -> found.stream()
                    .filter(r -> query.after() == null || FieldType.compare(r.get(key.name()), query.after()) > 0)
                    .sorted(Comparator.comparing(r -> r.get(key.name()), FieldType::compare))
                    .limit(query.limit())
                    .toList());
        }
        return client.search(index, filters(query), query.limit(), query.after() == null ? null : text(query.after()), this::record);
    }

    /** The filters of a query in the search service's language. */
    ArrayNode filters(Query query) {
        ArrayNode out = JsonNodeFactory.instance.arrayNode();
        for (Filter f : query.filters()) {
            String op = OPS.get(f.op());
            if (op == null) throw new IllegalArgumentException(unsupported(f.op()));
            ObjectNode node = out.addObject().put("field", attribute(f.field())).put("op", op);
            if (f.op() == Filter.Op.IN) {
                ArrayNode values = node.putArray("value");
                f.values().forEach(v -> values.add(f.field().type().toJson(v)));
            } else {
                node.set("value", f.field().type().toJson(f.value()));
            }
        }
        return out;
    }

    /** A document in API shape; an attribute the document leaves out is null. */
    private Record record(JsonNode doc) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (Field f : fields) {
            JsonNode node = doc.get(attribute(f));
            try {
                values.put(f.name(), f.type().fromJson(node));
            } catch (IllegalArgumentException e) {
                throw client.malformed("a document whose '" + attribute(f) + "' " + e.getMessage());
            }
        }
        if (values.get(key.name()) == null) throw client.malformed("a document without '" + attribute(key) + "'");
        return new Record(values);
    }

    private String attribute(Field f) {
        return attributes.getOrDefault(f.name(), f.name());
    }

    private static String text(Object key) {
        return String.valueOf(key);
    }

}
