package io.turnout.store;

import static io.turnout.db.Databases.PLANNED_EACH_TIME;

import io.turnout.db.Database;
import io.turnout.db.Pipelined;
import io.turnout.domain.Field;
import io.turnout.domain.Normalization;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A store that is one PostgreSQL table: each API field is a column (possibly renamed) or a
 * read-only SQL expression over the row. Parameters and read values are cast to the field's type,
 * so columns may be narrower or differently typed than the API (int4 for an integer field,
 * timestamp for a timestamptz one). Identifiers come from validated configuration only; values
 * always travel as parameters.
 */
public final class TableStore extends KeyedRelation {
    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(TableStore.class);

    /**
     * Where one field lives in the table: a column, an expression derived from the row's columns
     * (the store holds the value, read-only), or, when {@code absent}, a stand-in for a field the
     * store does not hold at all (never copied from, never compared).
     */
    public record Mapping(Field field, String column, String expression, boolean absent) {
        boolean writable() {
            return column != null;
        }

        String readSql() {
            return (column != null ? quote(column) : "(" + expression + ")") + "::" + field.type().sqlType();
        }
    }

    private final String table;
    private final String rawTable;
    private final List<Mapping> mappings;
    private final Mapping key;
    private final String selectList;
    private final String getSql;
    private final String deleteSql;
    private final String getAllSql;
    private final String deleteAllSql;
    private final List<Mapping> putOrder;
    private final Set<String> held;
    private final Map<Set<String>, String> putAllSql = new ConcurrentHashMap<>();
    private final Map<Set<String>, String> insertAllSql = new ConcurrentHashMap<>();
    /** Whether the database runs MERGE, once asked (see {@link #merges}). */
    private volatile Boolean merges;

    public TableStore(Side side, Database database, String table, List<Mapping> mappings, String keyField) {
        super(side, database, mappings.stream().map(Mapping::field).toList());
        this.table = quoteQualified(table);
        this.rawTable = table;
        this.mappings = List.copyOf(mappings);
        this.key = mappings.stream().filter(m -> m.field().name().equals(keyField)).findFirst().orElseThrow();
        StringJoiner select = new StringJoiner(", ");
        for (Mapping m : mappings) {
            select.add(m.readSql() + " AS " + quote(m.field().name()));
        }
        this.selectList = select.toString();
        String keyParam = "$1::" + key.field().type().sqlType();
        this.getSql = "SELECT " + selectList + " FROM " + this.table + " WHERE " + quote(key.column()) + " = " + keyParam;
        this.deleteSql = "DELETE FROM " + this.table + " WHERE " + quote(key.column()) + " = " + keyParam;
        String keyArray = " = ANY($1::" + key.field().type().sqlType() + "[])";
        this.getAllSql = "SELECT " + selectList + " FROM " + this.table + " WHERE " + quote(key.column()) + keyArray;
        this.deleteAllSql = "DELETE FROM " + this.table + " WHERE " + quote(key.column()) + keyArray;
        this.putOrder = mappings.stream().filter(Mapping::writable).toList();
        this.held = Set.copyOf(mappings.stream().filter(m -> !m.absent()).map(m -> m.field().name()).toList());
    }

    @Override
    Field keyField() {
        return key.field();
    }

    @Override
    String rootTable() {
        return table;
    }

    @Override
    String rootKey() {
        return quote(key.column());
    }

    @Override
    String records() {
        return "FROM " + table;
    }

    @Override
    String recordKey() {
        return quote(key.column());
    }

    /** Whether the store holds the field: a column, or a value derived from its columns. */
    public boolean holds(String field) {
        return held.contains(field);
    }

    /** Whether the field is a column of this store, so a write can set it. */
    public boolean stores(String field) {
        return mappings.stream().anyMatch(m -> m.field().name().equals(field) && m.writable());
    }

    /** The columns a copy writes: those among {@code fields}, the key always. */
    private List<Mapping> putColumns(Set<String> fields) {
        return putOrder.stream().filter(m -> m == key || fields.contains(m.field().name())).toList();
    }

