package io.turnout.store;

import io.turnout.db.Database;
import io.turnout.domain.Field;
import io.turnout.domain.Normalization;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * What every store kept in PostgreSQL shares: a table holding one row per record, keyed by the
 * record's key (key lists, chunk boundaries, counts and range locks read it), and a relation of
 * records in API shape (checksums read it). A table store is both; a SQL mapping reads its records
 * through its own query.
 */
abstract sealed class KeyedRelation implements Store permits TableStore, MappedStore {
    private final Side side;
    private final Database database;
    /** The fields in the order every read of the store selects them. */
    private final List<Field> selected;

    KeyedRelation(Side side, Database database, List<Field> selected) {
        this.side = side;
        this.database = database;
        this.selected = List.copyOf(selected);
    }

    @Override
    public Side side() {
        return side;
    }

    @Override
    public Database database() {
        return database;
    }

    /** The first row as a record, or null. */
    final Record first(RowSet<Row> rows) {
        var it = rows.iterator();
        return it.hasNext() ? toRecord(it.next()) : null;
    }

    final List<Record> all(RowSet<Row> rows) {
        List<Record> out = new ArrayList<>(rows.size());
        for (Row row : rows) out.add(toRecord(row));
        return out;
    }

    /** A row whose columns are the fields in selection order, as a record. */
    final Record toRecord(Row row) {
        java.util.LinkedHashMap<String, Object> values = new java.util.LinkedHashMap<>();
        for (int i = 0; i < selected.size(); i++) {
            Field f = selected.get(i);
            values.put(f.name(), f.type().read(row, i));
        }
        return Record.owning(values);
    }

    /** The key field. */
    abstract Field keyField();

    /** The table with one row per record, quoted. */
    abstract String rootTable();

    /** The key's column in {@link #rootTable}, quoted. */
    abstract String rootKey();

    /** {@code FROM ...}: the relation of records in API shape. */
    abstract String records();

    /** The key as an expression of {@link #records}. */
    abstract String recordKey();

    /** A 64-bit hash of a row of {@link #records} in API shape, after normalisation. */
    abstract String hashSql(Normalization n);

    private String keyType() {
        return keyField().type().sqlType();
    }

    /** {@code WHERE column > $n AND column <= $m}, with the bounds added to {@code params}; empty when both are open. */
    final String range(String column, Object after, Object upTo, List<Object> params) {
        StringJoiner where = new StringJoiner(" AND ", " WHERE ", "").setEmptyValue("");
        if (after != null) {
            params.add(after);
            where.add(column + " > $" + params.size() + "::" + keyType());
        }
        if (upTo != null) {
            params.add(upTo);
            where.add(column + " <= $" + params.size() + "::" + keyType());
        }
        return where.toString();
    }

    @Override
    public Future<Long> count(SqlClient client) {
        return client.query("SELECT count(*) FROM " + rootTable()).execute().map(rows -> rows.iterator().next().getLong(0));
    }

    @Override
    public Future<List<Object>> keys(SqlClient client, Object after, Object upTo, int limit) {
        List<Object> params = new ArrayList<>();
        String where = range(rootKey(), after, upTo, params);
        params.add(limit);
        return client.preparedQuery("SELECT " + rootKey() + "::" + keyType() + " FROM " + rootTable() + where + " ORDER BY " + rootKey()
                + " LIMIT $" + params.size()).execute(Tuple.from(params)).map(rows -> {
                    List<Object> out = new ArrayList<>(rows.size());
                    for (Row r : rows) out.add(keyField().type().read(r, 0));
                    return out;
                });
    }

    @Override
    public Future<Object> boundary(SqlClient client, Object after, int size) {
        List<Object> params = new ArrayList<>();
        String where = range(rootKey(), after, null, params);
        params.add(size);
        // the last of the chunk's keys in key order (uuid has no max())
        return client.preparedQuery("SELECT k FROM (SELECT " + rootKey() + "::" + keyType() + " AS k, " + rootKey() + " AS o FROM " + rootTable()
                        + where + " ORDER BY " + rootKey() + " LIMIT $" + params.size() + ") AS chunk ORDER BY o DESC LIMIT 1")
                .execute(Tuple.from(params)).map(rows -> rows.size() == 0 ? null : keyField().type().read(rows.iterator().next(), 0));
    }

    @Override
    public Future<Long> lockRange(SqlClient tx, Object after, Object upTo) {
        List<Object> params = new ArrayList<>();
        String where = range(rootKey(), after, upTo, params);
        return tx.preparedQuery("SELECT 1 FROM " + rootTable() + where + " FOR SHARE").execute(Tuple.from(params)).map(r -> (long) r.rowCount());
    }

    @Override
    public Future<RangeSummary> summarize(SqlClient client, Object after, Object upTo, Normalization n) {
        List<Object> params = new ArrayList<>();
        String where = range(recordKey(), after, upTo, params);
        return client.preparedQuery("SELECT count(*), coalesce(sum(" + hashSql(n) + "), 0) " + records() + where)
                .execute(Tuple.from(params)).map(rows -> {
                    Row r = rows.iterator().next();
                    return new RangeSummary(r.getLong(0), r.getBigDecimal(1));
                });
    }

    @Override
    public Future<Map<Object, Long>> hashes(SqlClient client, Object after, Object upTo, List<Object> keys, Normalization n) {
        List<Object> params = new ArrayList<>();
        String where;
        if (keys != null) {
            params.add(array(keyField(), keys));
            where = " WHERE " + recordKey() + " = ANY($1::" + keyType() + "[])";
        } else {
            where = range(recordKey(), after, upTo, params);
        }
        return client.preparedQuery("SELECT " + recordKey() + "::" + keyType() + ", " + hashSql(n) + " " + records() + where)
                .execute(Tuple.from(params)).map(rows -> {
                    Map<Object, Long> out = new HashMap<>();
                    for (Row r : rows) out.put(keyField().type().read(r, 0), r.getLong(1));
                    return out;
                });
    }

    /** Values of a field as a typed Java array, which the client binds as a PostgreSQL array. */
    static Object array(Field f, List<Object> values) {
        Object array = java.lang.reflect.Array.newInstance(f.type().bindType(), values.size());
        for (int i = 0; i < values.size(); i++) java.lang.reflect.Array.set(array, i, f.type().bind(values.get(i)));
        return array;
    }
}
