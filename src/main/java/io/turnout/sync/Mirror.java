package io.turnout.sync;

import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.store.Store;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;

/**
 * Brings one key of a store to the state another store holds for it: put the record, or delete it
 * if the source has none. State-based and idempotent, so it can run any number of times, in any
 * order. Runs per key under an advisory lock in the target database, and reads the source only
 * after taking it: whichever sync runs last reads the newest committed state, so an older write
 * never overwrites a newer one.
 */
@Singleton
public class Mirror {

    /** Syncs a key across databases in its own transaction on the target. */
    public Future<Void> sync(Domain domain, Object key, Side source, Side target) {
        Store from = domain.store(source);
        Store to = domain.store(target);
        return to.database().pool().withTransaction(tx -> lock(tx, domain, key)
                .compose(v -> from.get(from.database().pool(), key))
                .compose(record -> apply(tx, to, key, record)));
    }

    /**
     * Mirrors a record already known to be the source's current state, inside a transaction that
     * also holds the source's write (both stores in one database).
     */
    public Future<Void> applyInTransaction(SqlClient tx, Domain domain, Side target, Object key, Record state) {
        return lock(tx, domain, key).compose(v -> apply(tx, domain.store(target), key, state));
    }

    private static Future<Void> apply(SqlClient tx, Store to, Object key, Record state) {
        return state == null ? to.delete(tx, key).mapEmpty() : to.put(tx, state);
    }

    private static Future<Void> lock(SqlClient tx, Domain domain, Object key) {
        return tx.preparedQuery("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .execute(Tuple.of(domain.name() + ":" + domain.keyText(key)))
                .mapEmpty();
    }
}