    private static String conflict(Mapping key, List<Mapping> columns, Set<String> defaults) {
        StringJoiner updates = new StringJoiner(", ");
        for (Mapping m : columns) {
            if (m != key) updates.add(quote(m.column()) + " = EXCLUDED." + quote(m.column()));
        }
        defaults.forEach(c -> updates.add(quote(c) + " = DEFAULT"));
        return " ON CONFLICT (" + quote(key.column()) + ") DO " + (updates.length() == 0 ? "NOTHING" : "UPDATE SET " + updates);
    }

    private static String columnList(List<Mapping> columns) {
        StringJoiner cols = new StringJoiner(", ");
        columns.forEach(m -> cols.add(quote(m.column())));
        return cols.toString();
    }

    private String putAllSql(Set<String> fields) {
        return putAllSql.computeIfAbsent(Set.copyOf(fields), f -> insertAllSql(f) + conflict(key, putColumns(f), Set.of()));
    }

    private String insertAllSql(Set<String> fields) {
        return insertAllSql.computeIfAbsent(Set.copyOf(fields), f -> {
            List<Mapping> columns = putColumns(f);
            // one unnest per column in the select list: PostgreSQL runs them in step, one row per index,
            // without the tuplestore a function scan in FROM fills with every row first (about a tenth
            // less time for the statement, measured on messages' columns)
            StringJoiner arrays = new StringJoiner(", ");
            for (int i = 0; i < columns.size(); i++) {
                arrays.add("unnest($" + (i + 1) + "::" + columns.get(i).field().type().sqlType() + "[])");
            }
            return "INSERT INTO " + table + " (" + columnList(columns) + ") SELECT " + arrays;
        });
    }

    /** Columns of the table that are NOT NULL with no default: a new row must be given them. */
    public String requiredColumnsSql() {
        return "SELECT column_name::text FROM information_schema.columns WHERE table_schema = coalesce($1, current_schema()) "
                + "AND table_name = $2 AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER'";
    }

    /** Parameters of {@link #requiredColumnsSql}: schema (null for the search path's first) and table. */
    public Tuple requiredColumnsParams() {
        int dot = rawTable.indexOf('.');
        return dot < 0 ? Tuple.of(null, rawTable) : Tuple.of(rawTable.substring(0, dot), rawTable.substring(dot + 1));
    }

    /** SQL text naming the table, for probes at start-up. */
    public String probeSql() {
        return "SELECT " + selectList + " FROM " + table + " LIMIT 0";
    }

    @Override
    public Future<Record> get(SqlClient client, Object key) {
        return client.preparedQuery(getSql).execute(Tuple.of(key)).map(this::first);
    }

    @Override
    public Future<List<Record>> getAll(SqlClient client, List<Object> keys) {
        if (keys.isEmpty()) return Future.succeededFuture(List.of());
        return client.preparedQuery(getAllSql).execute(Tuple.of(array(key.field(), keys))).map(this::all);
    }

    @Override
    public Future<List<Record>> list(SqlClient client, Query query) {
        StringBuilder sql = new StringBuilder("SELECT ").append(selectList).append(" FROM ").append(table);
        List<Object> params = new ArrayList<>();
        StringJoiner where = new StringJoiner(" AND ", " WHERE ", "").setEmptyValue("");
        for (Filter f : query.filters()) {
            Mapping m = mapping(f.field().name());
            String target = m.column() != null ? quote(m.column()) : "(" + m.expression() + ")";
            String type = f.field().type().sqlType();
            if (f.op() == Filter.Op.IN) {
                params.add(array(f.field(), f.values()));
                where.add(target + " = ANY($" + params.size() + "::" + type + "[])");
            } else if (f.op() == Filter.Op.PREFIX) {
                params.add(f.value());
                where.add("starts_with(" + target + "::text, $" + params.size() + "::text)");
            } else {
                params.add(f.value());
                where.add(target + " " + f.op().sql + " $" + params.size() + "::" + type);
            }
        }
        if (query.after() != null) {
            params.add(query.after());
            where.add(quote(key.column()) + " > $" + params.size() + "::" + key.field().type().sqlType());
        }
        sql.append(where).append(" ORDER BY ").append(quote(key.column()));
        params.add(query.limit());
        sql.append(" LIMIT $").append(params.size());
        return client.preparedQuery(sql.toString()).execute(Tuple.from(params)).map(this::all);
    }

