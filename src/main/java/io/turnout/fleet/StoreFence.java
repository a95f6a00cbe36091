package io.turnout.fleet;

import io.turnout.db.Database;
import io.turnout.domain.Domain;
import io.turnout.domain.Side;
import io.turnout.routing.Stage;
import io.turnout.routing.WriteFence;
import io.turnout.store.Guard;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import io.vertx.pgclient.PgException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fence row of a domain in each database that holds one of its stores ({@code turnout_fence}):
 * the stage every write and copy into that database must be routed by. Writes and copies check it
 * with {@code turnout_enter(domain, stage)} inside their own statement or transaction, holding the
 * domain's fence lock shared until they commit; {@link #set} takes that lock exclusively, so it
 * waits for every write and copy that entered under the old stage, and none enters under the old
 * stage once it has committed. A replica routing by a stage the rest of the fleet has left is thus
 * refused by the database itself, whatever it believes ({@link #isFenced}).
 */
public final class StoreFence {
    /** SQLSTATE raised by {@code turnout_enter} for a write or copy routed by a stage the database's fence does not name. */
    public static final String REFUSED = "TRNFC";
    /** Class id of the fence's advisory locks: 'TRNF', apart from the bigint key space of per-key locks. */
    static final int LOCK_CLASS = 0x54524e46;

    private StoreFence() {}

    /** The databases holding a table store of the domain, in name order (the order fences are taken in). */
    public static List<Database> databases(Domain d) {
        Map<String, Database> out = new LinkedHashMap<>();
        for (Side side : Side.values()) {
            if (d.writable(side)) out.putIfAbsent(d.store(side).database().name(), d.store(side).database());
        }
        List<Database> sorted = new ArrayList<>(out.values());
        sorted.sort(Comparator.comparing(Database::name));
        return sorted;
    }

    /**
     * Sets the domain's fence in one database to {@code stage} ({@code null}: closed, every write
     * and copy refused), waiting at most {@code timeout} for writes and copies inside it to finish.
     * Only while holding the domain's coordinator lock.
     */
    public static Future<Void> set(Database db, Domain d, Stage stage, Duration timeout) {
        long ms = Math.max(1, timeout.toMillis());
        String label = stage == null ? "" : stage.label();
        // already there: no lock taken, so writes do not queue behind a change that changes nothing
        // (the caller holds the coordinator lock: no other replica changes the row meanwhile)
        return db.work().preparedQuery("SELECT coalesce(stage, '') FROM turnout_fence WHERE domain = $1").execute(Tuple.of(d.name()))
                .compose(rows -> rows.size() > 0 && label.equals(rows.iterator().next().getString(0)) ? Future.succeededFuture()
                        : change(db, d, stage, ms));
    }

    private static Future<Void> change(Database db, Domain d, Stage stage, long ms) {
        return db.work().withTransaction(tx -> tx.preparedQuery("SELECT set_config('lock_timeout', $1, true), "
                                + "set_config('statement_timeout', $1, true)")
                        .execute(Tuple.of(Long.toString(ms)))
                        .compose(v -> tx.preparedQuery("SELECT pg_advisory_xact_lock($1, hashtext($2))").execute(Tuple.of(LOCK_CLASS, d.name())))
                        .compose(v -> tx.preparedQuery("INSERT INTO turnout_fence (domain, stage) VALUES ($1, $2) ON CONFLICT (domain) DO UPDATE "
                                        + "SET stage = EXCLUDED.stage, epoch = turnout_fence.epoch + 1, changed_at = now()")
                                .execute(Tuple.of(d.name(), stage == null ? null : stage.label()))))
                .mapEmpty();
    }

    /** Sets the fence in every database of the domain, one after the other in name order. */
    public static Future<Void> setAll(Domain d, Stage stage, Duration timeout) {
        Future<Void> chain = Future.succeededFuture();
        for (Database db : databases(d)) chain = chain.compose(v -> set(db, d, stage, timeout));
        return chain;
    }

    /** What the fence names in each database of the domain: a stage label, {@code ""} while closed, absent when never set. */
    public static Future<Map<String, String>> read(Domain d) {
        List<Database> dbs = databases(d);
        List<Future<String>> each = new ArrayList<>();
        for (Database db : dbs) {
            each.add(db.work().preparedQuery("SELECT coalesce(stage, '') FROM turnout_fence WHERE domain = $1").execute(Tuple.of(d.name()))
                    .map(rows -> {
                        var it = rows.iterator();
                        return it.hasNext() ? it.next().getString(0) : null;
                    }));
        }
        return Future.all(each).map(v -> {
            Map<String, String> out = new LinkedHashMap<>();
            for (int i = 0; i < dbs.size(); i++) {
                if (each.get(i).result() != null) out.put(dbs.get(i).name(), each.get(i).result());
            }
            return out;
        });
    }

    /** Enters the fence in a transaction on {@code tx} (a copy's first statement); fails with {@link #REFUSED} if it names another stage. */
    public static Future<Void> enter(SqlClient tx, Domain d, Stage stage) {
        return new Guard(d.name(), stage.label()).enter(tx);
    }

    /** Whether a copy failed only because a fence, this replica's or a database's, refused it for now: its owner tries again later. */
    public static boolean refusedCopy(Throwable e) {
        return isFenced(e) || e instanceof WriteFence.Fenced;
    }

    /** Whether a failure is the database refusing a write or copy routed by a stage its fence does not name. */
    public static boolean isFenced(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof PgException pg && REFUSED.equals(pg.getSqlState())) return true;
        }
        return false;
    }
}
