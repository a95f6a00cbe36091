package io.turnout.sync;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.turnout.domain.Domains;
import io.turnout.routing.Stage;
import io.turnout.support.MessagesFromEmpty;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The write fence's drain copies each pending key from the store authoritative now into the other,
 * whatever direction its outbox entry was written in: an entry left from before authority last
 * moved names the old direction, and copying by it would aim at the authoritative store, which the
 * copy guard refuses, so the step that moves authority could never finish.
 */
@QuarkusTest
class OutboxDrainTest extends MessagesFromEmpty {

    @Inject
    OutboxRelay relay;

    @Inject
    Domains domains;

    @Test
    void anEntryWrittenInTheOldDirectionIsDrainedFromTheAuthoritativeStore() throws Exception {
        long stale = Sql.postMessage("first");
        long fresh = Sql.postMessage("second");
        // both mirrored; then the legacy store, authoritative at dual_write, changes behind the outbox's back
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> sql.count("messages", "SELECT count(*) FROM messages WHERE id IN (" + stale + ", " + fresh + ")") == 2
                        && sql.count("main", "SELECT count(*) FROM turnout_outbox WHERE domain = 'messages'") == 0);
        sql.exec("main", "UPDATE direct_messages SET body = 'changed-' || id WHERE id IN (" + stale + ", " + fresh + ")");
        // the first entry names the direction of a live stage (new into legacy), the second today's; neither is due yet
        sql.exec("main", "INSERT INTO turnout_outbox (domain, record_key, source, target, next_attempt_at) VALUES "
                + "('messages', '" + stale + "', 'new', 'legacy', now() + interval '1 hour'), "
                + "('messages', '" + fresh + "', 'legacy', 'new', now() + interval '1 hour')");

        int drained = relay.drain(domains.find("messages").orElseThrow(), Stage.DUAL_WRITE, System.nanoTime() + TimeUnit.SECONDS.toNanos(10))
                .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);

        assertThat(drained).isEqualTo(2);
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_outbox WHERE domain = 'messages'")).isZero();
        // the authoritative legacy rows are as they were; the new store has their content
        assertThat(sql.row("main", "SELECT body FROM direct_messages WHERE id = $1", stale)).containsEntry("body", "changed-" + stale);
        assertThat(sql.row("messages", "SELECT content FROM messages WHERE id = $1", stale)).containsEntry("content", "changed-" + stale);
        assertThat(sql.row("messages", "SELECT content FROM messages WHERE id = $1", fresh)).containsEntry("content", "changed-" + fresh);
    }
}
