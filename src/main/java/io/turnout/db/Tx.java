package io.turnout.db;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import java.util.function.Function;

/**
 * Explicit BEGIN/COMMIT on one pooled connection. Unlike the client's managed transactions, a
 * failed statement does not end the transaction on its own, so a caller can roll back to a
 * savepoint and go on: how a failed second write turns into an outbox entry in the same
 * transaction as the first.
 */
public final class Tx {
    private Tx() {}

    public static <T> Future<T> run(Database db, Function<SqlConnection, Future<T>> work) {
        return db.pool().withConnection(conn -> conn.query("BEGIN").execute()
                .compose(begun -> work.apply(conn))
                .compose(
                        result -> conn.query("COMMIT").execute().map(result),
                        failure -> conn.query("ROLLBACK").execute()
                                .transform(ignored -> Future.<T>failedFuture(failure))));
    }
}
