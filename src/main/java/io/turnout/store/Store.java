package io.turnout.store;

import io.turnout.db.Database;
import io.turnout.domain.Normalization;
import io.turnout.domain.Record;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One of a domain's two stores. Every method takes the connection to run on, so a caller can put
 * the writes of several stores of one database into a single transaction. Records come and go in
 * API shape; a store maps them to its own tables.
 */
public interface Store extends Origin {

    /** The database the store lives in. */
    Database database();

    /** The record with this key, or null. */
    Future<Record> get(SqlClient client, Object key);

    /** The records with these keys that exist, in no particular order. */
    Future<List<Record>> getAll(SqlClient client, List<Object> keys);

    /** Records matching the query, in key order. */
    Future<List<Record>> list(SqlClient client, Query query);

    @Override
    default String describe() {
        return side().label() + " store";
    }

    @Override
    default Future<Record> get(Object key) {
        return get(database().reads(), key);
    }

    @Override
    default Future<List<Record>> getAll(List<Object> keys) {
        return getAll(database().reads(), keys);
    }

    @Override
    default Future<List<Record>> compareAll(List<Object> keys) {
        return getAll(database().compare(), keys);
    }

    @Override
    default Future<List<Record>> list(Query query) {
        return list(database().reads(), query);
    }

    /**
     * Inserts a new record; fails with a unique violation when the key exists. A companion, if
     * given, happens in the same statement (see {@link Companion}). Every write checks its
     * {@link Guard} in the same statement, and fails (SQLSTATE {@code TRNFC}) without writing when
     * the database's fence names another stage.
     */
    Future<Written> insert(SqlClient client, Guard guard, Record values, Companion companion);

    /**
     * Updates an existing record; the result's state is null when there is none. With
     * {@code replace}, fields the values omit go back to their defaults.
     */
    Future<Written> update(SqlClient client, Guard guard, Object key, Record values, boolean replace, Companion companion);

    /** Deletes a record; the result says whether one was there. */
    Future<Written> delete(SqlClient client, Guard guard, Object key, Companion companion);

    /** Number of records. */
    Future<Long> count(SqlClient client);

    /** Keys in {@code (after, upTo]} in key order, at most {@code limit}; a null bound is open. */
    Future<List<Object>> keys(SqlClient client, Object after, Object upTo, int limit);

    /** The last key of the next {@code size} keys after {@code after} (null: from the start), or null when there are none. */
    Future<Object> boundary(SqlClient client, Object after, int size);

    /** Count and checksum of the records in {@code (after, upTo]}, in API shape after normalisation. */
    Future<RangeSummary> summarize(SqlClient client, Object after, Object upTo, Normalization normalization);

    /** Hash of each record in {@code (after, upTo]}, or of each given key that exists (then the bounds are ignored). */
    Future<Map<Object, Long>> hashes(SqlClient client, Object after, Object upTo, List<Object> keys, Normalization normalization);

    /** The API field stored in a column of this store, for naming fields in errors. */
    default Optional<String> fieldOfColumn(String column) {
        return Optional.empty();
    }

    /**
     * Makes the store hold these records (insert, or overwrite the given fields), in one round trip:
     * how a second write mirrors the first. Only {@code fields} (and the key) are written, so a copy
     * never overwrites a column with a value its source does not hold. Keys must be distinct.
     */
    Future<Void> putAll(SqlClient client, List<Record> records, java.util.Set<String> fields);

    /**
     * {@link #putAll} for records the store is known not to hold: where it can, a plain insert,
     * which fails with a unique violation (SQLSTATE 23505) if one of them is held after all.
     */
    default Future<Void> insertAll(SqlClient client, List<Record> records, java.util.Set<String> fields) {
        return putAll(client, records, fields);
    }

    /**
     * Share-locks the records in {@code (after, upTo]} (their rows in the table holding one row per
     * record) until the transaction ends: a client write of one of them waits, so a copy reading
     * them afterwards in the same transaction sees either none or all of it.
     */
    Future<Long> lockRange(SqlClient tx, Object after, Object upTo);

    /**
     * One SELECT of the records in {@code (after, upTo]} in API shape, each field a column of its
     * name and type, its bounds added to {@code params}: how another store of the same database
     * copies them without them leaving PostgreSQL.
     */
    String rangeSql(Object after, Object upTo, List<Object> params);

    /** Rows in each table the store spans, by table name, in order. */
    Future<Map<String, Long>> tableCounts(SqlClient client);

    /**
     * The tables this store keeps its records in, as configured (schema-qualified where they are);
     * the first holds one row per record.
     */
    List<String> tables();

    /** Deletes every record with one of these keys. */
    Future<Void> deleteAll(SqlClient client, List<Object> keys);

    /**
     * Brings PostgreSQL's statistics of the store's tables up to date ({@code ANALYZE}), so that
     * statements planned from now on (reference checks included) plan for the rows they hold now.
     * A {@code statisticsTarget} samples each table at that target (PostgreSQL reads 300 rows per
     * unit of it) for this transaction only, a column given a target of its own keeping it; null
     * keeps the server's. A role that may not analyze a table is told so by a warning of the
     * server, not an error.
     */
    default Future<Void> analyze(Pool pool, Integer statisticsTarget) {
        return pool.withTransaction(tx -> {
            Future<Void> chain = statisticsTarget == null ? Future.succeededFuture()
                    : tx.query("SET LOCAL default_statistics_target = " + statisticsTarget).execute().mapEmpty();
            for (String table : tables()) {
                chain = chain.compose(v -> tx.query("ANALYZE " + TableStore.quoteQualified(table)).execute().mapEmpty());
            }
            return chain;
        });
    }
}
