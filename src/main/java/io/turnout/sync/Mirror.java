package io.turnout.sync;

import static io.turnout.db.Pipelined.inOrder;

import io.turnout.db.Database;
import io.turnout.db.Pipelined;
import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.routing.AppliedStages;
import io.turnout.fleet.StoreFence;
import io.turnout.routing.Stage;
import io.turnout.routing.WriteFence;
import io.turnout.store.Owned;
import io.turnout.store.Store;
import io.turnout.store.TableStore;
import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Set;

/**
 * Brings one key of a store to the state another store holds for it: put the record, or delete it
 * if the source has none. State-based and idempotent, so it can run any number of times, in any
 * order. Runs per key under an advisory lock in the target database, and reads the source only
 * after taking it: whichever sync runs last reads the newest committed state, so an older write
 * never overwrites a newer one.
 */
@Singleton
public class Mirror {
    private final AppliedStages stages;
    private final WriteFence fence;

    public Mirror(AppliedStages stages, WriteFence fence) {
        this.stages = stages;
        this.fence = fence;
    }

    /**
     * Keys locked per transaction, at most: advisory locks live in PostgreSQL's shared lock table
     * (about 64 x max_connections entries per server), so a long key list is synced in groups.
     */
    public static final int LOCK_BATCH = 200;

    /** Syncs one key in its own transaction on the target. */
    public Future<Void> sync(Domain domain, Object key, Side source, Side target) {
        return syncAll(domain, List.of(key), source, target).mapEmpty();
    }

    /**
     * Syncs many keys and returns how many the source holds: {@value #LOCK_BATCH} keys per
     * transaction on the target, one transaction after the other. Locks are taken in hash order, so
     * syncs that share keys cannot deadlock.
     */
    public Future<Integer> syncAll(Domain domain, List<Object> keys, Side source, Side target) {
        return withinFence(domain, () -> copy(domain, stages.get(domain.name()), keys, source, target, true, Bulk.NONE));
    }

    /** Runs a copy inside the write fence: none starts while the authoritative store changes, and a change waits for it. */
    private Future<Integer> withinFence(Domain domain, java.util.function.Supplier<Future<Integer>> copy) {
        return fence.enterCopy(domain.name()).compose(v -> {
            Future<Integer> done;
            try {
                done = copy.get();
            } catch (RuntimeException e) {
                done = Future.failedFuture(e);
            }
            return done.onComplete(ar -> fence.leaveCopy(domain.name()));
        });
    }

    /**
     * A backfill's copy of many keys: {@link #syncAll}, under the same locks, with two savings a
     * bulk copy can make. Each group's transaction commits without waiting for its WAL to reach
     * disk ({@code synchronous_commit} off for it alone), and one transactional WAL message at the
     * end flushes them all before the copy returns, so a checkpoint written after it names only
     * rows on disk; a stage change flushes them too, as the fence's own commit does. Records whose
     * keys {@code targetHeld} does not name (the target's keys when the range was listed) go in by
     * plain INSERT; a group in which one is held after all is copied again with upserts.
     */
    public Future<Integer> copyAll(Domain domain, List<Object> keys, Side source, Side target, Set<Object> targetHeld) {
        Database into = domain.store(target).database();
        return withinFence(domain, () -> copy(domain, stages.get(domain.name()), keys, source, target, true, new Bulk(true, targetHeld))
                .compose(n -> keys.isEmpty() ? Future.succeededFuture(n) : flush(into).map(n)));
    }

    /** How a bulk copy writes: commits without waiting for the flush; plain inserts of keys the target did not hold. */
    private record Bulk(boolean relaxed, Set<Object> targetHeld) {
        static final Bulk NONE = new Bulk(false, null);

        boolean inserts() {
            return targetHeld != null;
        }

        Bulk upserting() {
            return new Bulk(relaxed, null);
        }
    }

    /**
     * Waits until everything committed in the database so far is on disk: a transaction that writes
     * one WAL record commits synchronously (even where the database commits asynchronously by
     * default), and its flush covers every earlier commit. A database that refuses it fails the
     * copy, naming the grant it needs; the copy is then not checkpointed, and runs again.
     */
    private static Future<Void> flush(Database db) {
        return db.work().query("SELECT set_config('synchronous_commit', CASE current_setting('synchronous_commit') WHEN 'off' THEN 'on' "
                        + "ELSE current_setting('synchronous_commit') END, true), pg_logical_emit_message(true, 'turnout', 'flush')")
                .execute().<Void>mapEmpty()
                .recover(e -> Future.failedFuture(e instanceof PgException pg && "42501".equals(pg.getSqlState())
                        ? new IllegalStateException("database " + db.name() + " refused to flush the copy's commits (" + pg.getErrorMessage()
                                + "): the role Turnout connects with needs EXECUTE on pg_logical_emit_message", e)
                        : e));
    }

