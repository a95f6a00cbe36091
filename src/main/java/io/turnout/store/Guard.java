package io.turnout.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.List;

/**
 * The stage a client write or a copy is routed by, checked inside the write's own statement (or
 * first in its transaction) against the domain's fence in the database it writes
 * ({@code turnout_enter}, see io.turnout.fleet.StoreFence): routed by a stage the fleet has left,
 * it is refused by the database and changes nothing.
 */
public record Guard(String domain, String stage) {
    /** The guard as a condition of a write's own statement, its two values added to {@code params}. */
    String condition(List<Object> params) {
        params.add(domain);
        params.add(stage);
        return "turnout_enter($" + (params.size() - 1) + ", $" + params.size() + ")";
    }

    /** The guard as a statement of its own, first in a transaction. */
    public Future<Void> enter(SqlClient tx) {
        return tx.preparedQuery("SELECT turnout_enter($1, $2)").execute(Tuple.of(domain, stage)).mapEmpty();
    }
}