    @Override
    public Future<Written> insert(SqlClient client, Guard guard, Record values, Companion note) {
        List<Mapping> given = mappings.stream().filter(m -> m.writable() && values.has(m.field().name())).toList();
        List<Object> params = new ArrayList<>();
        String sql;
        if (given.isEmpty()) {
            // no column to select the guard with: it runs first, in the same transaction
            String insert = "INSERT INTO " + table + " DEFAULT VALUES RETURNING " + selectList;
            java.util.function.Function<SqlClient, Future<Written>> work = tx -> guard.enter(tx)
                    .compose(v -> write(tx, insert, params, note, true));
            return client instanceof io.vertx.sqlclient.Pool pool ? pool.withTransaction(work::apply) : work.apply(client);
        } else {
            StringJoiner cols = new StringJoiner(", ");
            StringJoiner vals = new StringJoiner(", ");
            for (Mapping m : given) {
                params.add(values.get(m.field().name()));
                cols.add(quote(m.column()));
                vals.add("$" + params.size() + "::" + m.field().type().sqlType());
            }
            sql = "INSERT INTO " + table + " (" + cols + ") SELECT " + vals + " WHERE " + guard.condition(params);
        }
        return write(client, sql + " RETURNING " + selectList, params, note, true);
    }

    @Override
    public Future<Written> update(SqlClient client, Guard guard, Object keyValue, Record values, boolean replace, Companion note) {
        List<Object> params = new ArrayList<>();
        params.add(keyValue);
        StringJoiner sets = new StringJoiner(", ");
        for (Mapping m : mappings) {
            if (!m.writable() || m == key) continue;
            if (values.has(m.field().name())) {
                params.add(values.get(m.field().name()));
                sets.add(quote(m.column()) + " = $" + params.size() + "::" + m.field().type().sqlType());
            } else if (replace) {
                sets.add(quote(m.column()) + " = DEFAULT");
            }
        }
        if (sets.length() == 0) {
            if (note == null) return get(client, keyValue).map(r -> new Written(r, false, null));
            // nothing of this store changes, but the companion still has to follow the record
            sets.add(quote(key.column()) + " = " + quote(key.column()));
        }
        String sql = "UPDATE " + table + " SET " + sets + " WHERE " + quote(key.column()) + " = $1::"
                + key.field().type().sqlType() + " AND " + guard.condition(params) + " RETURNING " + selectList;
        return write(client, sql, params, note, true).compose(w -> w.changed() ? Future.succeededFuture(w) : confirmAbsent(client, guard, w));
    }

    @Override
    public Future<Written> delete(SqlClient client, Guard guard, Object keyValue, Companion note) {
        if (note instanceof MirrorNote mirror) {
            return deleteBoth(client, guard, keyValue, mirror);
        }
        List<Object> params = new ArrayList<>(List.of(keyValue));
        String sql = deleteSql + " AND " + guard.condition(params) + " RETURNING " + key.readSql() + " AS " + quote(key.field().name());
        return write(client, sql, params, note, false).compose(w -> w.changed() ? Future.succeededFuture(w) : confirmAbsent(client, guard, w));
    }