    /**
     * {@link #syncAll} for the write fence's own drain, which runs while the fence is closed in this
     * replica and in every database of the domain (so it does not enter the database's fence).
     * Refused into the store that is authoritative at {@code stage}, the stage the switch starts from.
     */
    public Future<Integer> syncFenced(Domain domain, Stage stage, List<Object> keys, Side source, Side target) {
        return copy(domain, stage, keys, source, target, false, Bulk.NONE);
    }

    /**
     * Copies in groups, routed by {@code stage}; with {@code entering}, each group's transaction on
     * the target first enters the domain's fence in that database with that stage, so a copy routed
     * by a stage the fleet has left is refused there (and retried by its owner) rather than written.
     */
    private Future<Integer> copy(Domain domain, Stage stage, List<Object> keys, Side source, Side target, boolean entering, Bulk bulk) {
        if (stage.authoritative() == target) {
            return Future.failedFuture(new IllegalStateException("copy of domain " + domain.name() + " into the " + target.label()
                    + " store refused: it is authoritative at " + stage.label()));
        }
        Future<Integer> total = Future.succeededFuture(0);
        for (int i = 0; i < keys.size(); i += LOCK_BATCH) {
            List<Object> group = keys.subList(i, Math.min(keys.size(), i + LOCK_BATCH));
            total = total.compose(n -> syncLocked(domain, group, source, target, entering ? stage : null, bulk)
                    // a record the target came to hold since the range was listed: the group again, upserted
                    .recover(e -> bulk.inserts() && e instanceof PgException pg && "23505".equals(pg.getSqlState())
                            ? syncLocked(domain, group, source, target, entering ? stage : null, bulk.upserting())
                            : Future.failedFuture(e))
                    .map(m -> n + m));
        }
        return total;
    }

    private Future<Integer> syncLocked(Domain domain, List<Object> keys, Side source, Side target, Stage entering, Bulk bulk) {
        if (keys.isEmpty()) return Future.succeededFuture(0);
        Store from = domain.store(source);
        Store to = domain.store(target);
        String[] names = keys.stream().map(k -> io.turnout.store.KeyLock.name(domain.name(), k)).toArray(String[]::new);
        List<Long> applied = new ArrayList<>();
        return Pipelined.transaction(to.database().work(), (tx, begun) -> {
                    SqlConnection c = tx.connection();
                    // in one database the source is read on the same connection: a lock is never held
                    // while waiting for a second connection from the pool other syncs need too
                    SqlClient sourceClient = from.database().equals(to.database()) ? c : from.database().work();
                    // the key locks are sent right behind BEGIN and the fence's statement, on the same connection:
                    // one round trip for all, and PostgreSQL still takes them after the fence, in that order
                    Future<?> relaxed = bulk.relaxed() ? c.query("SET LOCAL synchronous_commit TO off").execute() : Future.succeededFuture();
                    Future<Void> entered = entering == null ? Future.succeededFuture() : StoreFence.enter(c, domain, entering);
                    // taken in hash order, so two copies of overlapping keys never deadlock; one count comes
                    // back rather than a row of type void per key, which the driver has no decoder for
                    Future<?> locked = c.preparedQuery("SELECT count(*) FROM (SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT "
                                    + io.turnout.store.KeyLock.idSql("n") + " AS h FROM unnest($1::text[]) AS n) AS l ORDER BY h) AS taken")
                            .execute(Tuple.of(names));
                    // a refusal by the fence is the failure to report, not the aborted transaction the locks then met
                    return inOrder(begun, relaxed, entered, locked)
                            .compose(v -> readSource(sourceClient, from, domain, keys, source, target))
                            .compose(read -> {
                                Set<Object> found = new HashSet<>();
                                read.rows().forEach(r -> found.add(r.get(domain.key().name())));
                                List<Object> gone = keys.stream().filter(k -> !found.contains(k)).toList();
                                // the target's writes go out together, the commit right behind them when no
                                // entry is to be applied after them; PostgreSQL runs them in the order sent
                                Future<Void> put = put(c, to, read.rows(), domain, source, bulk);
                                Future<Void> deleted = to.deleteAll(c, gone);
                                Future<Void> written = read.entries().isEmpty() ? inOrder(put, deleted, tx.commit())
                                        : inOrder(put, deleted).compose(v -> applyOwned(c, domain, read.entries(), found, target, applied))
                                                .compose(v -> tx.commit());
                                return written.map(read.rows().size());
                            });
                })
                .compose(n -> applied.isEmpty() ? Future.succeededFuture(n)
                        : from.database().work().preparedQuery("DELETE FROM turnout_outbox WHERE id = ANY($1)")
                                .execute(Tuple.of(applied.toArray(new Long[0]))).map(n));
    }

