package io.turnout.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.domain.Side;
import io.turnout.support.MessagesFromEmpty;
import io.turnout.support.Sql;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A mirror reads the source's rows and the outbox entries carrying fields only the target holds,
 * and deletes the entries it applied. A client write that commits between those two reads must not
 * have its entry deleted by a mirror whose rows predate it: the write's other fields would then be
 * missing from the target with nothing left to copy them. The write here commits while the mirror
 * waits for the outbox (the test holds the table locked), the interleaving a busy key meets by chance.
 */
@QuarkusTest
class OwnedRaceTest extends MessagesFromEmpty {

    @Inject
    Domains domains;

    @Inject
    Mirror mirror;

    private static <T> T get(io.vertx.core.Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void aWriteCommittedWhileAMirrorRunsReachesTheTargetWhole() throws Exception {
        long id = Sql.postMessage("first");
        sql.awaitOutboxEmpty("messages");
        Domain messages = domains.find("messages").orElseThrow();

        SqlConnection writer = get(databases.find("main").orElseThrow().pool().getConnection());
        CompletableFuture<Integer> copied;
        try {
            Transaction tx = get(writer.begin());
            // the client's write, as Turnout makes it at dual_write: the legacy row and its outbox entry, one transaction
            get(writer.query("LOCK TABLE turnout_outbox IN ACCESS EXCLUSIVE MODE").execute());
            get(writer.preparedQuery("UPDATE direct_messages SET body = 'second' WHERE id = $1").execute(Tuple.of(id)));
            get(writer.preparedQuery("INSERT INTO turnout_outbox (domain, record_key, source, target, next_attempt_at, owned) "
                            + "VALUES ('messages', $1, 'legacy', 'new', now() + interval '1 hour', $2::text::jsonb)")
                    .execute(Tuple.of(Long.toString(id), "{\"values\":{\"file_size\":42}}")));
            copied = mirror.syncAll(messages, java.util.List.of(id), Side.LEGACY, Side.NEW).toCompletionStage().toCompletableFuture();
            // the mirror waits for the outbox, which the write holds until it commits
            await().atMost(Duration.ofSeconds(10)).until(() -> sql.count("main", "SELECT count(*) FROM pg_locks l JOIN pg_class c "
                    + "ON c.oid = l.relation WHERE NOT l.granted AND c.relname = 'turnout_outbox'") > 0);
            get(tx.commit());
        } finally {
            writer.close();
        }
        assertThat(copied.get(30, TimeUnit.SECONDS)).isEqualTo(1);

        // the new store has the whole write, the shared field and the one only it holds, and the entry is done with
        assertThat(sql.row("messages", "SELECT content, file_size FROM messages WHERE id = $1", id))
                .isEqualTo(Map.of("content", "second", "file_size", 42));
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_outbox WHERE domain = 'messages'")).isZero();
    }
}