    /**
     * A delete from both stores of one database, as a transaction of separate statements rather
     * than one: the second delete must see a row that a concurrent backfill copied in while the
     * first delete waited for that backfill's row lock, and a single statement's snapshot, taken
     * before the wait, would miss it (an upsert sees it through ON CONFLICT; a delete does not).
     * Given the pool, it is a pipelined transaction: BEGIN, the fence, the key's lock and the first
     * delete go out together, the second delete with COMMIT, two round trips instead of six; each
     * statement still starts (and takes its snapshot) only once the one before it has finished.
     */
    private Future<Written> deleteBoth(SqlClient client, Guard guard, Object keyValue, MirrorNote mirror) {
        TableStore target = (TableStore) mirror.target();
        if (client instanceof io.vertx.sqlclient.Pool pool) {
            return Pipelined.transaction(pool, (tx, begun) -> {
                SqlConnection c = tx.connection();
                Future<Void> entered = guard.enter(c);
                Future<Void> locked = KeyLock.take(c, mirror.domain(), keyValue);
                Future<RowSet<Row>> deleted = c.preparedQuery(deleteSql).execute(Tuple.of(keyValue));
                return Pipelined.inOrder(begun, entered, locked, deleted).compose(v -> {
                    boolean changed = deleted.result().rowCount() > 0;
                    Future<?> second = changed ? target.deleteAll(c, List.of(keyValue)) : Future.succeededFuture();
                    return Pipelined.inOrder(second, tx.commit()).map(new Written(null, changed, null));
                });
            });
        }
        return guard.enter(client)
                .compose(g -> KeyLock.take(client, mirror.domain(), keyValue))
                .compose(v -> client.preparedQuery(deleteSql).execute(Tuple.of(keyValue)))
                .compose(rows -> rows.rowCount() == 0
                        ? Future.succeededFuture(new Written(null, false, null))
                        : target.deleteAll(client, List.of(keyValue)).map(new Written(null, true, null)));
    }

    /**
     * A write that found no row never reached its guard (it is checked on the row found): before
     * answering "not found", check it, so a replica routed by a stage the fleet has left is
     * refused (and runs again by the stage now applied) rather than miss a row the authority holds.
     */
    private static Future<Written> confirmAbsent(SqlClient client, Guard guard, Written w) {
        return guard.enter(client).map(w);
    }

    /**
     * Runs a write whose RETURNING list starts with the key, wrapped with its companion: an outbox
     * entry (whose id comes back as the last column), or the same record written to the other
     * store under the key's advisory lock.
     */
    private Future<Written> write(SqlClient client, String sql, List<Object> params, Companion companion, boolean returnsRecord) {
        String keyText = "w." + quote(key.field().name()) + "::text";
        if (companion instanceof OutboxNote note) {
            int n = params.size();
            sql = "WITH w AS (" + sql + "), o AS (INSERT INTO turnout_outbox (domain, record_key, source, target, next_attempt_at, owned) "
                    + "SELECT $" + (n + 1) + ", " + keyText + ", $" + (n + 2) + ", $" + (n + 3)
                    + ", now() + $" + (n + 4) + " * interval '1 millisecond', $" + (n + 5) + "::text::jsonb FROM w RETURNING id) "
                    + "SELECT w.*, (SELECT id FROM o) FROM w";
            params.add(note.domain());
            params.add(note.source().label());
            params.add(note.target().label());
            params.add(note.delay().toMillis());
            params.add(note.owned());
        } else if (companion instanceof MirrorNote mirror) {
            TableStore target = (TableStore) mirror.target();
            params.add(KeyLock.prefix(mirror.domain()));
            sql = "WITH w AS (" + sql + "), l AS (SELECT " + KeyLock.takeSql("$" + params.size() + " || " + keyText) + " FROM w), m AS ("
                    + (returnsRecord ? target.putFrom("w", "l", mirror.copied(), mirror.owned(), params)
                            : target.deleteFrom("w", "l", key.field().name()))
                    + ") SELECT w.* FROM w";
        }
        boolean outboxed = companion instanceof OutboxNote;
        return client.preparedQuery(sql).execute(Tuple.from(params)).map(rows -> {
            var it = rows.iterator();
            if (!it.hasNext()) return new Written(null, false, null);
            Row row = it.next();
            Long outboxId = outboxed ? row.getLong(row.size() - 1) : null;
            return new Written(returnsRecord ? toRecord(row) : null, true, outboxId);
        });
    }

