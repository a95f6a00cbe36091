package io.turnout.sync;

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
        // a copy passes the write fence: none starts while the authoritative store changes
        return fence.enterCopy(domain.name()).compose(v -> {
            Future<Integer> done;
            try {
                done = copy(domain, stages.get(domain.name()), keys, source, target, true);
            } catch (RuntimeException e) {
                done = Future.failedFuture(e);
            }
            return done.onComplete(ar -> fence.leaveCopy(domain.name()));
        });
    }

    /**
     * {@link #syncAll} for the write fence's own drain, which runs while the fence is closed in this
     * replica and in every database of the domain (so it does not enter the database's fence).
     * Refused into the store that is authoritative at {@code stage}, the stage the switch starts from.
     */
    public Future<Integer> syncFenced(Domain domain, Stage stage, List<Object> keys, Side source, Side target) {
        return copy(domain, stage, keys, source, target, false);
    }

    /**
     * Copies in groups, routed by {@code stage}; with {@code entering}, each group's transaction on
     * the target first enters the domain's fence in that database with that stage, so a copy routed
     * by a stage the fleet has left is refused there (and retried by its owner) rather than written.
     */
    private Future<Integer> copy(Domain domain, Stage stage, List<Object> keys, Side source, Side target, boolean entering) {
        if (stage.authoritative() == target) {
            return Future.failedFuture(new IllegalStateException("copy of domain " + domain.name() + " into the " + target.label()
                    + " store refused: it is authoritative at " + stage.label()));
        }
        Future<Integer> total = Future.succeededFuture(0);
        for (int i = 0; i < keys.size(); i += LOCK_BATCH) {
            List<Object> group = keys.subList(i, Math.min(keys.size(), i + LOCK_BATCH));
            total = total.compose(n -> syncLocked(domain, group, source, target, entering ? stage : null).map(m -> n + m));
        }
        return total;
    }

    private Future<Integer> syncLocked(Domain domain, List<Object> keys, Side source, Side target, Stage entering) {
        if (keys.isEmpty()) return Future.succeededFuture(0);
        Store from = domain.store(source);
        Store to = domain.store(target);
        String[] names = keys.stream().map(k -> domain.name() + ":" + domain.keyText(k)).toArray(String[]::new);
        List<Long> applied = new ArrayList<>();
        return to.database().work().withTransaction(tx -> {
                    // in one database the source is read on the same connection: a lock is never held
                    // while waiting for a second connection from the pool other syncs need too
                    SqlClient sourceClient = from.database().equals(to.database()) ? tx : from.database().work();
                    // the key locks are sent right behind the fence's statement, on the same connection: one
                    // round trip for both, and PostgreSQL still takes them after the fence, in that order
                    Future<Void> entered = entering == null ? Future.succeededFuture() : StoreFence.enter(tx, domain, entering);
                    Future<?> locked = tx.preparedQuery("SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(n, 0) AS h "
                                    + "FROM unnest($1::text[]) AS n) AS l ORDER BY h")
                            .execute(Tuple.of(names));
                    // a refusal by the fence is the failure to report, not the aborted transaction the locks then met
                    Future<List<OwnedEntry>> owned = Future.join(entered, locked)
                            .recover(e -> Future.failedFuture(entered.failed() ? entered.cause() : e))
                            .compose(v -> ownedEntries(sourceClient, domain, keys, source, target));
                    // the source's rows are read after its outbox: every entry applied below belongs to a write the rows include
                    return owned.compose(entries -> from.getAll(sourceClient, keys).compose(present -> {
                        Set<Object> found = new HashSet<>();
                        present.forEach(r -> found.add(r.get(domain.key().name())));
                        List<Object> gone = keys.stream().filter(k -> !found.contains(k)).toList();
                        return to.putAll(tx, present, domain.copiedFrom(source))
                                .compose(v -> to.deleteAll(tx, gone))
                                .compose(v -> applyOwned(tx, domain, entries, found, target, applied))
                                .map(present.size());
                    }));
                })
                .compose(n -> applied.isEmpty() ? Future.succeededFuture(n)
                        : from.database().work().preparedQuery("DELETE FROM turnout_outbox WHERE id = ANY($1)")
                                .execute(Tuple.of(applied.toArray(new Long[0]))).map(n));
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
