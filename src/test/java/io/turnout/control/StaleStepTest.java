package io.turnout.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.routing.AppliedStages;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.MessagesFromEmpty;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Two replicas try the same step: each reads the stage row, evaluates the gates, then takes the
 * coordinator lock. When the other one has taken the step and released the lock in between, the
 * row this replica holds is stale. The step must not be taken again from it: draining by the old
 * stage would copy the store that was authoritative before over the one that is now (undoing
 * writes clients were told succeeded, bringing deleted rows back), and the abort that follows
 * would set the databases' fences back to the stage the fleet has left.
 */
@QuarkusTest
class StaleStepTest extends MessagesFromEmpty {

    @Inject
    Domains domains;

    @Inject
    StageControl control;

    @Inject
    AppliedStages stages;

    /** What another replica does when it takes a step to {@code stage}: the databases' fences, then the recorded stage. */
    private void anotherReplicaSteps(String stage) {
        for (String db : List.of("main", "messages")) {
            sql.rows(db, "UPDATE turnout_fence SET stage = $1, epoch = epoch + 1 WHERE domain = 'messages'", stage);
        }
        sql.rows("main", "UPDATE turnout_stage SET applied = $1, desired = $1, changed_at = clock_timestamp() WHERE domain = 'messages'",
                stage);
    }

    private long audited(String action) {
        return sql.count("main", "SELECT count(*) FROM turnout_audit WHERE domain = 'messages' AND action = $1", action);
    }

    @Test
    void aStepAnotherReplicaTookAfterThisOneReadTheRowIsNotTakenAgain() throws Exception {
        long kept = Sql.postMessage("before the switch");
        long deleted = Sql.postMessage("deleted at shadow");
        sql.awaitOutboxEmpty("messages");
        Flags.stage("messages", Stage.LIVE);
        Domain messages = domains.find("messages").orElseThrow();
        long fences = audited("fence");
        long applied = audited("applied");

        boolean taken = control.onStageThread(() -> {
            StageRow read = StageControl.await(control.row(messages), Duration.ofSeconds(10), "read the row");
            anotherReplicaSteps("shadow");
            // clients write through it at shadow: legacy is authoritative, the mirror into new not done yet
            sql.exec("main", "UPDATE direct_messages SET body = 'written at shadow' WHERE id = " + kept);
            sql.exec("main", "DELETE FROM direct_messages WHERE id = " + deleted);
            sql.exec("main", "INSERT INTO turnout_outbox (domain, record_key, source, target, next_attempt_at) VALUES "
                    + "('messages', '" + kept + "', 'legacy', 'new', now() + interval '1 hour'), "
                    + "('messages', '" + deleted + "', 'legacy', 'new', now() + interval '1 hour')");
            return control.take(messages, read, new Step(Stage.LIVE, Stage.SHADOW), List.of());
        });

        assertThat(taken).isFalse();
        // the authoritative legacy store keeps what clients wrote at shadow
        assertThat(sql.row("main", "SELECT body FROM direct_messages WHERE id = $1", kept)).containsEntry("body", "written at shadow");
        assertThat(sql.row("main", "SELECT id FROM direct_messages WHERE id = $1", deleted)).isNull();
        // the fences still name the recorded stage, and this replica routes by it
        assertFences("shadow");
        assertThat(sql.row("main", "SELECT applied FROM turnout_stage WHERE domain = 'messages'")).containsEntry("applied", "shadow");
        assertThat(stages.get("messages")).isEqualTo(Stage.SHADOW);
        // nothing was fenced, drained or recorded for the stale step
        assertThat(audited("fence")).isEqualTo(fences);
        assertThat(audited("applied")).isEqualTo(applied);
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_outbox WHERE domain = 'messages'")).isEqualTo(2);
    }

    /**
     * Reads the row of messages at dual_write, lets another replica take {@code steps} meanwhile,
     * then asks stage control to take dual_write -> shadow from the row it read; whether it did.
     */
    private boolean dualWriteToShadowAfter(String... steps) throws Exception {
        Flags.stage("messages", Stage.DUAL_WRITE);
        Domain messages = domains.find("messages").orElseThrow();
        return control.onStageThread(() -> {
            StageRow read = StageControl.await(control.row(messages), Duration.ofSeconds(10), "read the row");
            for (String step : steps) anotherReplicaSteps(step);
            return control.take(messages, read, new Step(Stage.DUAL_WRITE, Stage.SHADOW), List.of());
        });
    }

    private void assertFences(String stage) {
        for (String db : List.of("main", "messages")) {
            assertThat(sql.row(db, "SELECT stage FROM turnout_fence WHERE domain = 'messages'")).as(db).containsEntry("stage", stage);
        }
    }

    @Test
    void aStepThatKeepsTheAuthorityIsNotTakenAgainEither() throws Exception {
        long applied = audited("applied");

        assertThat(dualWriteToShadowAfter("shadow")).isFalse();
        // the fences were not set back to dual_write, where every replica routing by shadow would be refused
        assertFences("shadow");
        assertThat(stages.get("messages")).isEqualTo(Stage.SHADOW);
        assertThat(audited("applied")).isEqualTo(applied);
    }

    @Test
    void aStageLeftAndAppliedAgainSinceTheGatesWereReadIsNotSteppedFrom() throws Exception {
        long applied = audited("applied");

        // another replica steps to shadow and back: dual_write again, but a stay the gates read did not judge
        assertThat(dualWriteToShadowAfter("shadow", "dual_write")).isFalse();
        assertThat(sql.row("main", "SELECT applied FROM turnout_stage WHERE domain = 'messages'")).containsEntry("applied", "dual_write");
        assertFences("dual_write");
        assertThat(audited("applied")).isEqualTo(applied);
    }
}