    /**
     * An upsert of this store from the API-shaped rows of CTE {@code from}, joined to {@code lock}:
     * the {@code copied} fields from those rows, and the client's values of fields only this store
     * holds, added to {@code params}.
     */
    String putFrom(String from, String lock, Set<String> copied, Owned owned, List<Object> params) {
        List<Mapping> columns = putColumns(copied);
        StringJoiner vals = new StringJoiner(", ").add(values(from, columns));
        List<Mapping> all = new ArrayList<>(columns);
        for (Map.Entry<String, Object> e : owned.values().entrySet()) {
            Mapping m = mapping(e.getKey());
            if (!m.writable() || columns.contains(m)) continue;
            params.add(e.getValue());
            vals.add("$" + params.size() + "::" + m.field().type().sqlType());
            all.add(m);
        }
        Set<String> defaults = new java.util.LinkedHashSet<>();
        for (String f : owned.defaults()) {
            Mapping m = mapping(f);
            if (m.writable() && !all.contains(m)) defaults.add(m.column());
        }
        return "INSERT INTO " + table + " (" + columnList(all) + ") SELECT " + vals + " FROM " + from + (lock == null ? "" : ", " + lock)
                + conflict(key, all, defaults);
    }

    /** Sets what a client wrote to fields only this store holds, for one existing record. */
    public Future<Void> applyOwned(SqlClient client, Object keyValue, Owned owned) {
        List<Object> params = new ArrayList<>();
        params.add(keyValue);
        StringJoiner sets = new StringJoiner(", ");
        owned.values().forEach((f, v) -> {
            Mapping m = mapping(f);
            if (!m.writable() || m == key) return;
            params.add(v);
            sets.add(quote(m.column()) + " = $" + params.size() + "::" + m.field().type().sqlType());
        });
        owned.defaults().forEach(f -> {
            Mapping m = mapping(f);
            if (m.writable() && m != key) sets.add(quote(m.column()) + " = DEFAULT");
        });
        if (sets.length() == 0) return Future.succeededFuture();
        return client.preparedQuery("UPDATE " + table + " SET " + sets + " WHERE " + quote(key.column()) + " = $1::"
                + key.field().type().sqlType()).execute(Tuple.from(params)).mapEmpty();
    }

    /** A delete from this store of the keys in CTE {@code from}, joined to {@code lock}. */
    String deleteFrom(String from, String lock, String keyField) {
        return "DELETE FROM " + table + " WHERE " + quote(key.column()) + " IN (SELECT " + from + "." + quote(keyField)
                + " FROM " + from + ", " + lock + ")";
    }

    /** One statement for the whole batch: each column travels as one array parameter. Keys must be distinct. */
    @Override
    public Future<Void> putAll(SqlClient client, List<Record> records, Set<String> fields) {
        if (records.isEmpty()) return Future.succeededFuture();
        return client.preparedQuery(putAllSql(fields)).execute(columns(records, fields)).mapEmpty();
    }

    /**
     * Inserts records the table does not hold, without the speculative insertion an upsert pays
     * for: a row with one of their keys fails the statement with a unique violation.
     */
    @Override
    public Future<Void> insertAll(SqlClient client, List<Record> records, Set<String> fields) {
        if (records.isEmpty()) return Future.succeededFuture();
        return client.preparedQuery(insertAllSql(fields)).execute(columns(records, fields)).mapEmpty();
    }

    /** One array per column written, of the field's Java type, holding the records' values in order. */
    private Tuple columns(List<Record> records, Set<String> fields) {
        Tuple columns = Tuple.tuple();
        for (Mapping m : putColumns(fields)) {
            Object[] array = (Object[]) Array.newInstance(m.field().type().javaType(), records.size());
            String name = m.field().name();
            for (int i = 0; i < array.length; i++) {
                array[i] = records.get(i).get(name);
            }
            columns.addValue(array);
        }
        return columns;
    }

    @Override
    public Future<Void> deleteAll(SqlClient client, List<Object> keys) {
        if (keys.isEmpty()) return Future.succeededFuture();
        return client.preparedQuery(deleteAllSql).execute(Tuple.of(array(key.field(), keys))).mapEmpty();
    }

    @Override
    public String rangeSql(Object after, Object upTo, List<Object> params) {
        return "SELECT " + selectList + " FROM " + table + range(after, upTo, params);
    }

    @Override
    public List<String> tables() {
        return List.of(rawTable);
    }

    @Override
    public Future<Map<String, Long>> tableCounts(SqlClient client) {
        return count(client).map(n -> Map.of(rawTable, n));
    }