    /** What a sync read from the source: the pending entries carrying target-only fields, then the records. */
    private record SourceRead(List<OwnedEntry> entries, List<Record> rows) {}

    /**
     * Reads the source's outbox entries of the keys and then their records, both sent at once on
     * one connection: PostgreSQL runs them in that order, so every entry applied belongs to a
     * write the records include.
     */
    private static Future<SourceRead> readSource(SqlClient client, Store from, Domain domain, List<Object> keys, Side source, Side target) {
        if (client instanceof io.vertx.sqlclient.Pool pool) return pool.withConnection(c -> readSource(c, from, domain, keys, source, target));
        Future<List<OwnedEntry>> entries = ownedEntries(client, domain, keys, source, target);
        Future<List<Record>> rows = from.getAll(client, keys);
        return inOrder(entries, rows).map(v -> new SourceRead(entries.result(), rows.result()));
    }

    /** Writes the records into the target: those it did not hold by plain insert, in a bulk copy that knows which. */
    private static Future<Void> put(SqlConnection tx, Store to, List<Record> records, Domain domain, Side source, Bulk bulk) {
        Set<String> fields = domain.copiedFrom(source);
        if (!bulk.inserts()) return to.putAll(tx, records, fields);
        List<Record> fresh = new ArrayList<>();
        List<Record> held = new ArrayList<>();
        for (Record r : records) (bulk.targetHeld().contains(r.get(domain.key().name())) ? held : fresh).add(r);
        return inOrder(to.putAll(tx, held, fields), to.insertAll(tx, fresh, fields));
    }

    /** A pending outbox entry carrying what a client wrote to fields only the target holds. */
    private record OwnedEntry(long id, String key, String owned) {}

    /**
     * The pending outbox entries of these keys that carry values for fields only the target holds,
     * in the order they were written; none where no field can be carried this way (e.g. new ->
     * legacy for the seed domains).
     */
    private static Future<List<OwnedEntry>> ownedEntries(SqlClient sourceClient, Domain domain, List<Object> keys, Side source,
            Side target) {
        if (keys.isEmpty() || !domain.carries(source, target) || !(domain.store(target) instanceof TableStore)) {
            return Future.succeededFuture(List.of());
        }
        String[] texts = keys.stream().map(domain::keyText).toArray(String[]::new);
        return sourceClient
                .preparedQuery("SELECT id, record_key, owned::text FROM turnout_outbox WHERE domain = $1 AND target = $2 "
                        + "AND record_key = ANY($3) AND owned IS NOT NULL ORDER BY id")
                .execute(Tuple.of(domain.name(), target.label(), texts))
                .map(rows -> {
                    List<OwnedEntry> out = new ArrayList<>();
                    for (Row r : rows) out.add(new OwnedEntry(r.getLong(0), r.getString(1), r.getString(2)));
                    return out;
                });
    }

    /**
     * Sets what clients wrote to fields only the target holds, from the entries of the keys the
     * source holds, in the order they were written, so the newest write wins. The entries applied
     * are collected for deletion once the target has committed: a later sync sees only newer ones.
     * They were read before the source's rows, so the rows copied include every write they carry;
     * an entry written after that read stays for the sync its own write triggers.
     */
    private static Future<Void> applyOwned(SqlConnection tx, Domain domain, List<OwnedEntry> entries, Set<Object> found, Side target,
            List<Long> applied) {
        if (entries.isEmpty()) return Future.succeededFuture();
        TableStore to = (TableStore) domain.store(target);
        Set<String> present = new HashSet<>();
        found.forEach(k -> present.add(domain.keyText(k)));
        Map<String, Owned> byKey = new LinkedHashMap<>();
        for (OwnedEntry e : entries) {
            if (!present.contains(e.key())) continue;
            applied.add(e.id());
            byKey.merge(e.key(), Owned.fromJson(domain, e.owned()), Owned::then);
        }
        Future<Void> chain = Future.succeededFuture();
        for (Map.Entry<String, Owned> e : byKey.entrySet()) {
            Object key = domain.key().type().fromText(e.getKey());
            chain = chain.compose(v -> to.applyOwned(tx, key, e.getValue()));
        }
        return chain;
    }
}
