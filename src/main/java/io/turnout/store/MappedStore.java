package io.turnout.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.db.Database;
import io.turnout.domain.Field;
import io.turnout.domain.FieldType;
import io.turnout.domain.Normalization;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.function.Function;

/**
 * A store whose records span several tables (seed 002: {@code users} + {@code user_integrations}),
 * mapped by hand-written SQL from configuration:
 * <ul>
 * <li>{@code select}: one query giving each API field as a column named after it, one row per record;
 * Turnout reads it as {@code SELECT ... FROM (select) AS r WHERE ...}, so every read (by key, by
 * range, a list, a checksum) goes through the one mapping;</li>
 * <li>{@code upsert}: statements that make the store hold the records of the relation {@code batch}
 * (one column per field, one row per record), run in order in one transaction: one record for a
 * client write, a whole chunk for a copy;</li>
 * <li>{@code delete}: statements that delete the records whose keys are in {@code batch}.</li>
 * </ul>
 * The first of its {@code tables} holds one row per record, keyed by the record's key: key ranges
 * and counts are read there. A client write locks the record's key, reads the record, applies the
 * write (a JSON field of a patch is merged, RFC 7396) and writes the whole record back, all in one
 * transaction, so no reader ever sees half of it.
 */
public final class MappedStore extends KeyedRelation {

    private final List<String> tables;
    private final String root;
    private final String keyColumn;
    private final List<Field> fields;
    private final Field key;
    private final String from;
    private final String selectList;
    private final List<String> upserts;
    private final List<String> deletes;
    private final String newKey;
    private final Map<String, String> filters;

    /**
     * @param tables the tables the mapping spans, the first holding one row per record
     * @param keyColumn the key's column in the first table
     * @param select the query giving every field as a column of its name
     * @param upserts statements over relation {@code batch} that write records
     * @param deletes statements over relation {@code batch} (the key only) that delete records
     * @param newKey SQL expression giving the key of a record created without one, or null
     * @param filters list filters beyond the fields: name to a condition on {@code r} with {@code :value}
     */
    public MappedStore(Side side, Database database, List<String> tables, String keyColumn, List<Field> fields, Field key,
            String select, List<String> upserts, List<String> deletes, String newKey, Map<String, String> filters) {
        super(side, database, fields);
        this.tables = List.copyOf(tables);
        this.root = TableStore.quoteQualified(tables.get(0));
        this.keyColumn = TableStore.quote(keyColumn);
        this.fields = List.copyOf(fields);
        this.key = key;
        this.from = " FROM (" + select.strip() + ") AS r";
        StringJoiner cols = new StringJoiner(", ");
        for (Field f : fields) {
            cols.add(read(f) + " AS " + TableStore.quote(f.name()));
        }
        this.selectList = cols.toString();
        this.upserts = List.copyOf(upserts);
        this.deletes = List.copyOf(deletes);
        this.newKey = newKey;
        this.filters = Map.copyOf(filters);
    }

    private static String read(Field f) {
        return "r." + TableStore.quote(f.name()) + "::" + f.type().readCast();
    }

    private String keyRef() {
        return "r." + TableStore.quote(key.name());
    }

    @Override
    Field keyField() {
        return key;
    }

    @Override
    String rootTable() {
        return root;
    }

    @Override
    String rootKey() {
        return keyColumn;
    }

    @Override
    String records() {
        return from.strip();
    }

    @Override
    String recordKey() {
        return keyRef();
    }

    @Override
    String hashSql(Normalization n) {
        return Checksums.rowHash(fields, f -> "r." + TableStore.quote(f.name()) + "::" + f.type().sqlType(), n);
    }

    /** The tables the mapping spans, for per-table counts. */
    public List<String> tables() {
        return tables;
    }

    /** Names of the list filters this store serves besides the fields. */
    public Set<String> filterNames() {
        return filters.keySet();
    }

    /** SQL reading zero records through the mapping, for the check at start-up. */
    public String probeSql() {
        return "SELECT " + selectList + from + " LIMIT 0";
    }

    @Override
    public Future<Record> get(SqlClient client, Object keyValue) {
        return client.preparedQuery("SELECT " + selectList + from + " WHERE " + keyRef() + " = " + key.type().param(1))
                .execute(Tuple.of(keyValue)).map(this::first);
    }

    @Override
    public Future<List<Record>> getAll(SqlClient client, List<Object> keys) {
        if (keys.isEmpty()) return Future.succeededFuture(List.of());
        return client.preparedQuery("SELECT " + selectList + from + " WHERE " + keyRef() + " = ANY($1::" + key.type().sqlType() + "[])")
                .execute(Tuple.of(array(key, keys))).map(this::all);
    }