    /**
     * Makes this store equal to {@code source} for the keys in {@code (after, upTo]}, in one
     * statement inside PostgreSQL: both stores share a database. Source rows are read FOR SHARE, so
     * a concurrent write to one of them waits, and the copy sees either none or all of it. Returns
     * the number of source rows copied.
     *
     * <p>Where the server runs {@code MERGE} (PostgreSQL 15 and later), the rows are merged: a plain
     * insert of each row the target lacks, which costs PostgreSQL a good deal less than the
     * speculative insertion of {@code INSERT ... ON CONFLICT}. A merge that meets a row a client
     * write put into the target after the statement began (a unique violation: MERGE does not
     * re-check) changed nothing; the range is then copied again with {@code ON CONFLICT}, which
     * takes that row into account.
     *
     * <p>A range the target holds no record of (the common case: a first backfill) is copied by a
     * plain {@code INSERT ... SELECT ... FOR SHARE}, without the merge's join and the materialised
     * rows the delete shares with it. The target only comes to hold a record of the range together
     * with the source (a dual write, or a sync that reads the source), so a record it came to hold
     * after it was found empty is one the insert also copies: a unique violation, which changed
     * nothing, and the range is merged as above.
     */
    public Future<Long> copyRangeFrom(SqlClient client, TableStore source, Object after, Object upTo, List<Object> kept) {
        List<Object> params = new ArrayList<>();
        String where = source.range(after, upTo, params);
        Tuple bounds = Tuple.from(new ArrayList<>(params));
        // the same bounds, numbered the same, on this table
        String mine = range(after, upTo, new ArrayList<>());
        String notInSource = "NOT EXISTS (SELECT 1 FROM w WHERE w." + quote(key.field().name()) + " = " + table + "."
                + quote(key.column()) + ")";
        if (!kept.isEmpty()) {
            // records only this store held before the migration, which the domain keeps (pilot rows)
            params.add(array(key.field(), kept));
            notInSource += " AND NOT (" + quote(key.column()) + " = ANY($" + params.size() + "::" + key.field().type().sqlType() + "[]))";
        }
        String with = "WITH w AS (SELECT " + source.selectList + " FROM " + source.table + where + " FOR SHARE), "
                + "d AS (DELETE FROM " + table + (mine.isEmpty() ? " WHERE " + notInSource : mine + " AND " + notInSource) + ")";
        Tuple tuple = Tuple.from(params);
        // planned for its range each time: a plan made while the target was near empty would scan all of it later
        String upsert = PLANNED_EACH_TIME + with + ", m AS (" + putFrom("w", null, source.heldFields(), Owned.NONE, new ArrayList<>(params))
                + " RETURNING 1) SELECT count(*) FROM w";
        // the target's rows of the same range, so the merge reads those rather than the whole table
        String bound = range("t." + quote(key.column()), after, upTo, new ArrayList<>());
        String merge = mergeFrom("w", source.heldFields(), bound.isEmpty() ? null : bound.substring(" WHERE ".length()));
        Supplier<Future<Long>> upserted = () -> client.preparedQuery(upsert).execute(tuple).map(rows -> rows.iterator().next().getLong(0));
        Supplier<Future<Long>> merged = merge == null ? upserted : () -> merges(client).compose(yes -> !yes ? upserted.get()
                : client.preparedQuery(PLANNED_EACH_TIME + with + " " + merge).execute(tuple).map(rows -> (long) rows.rowCount())
                        .recover(e -> {
                            String state = sqlState(e);
                            // not understood or not supported (syntax error, feature not supported)
                            boolean unsupported = state.equals("42601") || state.startsWith("0A");
                            // a unique violation: a row a client write put into the target meanwhile
                            if (!unsupported && !state.equals("23505")) return Future.failedFuture(e);
                            if (unsupported) unsupportedMerge(e);
                            return upserted.get();
                        }));
        if (!kept.isEmpty()) return merged.get();
        List<Mapping> columns = putColumns(source.heldFields());
        String insert = PLANNED_EACH_TIME + "INSERT INTO " + table + " (" + columnList(columns) + ") SELECT " + values("w", columns)
                + " FROM (SELECT " + source.selectList + " FROM " + source.table + where + " FOR SHARE) AS w";
        return client.preparedQuery(PLANNED_EACH_TIME + "SELECT EXISTS (SELECT 1 FROM " + table + mine + ")").execute(bounds)
                .compose(held -> held.iterator().next().getBoolean(0) ? merged.get()
                        : client.preparedQuery(insert).execute(bounds).map(rows -> (long) rows.rowCount())
                                .recover(e -> sqlState(e).equals("23505") ? merged.get() : Future.failedFuture(e)));
    }

