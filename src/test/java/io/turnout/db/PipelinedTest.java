package io.turnout.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarkus.test.junit.QuarkusTest;
import io.turnout.support.Sql;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A pipelined transaction commits all of its statements or none, reports the statement that failed
 * rather than the aborted transaction the statements after it met, and gives its connection back
 * to the pool outside any transaction, whichever way its work ends. The pool here has one
 * connection, so the write after each transaction runs on the connection that transaction used.
 */
@QuarkusTest
class PipelinedTest {
    private static final String INSERT = "INSERT INTO turnout_pipelined_probe (id) VALUES ($1)";

    @Inject
    Databases databases;

    @Inject
    Vertx vertx;

    private Pool pool;
    private Sql sql;
    private String db;

    @BeforeEach
    void probeTable() {
        sql = new Sql(databases);
        db = databases.control().name();
        sql.exec(db, "CREATE TABLE IF NOT EXISTS turnout_pipelined_probe (id int PRIMARY KEY)");
        sql.exec(db, "TRUNCATE turnout_pipelined_probe");
        pool = databases.controlRecordsPool(vertx, 1);
    }

    @AfterEach
    void dropProbe() {
        pool.close();
        sql.exec(db, "DROP TABLE IF EXISTS turnout_pipelined_probe");
    }

    @Test
    void aCommittedTransactionWritesEveryStatement() throws Exception {
        int n = await(Pipelined.transaction(pool, (tx, begun) -> {
            Future<?> one = insert(tx, 1);
            Future<?> two = insert(tx, 2);
            return Future.join(List.of(begun, one, two, tx.commit())).map(2);
        }));
        assertThat(n).isEqualTo(2);
        assertThat(ids()).containsExactly(1, 2);
        assertTheConnectionIsOutOfTransaction(10);
    }

    @Test
    void aStatementThatFailsBeforeTheCommitSentBehindItLeavesNothingWrittenAndIsTheFailureReported() {
        Future<Integer> done = Pipelined.transaction(pool, (tx, begun) -> {
            Future<?> one = insert(tx, 1);
            Future<?> twice = insert(tx, 1);
            Future<?> three = insert(tx, 3);
            Future<Void> commit = tx.commit();
            return Future.join(List.of(begun, one, twice, three, commit)).map(0)
                    .recover(e -> twice.failed() ? Future.failedFuture(twice.cause()) : Future.failedFuture(e));
        });
        assertThatThrownBy(() -> await(done)).hasCauseInstanceOf(PgException.class)
                .cause().satisfies(e -> assertThat(((PgException) e).getSqlState()).isEqualTo("23505"));
        assertThat(ids()).as("records after a failed statement").isEmpty();
        assertTheConnectionIsOutOfTransaction(10);
    }

    @Test
    void workThatFailsBeforeCommittingIsRolledBack() {
        Future<Integer> done = Pipelined.transaction(pool, (tx, begun) -> Future.join(List.of(begun, insert(tx, 1)))
                .compose(v -> Future.failedFuture(new IllegalStateException("the source could not be read"))));
        assertThatThrownBy(() -> await(done)).hasCauseInstanceOf(IllegalStateException.class).hasMessageContaining("the source could not be read");
        assertThat(ids()).isEmpty();
        assertTheConnectionIsOutOfTransaction(10);
    }

    @Test
    void workThatEndsWithoutCommittingIsRolledBackAndFails() {
        Future<Integer> done = Pipelined.transaction(pool, (tx, begun) -> Future.join(List.of(begun, insert(tx, 1))).map(1));
        assertThatThrownBy(() -> await(done)).hasCauseInstanceOf(IllegalStateException.class).hasMessageContaining("without committing");
        assertThat(ids()).isEmpty();
        assertTheConnectionIsOutOfTransaction(10);
    }

    private static Future<?> insert(Pipelined.Tx tx, int id) {
        return tx.connection().preparedQuery(INSERT).execute(Tuple.of(id));
    }

    /** A write on the pool's one connection, outside any transaction, is seen at once by another connection. */
    private void assertTheConnectionIsOutOfTransaction(int id) {
        try {
            await(pool.preparedQuery(INSERT).execute(Tuple.of(id)));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertThat(ids()).as("seen from another connection").contains(id);
    }

    private List<Integer> ids() {
        return sql.rows(db, "SELECT id FROM turnout_pipelined_probe ORDER BY id").stream().map(r -> (Integer) r.get("id")).toList();
    }

    private static <T> T await(Future<T> f) throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
        return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