    @Override
    public Future<List<Record>> list(SqlClient client, Query query) {
        List<Object> params = new ArrayList<>();
        StringJoiner where = new StringJoiner(" AND ", " WHERE ", "").setEmptyValue("");
        for (Filter f : query.filters()) {
            String named = filters.get(f.field().name());
            if (named != null) {
                params.add(f.value());
                where.add("(" + named.replace(":value", "$" + params.size() + "::text") + ")");
                continue;
            }
            String target = "r." + TableStore.quote(f.field().name());
            FieldType type = f.field().type();
            if (f.op() == Filter.Op.IN) {
                params.add(array(f.field(), f.values()));
                where.add(target + " = ANY($" + params.size() + "::" + type.sqlType() + "[])");
            } else if (f.op() == Filter.Op.PREFIX) {
                params.add(f.value());
                where.add("starts_with(" + target + "::text, $" + params.size() + "::text)");
            } else {
                params.add(type.bind(f.value()));
                where.add(target + " " + f.op().sql + " " + type.param(params.size()));
            }
        }
        if (query.after() != null) {
            params.add(query.after());
            where.add(keyRef() + " > " + key.type().param(params.size()));
        }
        params.add(query.limit());
        String sql = "SELECT " + selectList + from + where + " ORDER BY " + keyRef() + " LIMIT $" + params.size();
        return client.preparedQuery(sql).execute(Tuple.from(params)).map(this::all);
    }

    @Override
    public String unsupported(Filter.Op op) {
        return null;
    }

    @Override
    public Future<Written> insert(SqlClient client, Guard guard, Record values, Companion companion) {
        return inTransaction(client, tx -> newKey(tx, values).compose(keyValue -> lock(tx, guard, keyValue)
                .compose(v -> get(tx, keyValue))
                .compose(existing -> {
                    if (existing != null) {
                        return Future.failedFuture(new PgException("a record with this key exists", "ERROR", "23505", null));
                    }
                    Map<String, Object> full = new LinkedHashMap<>();
                    for (Field f : fields) full.put(f.name(), values.get(f.name()));
                    full.put(key.name(), keyValue);
                    return store(tx, keyValue, new Record(full), companion);
                })));
    }

    @Override
    public Future<Written> update(SqlClient client, Guard guard, Object keyValue, Record values, boolean replace, Companion companion) {
        return inTransaction(client, tx -> lock(tx, guard, keyValue)
                .compose(v -> get(tx, keyValue))
                .compose(current -> {
                    if (current == null) return Future.succeededFuture(new Written(null, false, null));
                    Map<String, Object> next = new LinkedHashMap<>();
                    for (Field f : fields) {
                        Object now = current.get(f.name());
                        if (f == key) next.put(f.name(), keyValue);
                        else if (!values.has(f.name())) next.put(f.name(), replace ? null : now);
                        else if (!replace && f.type() == FieldType.JSON) next.put(f.name(), mergePatch((JsonNode) now, (JsonNode) values.get(f.name())));
                        else next.put(f.name(), values.get(f.name()));
                    }
                    return store(tx, keyValue, new Record(next), companion);
                }));
    }

    @Override
    public Future<Written> delete(SqlClient client, Guard guard, Object keyValue, Companion companion) {
        return inTransaction(client, tx -> lock(tx, guard, keyValue)
                .compose(v -> tx.preparedQuery("SELECT 1 FROM " + root + " WHERE " + keyColumn + " = " + key.type().param(1))
                        .execute(Tuple.of(keyValue)))
                .compose(found -> {
                    if (found.size() == 0) return Future.succeededFuture(new Written(null, false, null));
                    return deleteAll(tx, List.of(keyValue))
                            .compose(v -> note(tx, keyValue, companion))
                            .map(id -> new Written(null, true, id));
                }));
    }

    /**
     * Writes the whole record, reads it back through the mapping, and records the companion. A value
     * the mapping did not keep (e.g. a service the legacy columns have no place for) fails the write
     * with a 400 naming the field, and the transaction rolls back.
     */
    private Future<Written> store(SqlClient tx, Object keyValue, Record record, Companion companion) {
        return putAll(tx, List.of(record), null)
                .compose(v -> get(tx, keyValue))
                .compose(state -> {
                    for (Field f : fields) {
                        Object wrote = record.get(f.name());
                        if (wrote != null && (state == null || !contains(state.get(f.name()), wrote))) {
                            return Future.failedFuture(new PgException("value not kept by the mapping", "ERROR", "22023", null, null,
                                    null, null, null, null, null, null, null, null, null, f.name(), null, null));
                        }
                    }
                    return note(tx, keyValue, companion).map(id -> new Written(state, true, id));
                });
    }

