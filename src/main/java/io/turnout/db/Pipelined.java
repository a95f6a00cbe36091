package io.turnout.db;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import java.util.List;

/**
 * A transaction whose {@code BEGIN} and {@code COMMIT} travel with its statements instead of each
 * waiting for an answer of its own: {@code BEGIN} goes out right before the first statements, and
 * {@code COMMIT} right behind the last ones. PostgreSQL runs a connection's statements in the order
 * sent, and a {@code COMMIT} that follows a failed statement ends the transaction with a rollback,
 * so nothing after a failure is committed; the caller reports the statement that failed. Two round
 * trips fewer than a transaction that awaits each step: for a copy's groups of keys, one short
 * transaction after the other, and for a create that claims an idempotency key.
 */
public final class Pipelined {
    private Pipelined() {}

    /** What runs in the transaction: it is given the transaction and the answer to its {@code BEGIN}, which it waits for with its first statements. */
    @FunctionalInterface
    public interface Work<T> {
        Future<T> run(Tx tx, Future<?> begun);
    }

    /** The transaction's connection, and its end. */
    public static final class Tx {
        private final SqlConnection connection;
        private boolean committing;

        private Tx(SqlConnection connection) {
            this.connection = connection;
        }

        public SqlConnection connection() {
            return connection;
        }

        /**
         * Sends {@code COMMIT} behind the statements sent so far, without waiting for them. Wait for
         * it together with them: if one of them failed, PostgreSQL rolled the transaction back, and
         * that statement's failure is the one to report.
         */
        public Future<Void> commit() {
            committing = true;
            return connection.query("COMMIT").execute().mapEmpty();
        }
    }

    /**
     * Runs {@code work} in a transaction on a connection of {@code pool}. Work that fails, or ends
     * without {@link Tx#commit}, is rolled back before the connection goes back to the pool; work
     * that failed after sending its commit has already been rolled back by PostgreSQL.
     */
    public static <T> Future<T> transaction(Pool pool, Work<T> work) {
        return pool.withConnection(c -> {
            Tx tx = new Tx(c);
            Future<?> begun = c.query("BEGIN").execute();
            Future<T> done;
            try {
                done = work.run(tx, begun);
            } catch (RuntimeException e) {
                done = Future.failedFuture(e);
            }
            return done.transform(ar -> {
                if (tx.committing) return ar.succeeded() ? Future.succeededFuture(ar.result()) : Future.failedFuture(ar.cause());
                Throwable cause = ar.failed() ? ar.cause() : new IllegalStateException("a transaction's work ended without committing");
                return c.query("ROLLBACK").execute().transform(r -> Future.<T>failedFuture(cause));
            });
        });
    }

    /**
     * Waits for statements sent together on one connection, and fails with the first that failed,
     * in the order they were sent: those after it failed only because the transaction had.
     */
    public static Future<Void> inOrder(Future<?>... sent) {
        return Future.join(List.of(sent)).<Void>mapEmpty().recover(e -> {
            for (Future<?> f : sent) {
                if (f.failed()) return Future.failedFuture(f.cause());
            }
            return Future.failedFuture(e);
        });
    }
}