    private static String sqlState(Throwable e) {
        return e instanceof io.vertx.pgclient.PgException pg && pg.getSqlState() != null ? pg.getSqlState() : "";
    }

    /** The select list that reads {@code columns}' fields from the API-shaped rows of {@code from}. */
    private static String values(String from, List<Mapping> columns) {
        StringJoiner vals = new StringJoiner(", ");
        for (Mapping m : columns) {
            vals.add(from + "." + quote(m.field().name()));
        }
        return vals.toString();
    }

    /** A server that takes MERGE but not in the form written here: every copy upserts from now on. */
    private void unsupportedMerge(Throwable e) {
        merges = false;
        LOG.warnf("Database %s: copies into %s use INSERT ... ON CONFLICT, as the server does not run their MERGE (%s)",
                database().name(), rawTable, e.getMessage());
    }

    /**
     * A merge of this store from the API-shaped rows of CTE {@code from}: each row's {@code copied}
     * fields set on the record with its key, or a new record. {@code bound}, a condition on the
     * target's rows ({@code t}) that every row of {@code from} meets (or null), limits the rows the
     * merge reads to those it may match. Null when nothing but the key would be set (a merge would
     * then not count the records it leaves alone).
     */
    private String mergeFrom(String from, Set<String> copied, String bound) {
        List<Mapping> columns = putColumns(copied);
        StringJoiner sets = new StringJoiner(", ");
        for (Mapping m : columns) {
            if (m != key) sets.add(quote(m.column()) + " = " + from + "." + quote(m.field().name()));
        }
        if (sets.length() == 0) return null;
        return "MERGE INTO " + table + " AS t USING " + from + " ON t." + quote(key.column()) + " = " + from + "." + quote(key.field().name())
                + (bound == null ? "" : " AND " + bound)
                + " WHEN MATCHED THEN UPDATE SET " + sets + " WHEN NOT MATCHED THEN INSERT (" + columnList(columns) + ") VALUES ("
                + values(from, columns) + ")";
    }

    /** Whether this store's database runs MERGE (PostgreSQL 15 and later); asked once. */
    private Future<Boolean> merges(SqlClient client) {
        Boolean known = merges;
        if (known != null) return Future.succeededFuture(known);
        return client.query("SELECT current_setting('server_version_num')::int >= 150000").execute()
                .map(rows -> merges = rows.iterator().next().getBoolean(0));
    }

    /** The fields this store holds (see {@link #holds}). */
    public Set<String> heldFields() {
        return held;
    }

    /** {@code WHERE key > $n AND key <= $m} on this table, with the bounds added to {@code params}; empty when both are open. */
    String range(Object after, Object upTo, List<Object> params) {
        return range(quote(key.column()), after, upTo, params);
    }

    @Override
    String hashSql(Normalization n) {
        return Checksums.rowHash(mappings.stream().map(Mapping::field).toList(), f -> mapping(f.name()).readSql(), n);
    }

    @Override
    public Optional<String> fieldOfColumn(String column) {
        return mappings.stream().filter(m -> column != null && column.equals(m.column())).map(m -> m.field().name()).findFirst();
    }

    private Mapping mapping(String field) {
        for (Mapping m : mappings) {
            if (m.field().name().equals(field)) return m;
        }
        throw new IllegalArgumentException(field);
    }




    public static String quote(String identifier) {
        return '"' + identifier + '"';
    }

    public static String quoteQualified(String table) {
        StringJoiner j = new StringJoiner(".");
        for (String part : table.split("\\.")) {
            j.add(quote(part));
        }
        return j.toString();
    }
}
