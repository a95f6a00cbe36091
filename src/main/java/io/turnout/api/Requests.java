package io.turnout.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
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
        return value(domain.key(), domain.key().name(), text);
    }

    /**
     * Parses a JSON object body strictly: nothing may follow the document, and a document nested
     * deeper than Jackson's limit is reported as such rather than as malformed.
     */
    static JsonNode parse(ObjectMapper json, byte[] body) {
        try {
            JsonNode tree = json.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(body);
            if (tree != null && tree.isObject()) return tree;
            throw ApiException.badRequest("malformed-json", "Malformed JSON", "The body must be a JSON object");
        } catch (StreamConstraintsException e) {
            throw ApiException.badRequest("json-too-deep", "JSON nested too deeply",
                    "The body nests objects or arrays more than " + StreamReadConstraints.DEFAULT_MAX_DEPTH + " levels deep");
        } catch (MismatchedInputException e) {
            throw ApiException.badRequest("malformed-json", "Malformed JSON", "The body must be one JSON object with nothing after it");
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw ApiException.badRequest("malformed-json", "Malformed JSON", "The body is not valid JSON" + where);
        } catch (java.io.IOException e) {
            throw ApiException.badRequest("malformed-json", "Malformed JSON", "The body could not be read as JSON");
        }
    }

    /** A body must be sent as JSON; a missing Content-Type is taken as JSON. */
    static void requireJson(String contentType) {
        if (contentType == null || contentType.isBlank()) return;
        String type = contentType.split(";", 2)[0].trim().toLowerCase(java.util.Locale.ROOT);
        if (type.equals("application/json") || type.endsWith("+json")) return;
        throw new ApiException(415, "unsupported-media-type", "Unsupported media type",
                "The body was sent as " + type + "; send it as application/json", null, null, null, null);
    }

    Record body(Domain domain, String contentType, byte[] body, Mode mode, Object pathKey) {
        if (body == null || body.length == 0) {
            throw ApiException.badRequest("missing-body", "Missing body", "The request needs a JSON object body");
        }
        requireJson(contentType);
        if (body.length > maxBodyBytes) {
            throw new ApiException(413, "body-too-large", "Body too large",
                    "The body has " + body.length + " bytes; at most " + maxBodyBytes + " are accepted", null, null, null, null);
        }
        JsonNode tree = parse(json, body);
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
                after = value(domain.key(), name, single(name, raw));
                continue;
            }
            int dot = name.indexOf('.');
            String fieldName = dot < 0 ? name : name.substring(0, dot);
            Filter.Op op = dot < 0 ? Filter.Op.EQ : Filter.Op.ofSuffix(name.substring(dot + 1));
            if (domain.field(fieldName).isEmpty() && domain.namedFilters().contains(fieldName)) {
                if (dot >= 0) throw ApiException.badField(name, "Filter '" + fieldName + "' takes one value, as '" + fieldName + "=...'");
                Field named = new Field(fieldName, FieldType.STRING, false, 255);
                filters.add(new Filter(named, Filter.Op.EQ, List.of(value(named, name, single(name, raw)))));
                continue;
            }
            Field f = domain.field(fieldName).orElseThrow(() -> ApiException.badField(fieldName,
                    "Domain " + domain.name() + " has no field '" + fieldName + "' to filter on"
                            + (domain.namedFilters().isEmpty() ? "" : " (filters besides its fields: " + domain.namedFilters() + ")")));
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
                    for (String part : r.split(",", -1)) values.add(value(f, name, part));
                }
                if (values.size() > maxLimit) {
                    throw ApiException.badField(name, "'" + name + "' lists more than " + maxLimit + " values");
                }
            } else {
                values.add(value(f, name, single(name, raw)));
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

    /** Converts query text for a field; a problem names {@code parameter}, the query parameter as the client wrote it. */
    private static Object value(Field f, String parameter, String text) {
        try {
            Object v = f.type().fromText(text);
            String violation = new Field(f.name(), f.type(), false, f.maxLength()).violation(v);
            if (violation != null) throw new IllegalArgumentException(violation);
            return v;
        } catch (IllegalArgumentException e) {
            String what = parameter.equals(f.name()) ? "Field '" + f.name() + "'" : "'" + parameter + "' (" + (text.isEmpty() ? "empty" : "a value of field '" + f.name() + "'") + ")";
            throw ApiException.badField(parameter, what + " " + e.getMessage());
        }
    }
}
