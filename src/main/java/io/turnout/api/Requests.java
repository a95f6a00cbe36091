package io.turnout.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.turnout.domain.Domain;
import io.turnout.domain.Field;
import io.turnout.domain.FieldType;
import io.turnout.domain.Record;
import io.turnout.store.Filter;
import io.turnout.store.Query;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Reads and checks what a client sent: record bodies, keys and list queries, against a domain's fields. */
final class Requests {

    /** What a body is for, which decides the fields it must carry. */
    enum Mode { CREATE, REPLACE, PATCH }

    static final String LIMIT = "limit";
    static final String AFTER = "after";

    private final ObjectMapper json;
    private final int maxBodyBytes;
    private final int defaultLimit;
    private final int maxLimit;

    Requests(ObjectMapper json, int maxBodyBytes, int defaultLimit, int maxLimit) {
        this.json = json;
        this.maxBodyBytes = maxBodyBytes;
        this.defaultLimit = defaultLimit;
        this.maxLimit = maxLimit;
    }

    Object key(Domain domain, String text) {
        return value(domain.key(), text);
    }

    Record body(Domain domain, byte[] body, Mode mode, Object pathKey) {
        if (body == null || body.length == 0) {
            throw ApiException.badRequest("missing-body", "Missing body", "The request needs a JSON object body");
        }
        if (body.length > maxBodyBytes) {
            throw new ApiException(413, "body-too-large", "Body too large",
                    "The body has " + body.length + " bytes; at most " + maxBodyBytes + " are accepted", null, null, null, null);
        }
        JsonNode tree;
        try {
            tree = json.readTree(body);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw ApiException.badRequest("malformed-json", "Malformed JSON", "The body is not valid JSON" + where);
        } catch (java.io.IOException e) {
            throw ApiException.badRequest("malformed-json", "Malformed JSON", "The body could not be read as JSON");
        }
        if (tree == null || !tree.isObject()) {
            throw ApiException.badRequest("malformed-json", "Malformed JSON", "The body must be a JSON object");
        }
        Map<String, Object> values = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = tree.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            Field f = domain.field(e.getKey()).orElseThrow(() -> ApiException.badField(e.getKey(),
                    "Domain " + domain.name() + " has no field '" + e.getKey() + "'"));
            Object v;
            try {
                v = f.type().fromJson(e.getValue());
            } catch (IllegalArgumentException ex) {
                throw ApiException.badField(f.name(), "Field '" + f.name() + "' " + ex.getMessage());
            }
            String violation = f.violation(v);
            if (violation != null) throw ApiException.badField(f.name(), "Field '" + f.name() + "' " + violation);
            values.put(f.name(), v);
        }
        String keyName = domain.key().name();
        if (pathKey != null && values.containsKey(keyName) && !Objects.equals(values.get(keyName), pathKey)) {
            throw ApiException.badField(keyName, "Field '" + keyName + "' in the body differs from the key in the path");
        }
        if (mode == Mode.CREATE && domain.generatesKey() && values.get(keyName) == null) {
            // the same key goes to both stores, so it is made here rather than by either of them
            values.put(keyName, java.util.UUID.randomUUID());
        }
        if (mode != Mode.PATCH) {
            for (Field f : domain.fields()) {
                if (f.required() && !values.containsKey(f.name()) && !(pathKey != null && f == domain.key())) {
                    throw ApiException.badField(f.name(), "Field '" + f.name() + "' is required");
                }
            }
        }
        if (pathKey != null) values.put(keyName, pathKey);
        return new Record(values);
    }

    Query query(Domain domain, Map<String, List<String>> params) {
        List<Filter> filters = new ArrayList<>();
        int limit = defaultLimit;
        Object after = null;
        for (Map.Entry<String, List<String>> p : params.entrySet()) {
            String name = p.getKey();
            List<String> raw = p.getValue();
            if (name.equals(LIMIT)) {
                limit = limit(single(name, raw));
                continue;
            }
            if (name.equals(AFTER)) {
                after = value(domain.key(), single(name, raw));
                continue;
            }
            int dot = name.indexOf('.');
            String fieldName = dot < 0 ? name : name.substring(0, dot);
            Filter.Op op = dot < 0 ? Filter.Op.EQ : Filter.Op.ofSuffix(name.substring(dot + 1));
            Field f = domain.field(fieldName).orElseThrow(() -> ApiException.badField(fieldName,
                    "Domain " + domain.name() + " has no field '" + fieldName + "' to filter on"));
            if (op == null || op == Filter.Op.EQ && dot >= 0) {
                throw ApiException.badField(name, "Unknown filter operator in '" + name
                        + "'; use field, field.gt, field.gte, field.lt, field.lte, field.in or field.prefix");
            }
            if (op == Filter.Op.PREFIX && f.type() != FieldType.STRING) {
                throw ApiException.badField(name, "'" + name + "': prefix applies to string fields only");
            }
            // refused at every stage, so moving the flag never changes which queries work
            String why = domain.unsupported(op);
            if (why != null) throw ApiException.badField(name, "Filter '" + name + "' cannot be served: " + why);
            List<Object> values = new ArrayList<>();
            if (op == Filter.Op.IN) {
                for (String r : raw) {
                    for (String part : r.split(",", -1)) values.add(value(f, part));
                }
                if (values.size() > maxLimit) {
                    throw ApiException.badField(name, "'" + name + "' lists more than " + maxLimit + " values");
                }
            } else {
                values.add(value(f, single(name, raw)));
            }
            filters.add(new Filter(f, op, values));
        }
        return new Query(filters, limit, after);
    }

    private int limit(String text) {
        try {
            int n = Integer.parseInt(text.trim());
            if (n >= 1 && n <= maxLimit) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw ApiException.badField(LIMIT, "'limit' must be a whole number from 1 to " + maxLimit);
    }

    private static String single(String name, List<String> raw) {
        if (raw.size() != 1) throw ApiException.badField(name, "'" + name + "' must be given once");
        return raw.get(0);
    }

    private static Object value(Field f, String text) {
        try {
            Object v = f.type().fromText(text);
            String violation = f.maxLength() != null ? new Field(f.name(), f.type(), false, f.maxLength()).violation(v) : null;
            if (violation != null) throw new IllegalArgumentException(violation);
            return v;
        } catch (IllegalArgumentException e) {
            throw ApiException.badField(f.name(), "Field '" + f.name() + "' " + e.getMessage());
        }
    }
}
