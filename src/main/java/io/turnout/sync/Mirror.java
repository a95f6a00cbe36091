package io.turnout.sync;

import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.store.Filter;
import io.turnout.store.Query;
import io.turnout.store.Owned;
import io.turnout.store.Store;
import io.turnout.store.TableStore;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Brings one key of a store to the state another store holds for it: put the record, or delete it
 * if the source has none. State-based and idempotent, so it can run any number of times, in any
 * order. Runs per key under an advisory lock in the target database, and reads the source only
 * after taking it: whichever sync runs last reads the newest committed state, so an older write
 * never overwrites a newer one.
 */
@Singleton
public class Mirror {

    /** Syncs one key across databases in its own transaction on the target. */
    public Future<Void> sync(Domain domain, Object key, Side source, Side target) {
        return syncAll(domain, List.of(key), source, target).mapEmpty();
    }

    /**
     * Syncs many keys in one transaction on the target and returns how many the source holds.
     * Locks are taken in hash order, so batches that share keys cannot deadlock.
     */
    public Future<Integer> syncAll(Domain domain, List<Object> keys, Side source, Side target) {
        Store from = domain.store(source);
        return syncLocked(domain, keys, source, target, () -> from.getAll(from.database().pool(), keys));
    }

    /**
     * {@link #syncAll} for keys known to lie in {@code (after, upTo]}: reads the source range in one
     * scan instead of probing key by key, and keeps only the locked keys (a row that appeared in the
     * range after the keys were listed belongs to the live write that created it).
     */
    public Future<Integer> syncRange(Domain domain, List<Object> keys, Object after, Object upTo, Side source, Side target) {
        Store from = domain.store(source);
        List<Filter> bound = upTo == null ? List.of() : List.of(new Filter(domain.key(), Filter.Op.LTE, List.of(upTo)));
        Set<Object> locked = new HashSet<>(keys);
        return syncLocked(domain, keys, source, target, () -> from.list(from.database().pool(), new Query(bound, Integer.MAX_VALUE, after))
                .map(rows -> rows.stream().filter(r -> locked.contains(r.get(domain.key().name()))).toList()));
    }

    private Future<Integer> syncLocked(Domain domain, List<Object> keys, Side source, Side target,
            Supplier<Future<List<Record>>> read) {
        if (keys.isEmpty()) return Future.succeededFuture(0);
        Store to = domain.store(target);
        String[] names = keys.stream().map(k -> domain.name() + ":" + domain.keyText(k)).toArray(String[]::new);
        List<Long> applied = new ArrayList<>();
        return to.database().pool().withTransaction(tx -> tx
                .preparedQuery("SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(n, 0) AS h "
                        + "FROM unnest($1::text[]) AS n) AS l ORDER BY h")
                .execute(Tuple.of(names))
                .compose(v -> read.get())
                .compose(present -> {
                    Set<Object> found = new HashSet<>();
                    present.forEach(r -> found.add(r.get(domain.key().name())));
                    List<Object> gone = keys.stream().filter(k -> !found.contains(k)).toList();
                    return to.putAll(tx, present, domain.copiedFrom(source))
                            .compose(v -> to.deleteAll(tx, gone))
                            .compose(v -> applyOwned(tx, domain, found, source, target, applied))
                            .map(present.size());
                }))
                .compose(n -> applied.isEmpty() ? Future.succeededFuture(n)
                        : domain.store(source).database().pool().preparedQuery("DELETE FROM turnout_outbox WHERE id = ANY($1)")
                                .execute(Tuple.of(applied.toArray(new Long[0]))).map(n));
    }

    /**
     * Sets what clients wrote to fields only the target holds, from every pending outbox entry of
     * these keys in the order they were written, so the newest write wins. The entries applied are
     * collected for deletion once the target has committed: a later sync sees only newer ones.
     */
    private Future<Void> applyOwned(SqlConnection tx, Domain domain, Set<Object> keys, Side source, Side target, List<Long> applied) {
        // no outbox read where no field can be carried this way (e.g. new -> legacy for the seed domains)
        if (keys.isEmpty() || !domain.carries(source, target) || !(domain.store(target) instanceof TableStore to)) {
            return Future.succeededFuture();
        }
        String[] texts = keys.stream().map(domain::keyText).toArray(String[]::new);
        return domain.store(source).database().pool()
                .preparedQuery("SELECT id, record_key, owned::text FROM turnout_outbox WHERE domain = $1 AND target = $2 "
                        + "AND record_key = ANY($3) AND owned IS NOT NULL ORDER BY id")
                .execute(Tuple.of(domain.name(), target.label(), texts))
                .compose(rows -> {
                    Map<String, Owned> byKey = new LinkedHashMap<>();
                    for (Row r : rows) {
                        applied.add(r.getLong(0));
                        byKey.merge(r.getString(1), Owned.fromJson(domain, r.getString(2)), Owned::then);
                    }
                    Future<Void> chain = Future.succeededFuture();
                    for (Map.Entry<String, Owned> e : byKey.entrySet()) {
                        Object key = domain.key().type().fromText(e.getKey());
                        chain = chain.compose(v -> to.applyOwned(tx, key, e.getValue()));
                    }
                    return chain;
                });
    }
}