    /**
     * Whether what the store holds keeps what was written: equal, or for JSON objects every member
     * written kept (the store may add members, e.g. a link time it sets); timestamps in JSON text
     * compare as instants.
     */
    static boolean contains(Object held, Object wrote) {
        if (java.util.Objects.equals(held, wrote)) return true;
        if (held instanceof JsonNode h && wrote instanceof JsonNode w) {
            if (w.isObject() && h.isObject()) {
                var it = w.fields();
                while (it.hasNext()) {
                    var e = it.next();
                    if (e.getValue().isNull()) {
                        if (h.hasNonNull(e.getKey())) return false;
                    } else if (!h.has(e.getKey()) || !contains(h.get(e.getKey()), e.getValue())) {
                        return false;
                    }
                }
                return true;
            }
            if (h.isTextual() && w.isTextual()) {
                try {
                    return java.time.OffsetDateTime.parse(h.textValue()).toInstant().equals(java.time.OffsetDateTime.parse(w.textValue()).toInstant());
                } catch (java.time.DateTimeException e) {
                    return false;
                }
            }
            if (h.isNumber() && w.isNumber()) return h.decimalValue().compareTo(w.decimalValue()) == 0;
        }
        return false;
    }

    @Override
    public java.util.Optional<String> fieldOfColumn(String column) {
        return fields.stream().map(Field::name).filter(n -> n.equals(column)).findFirst();
    }

    /** The record's key: the one given, or a new one from {@code new-key}; without either, the write is refused. */
    private Future<Object> newKey(SqlClient tx, Record values) {
        Object given = values.get(key.name());
        if (given != null) return Future.succeededFuture(given);
        if (newKey == null) {
            return Future.failedFuture(new PgException("the key is required", "ERROR", "23502", null));
        }
        return tx.query("SELECT (" + newKey + ")::" + key.type().sqlType()).execute()
                .map(rows -> key.type().read(rows.iterator().next(), 0));
    }

    /**
     * Enters the guard and takes the key's lock in one statement, first in the transaction: client
     * writes of one key, and copies of it (which take the same lock, see io.turnout.sync.Mirror),
     * run one after the other.
     */
    private Future<Void> lock(SqlClient tx, Guard guard, Object keyValue) {
        List<Object> params = new ArrayList<>();
        String entered = guard.condition(params);
        params.add(KeyLock.name(guard.domain(), keyValue));
        return tx.preparedQuery("SELECT " + entered + ", " + KeyLock.takeSql("$" + params.size()))
                .execute(Tuple.from(params)).mapEmpty();
    }

    /** Records the outbox entry a write asked for; its id, or null. */
    private Future<Long> note(SqlClient tx, Object keyValue, Companion companion) {
        if (companion == null) return Future.succeededFuture(null);
        if (!(companion instanceof OutboxNote n)) {
            return Future.failedFuture(new IllegalStateException("a SQL-mapped store writes a second store through a transaction, not " + companion));
        }
        return tx.preparedQuery("INSERT INTO turnout_outbox (domain, record_key, source, target, next_attempt_at, owned) "
                        + "VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond', $6::text::jsonb) RETURNING id")
                .execute(Tuple.of(n.domain(), String.valueOf(keyValue), n.source().label(), n.target().label(), n.delay().toMillis(), n.owned()))
                .map(rows -> rows.iterator().next().getLong(0));
    }

    private static <T> Future<T> inTransaction(SqlClient client, Function<SqlClient, Future<T>> work) {
        return client instanceof Pool pool ? pool.withTransaction(work::apply) : work.apply(client);
    }

    /**
     * Runs each upsert statement once for the whole batch. A copy that carries only some fields
     * ({@code fields} not null) keeps the others as the store holds them.
     */
    @Override
    public Future<Void> putAll(SqlClient client, List<Record> records, Set<String> copied) {
        if (records.isEmpty()) return Future.succeededFuture();
        boolean partial = copied != null && fields.stream().anyMatch(f -> !copied.contains(f.name()));
        Future<List<Record>> complete = !partial ? Future.succeededFuture(records)
                : getAll(client, records.stream().map(r -> r.get(key.name())).toList()).map(held -> {
                    Map<Object, Record> byKey = new HashMap<>();
                    held.forEach(r -> byKey.put(r.get(key.name()), r));
                    List<Record> out = new ArrayList<>();
                    for (Record r : records) {
                        Record old = byKey.get(r.get(key.name()));
                        Map<String, Object> v = new LinkedHashMap<>();
                        for (Field f : fields) {
                            v.put(f.name(), copied.contains(f.name()) || f == key || old == null ? r.get(f.name()) : old.get(f.name()));
                        }
                        out.add(new Record(v));
                    }
                    return out;
                });
        return complete.compose(all -> run(client, upserts, fields, all));
    }

    @Override
    public Future<Void> deleteAll(SqlClient client, List<Object> keys) {
        if (keys.isEmpty()) return Future.succeededFuture();
        List<Record> batch = keys.stream().map(k -> new Record(Map.of(key.name(), k))).toList();
        return run(client, deletes, List.of(key), batch);
    }

    /** Runs statements in order, each with the relation {@code batch} bound to the records' columns. */
    private static Future<Void> run(SqlClient client, List<String> statements, List<Field> columns, List<Record> records) {
        Tuple params = Tuple.tuple();
        StringJoiner arrays = new StringJoiner(", ");
        StringJoiner names = new StringJoiner(", ");
        StringJoiner projected = new StringJoiner(", ");
        for (int i = 0; i < columns.size(); i++) {
            Field f = columns.get(i);
            Object array = Array.newInstance(f.type().bindType(), records.size());
            for (int j = 0; j < records.size(); j++) {
                Array.set(array, j, f.type().bind(records.get(j).get(f.name())));
            }
            params.addValue(array);
            String type = f.type() == FieldType.JSON ? "text" : f.type().sqlType();
            arrays.add("$" + (i + 1) + "::" + type + "[]");
            names.add("c" + i);
            projected.add("u.c" + i + (f.type() == FieldType.JSON ? "::jsonb" : "") + " AS " + TableStore.quote(f.name()));
        }
        String batch = "batch AS (SELECT " + projected + " FROM unnest(" + arrays + ") AS u(" + names + "))";
        Future<Void> chain = Future.succeededFuture();
        for (String statement : statements) {
            String sql = withBatch(batch, statement);
            chain = chain.compose(v -> client.preparedQuery(sql).execute(params).mapEmpty());
        }
        return chain;
    }

    /** The statement with {@code batch} defined before it, joined to its own WITH list if it has one. */
    static String withBatch(String batch, String statement) {
        String s = statement.strip();
        if (s.regionMatches(true, 0, "WITH ", 0, 5)) {
            String rest = s.substring(5).stripLeading();
            if (rest.regionMatches(true, 0, "RECURSIVE ", 0, 10)) return "WITH RECURSIVE " + batch + ", " + rest.substring(10);
            return "WITH " + batch + ", " + rest;
        }
        return "WITH " + batch + " " + s;
    }

    @Override
    public String rangeSql(Object after, Object upTo, List<Object> params) {
        StringJoiner cols = new StringJoiner(", ");
        for (Field f : fields) cols.add("r." + TableStore.quote(f.name()) + "::" + f.type().sqlType() + " AS " + TableStore.quote(f.name()));
        return "SELECT " + cols + from + range(keyRef(), after, upTo, params);
    }

    /**
     * Makes this store hold the records {@code source}, a store of the same database, holds in
     * {@code (after, upTo]}, without them leaving PostgreSQL: each upsert statement runs once with
     * {@code batch} bound to the source's records of the range. The caller locks the range first.
     */
    public Future<Void> copyRangeFrom(SqlClient tx, Store source, Object after, Object upTo) {
        List<Object> params = new ArrayList<>();
        // the source's records are mapped once, into a table that lives until the transaction ends
        Future<Void> chain = tx.query("DROP TABLE IF EXISTS pg_temp.turnout_batch").execute()
                .compose(v -> tx.preparedQuery("CREATE TEMP TABLE turnout_batch ON COMMIT DROP AS " + source.rangeSql(after, upTo, params))
                        .execute(Tuple.from(params)))
                .mapEmpty();
        for (String statement : upserts) {
            String sql = withBatch("batch AS (SELECT * FROM pg_temp.turnout_batch)", statement);
            chain = chain.compose(v -> tx.query(sql).execute().mapEmpty());
        }
        return chain;
    }

    /** Rows in each of the mapping's tables, in order. */
    @Override
    public Future<Map<String, Long>> tableCounts(SqlClient client) {
        StringJoiner counts = new StringJoiner(", ");
        for (String t : tables) counts.add("(SELECT count(*) FROM " + TableStore.quoteQualified(t) + ")");
        return client.query("SELECT " + counts).execute().map(rows -> {
            Row r = rows.iterator().next();
            Map<String, Long> out = new LinkedHashMap<>();
            for (int i = 0; i < tables.size(); i++) out.put(tables.get(i), r.getLong(i));
            return out;
        });
    }

    /**
     * RFC 7396: members of the patch replace those of the target, a null member removes one, and
     * objects merge member by member; anything else replaces the target whole.
     */
    public static JsonNode mergePatch(JsonNode target, JsonNode patch) {
        if (patch == null || !patch.isObject()) return patch;
        ObjectNode out = target != null && target.isObject() ? ((ObjectNode) target).deepCopy()
                : com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        patch.fields().forEachRemaining(e -> {
            if (e.getValue().isNull()) out.remove(e.getKey());
            else out.set(e.getKey(), mergePatch(out.get(e.getKey()), e.getValue()));
        });
        return out;
    }


}
