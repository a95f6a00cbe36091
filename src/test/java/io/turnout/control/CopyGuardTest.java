package io.turnout.control;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A copy (backfill, repair) writes only into the store that is not authoritative at the applied
 * stage, and only while that store receives every write; anything else is refused and changes no
 * row, and a copy running when the stage moves stops before its next chunk commits.
 */
@QuarkusTest
class CopyGuardTest {
    private static final Set<Stage> FORWARD = Set.of(Stage.DUAL_WRITE, Stage.SHADOW);
    private static final Set<Stage> REVERSE = Set.of(Stage.LIVE, Stage.RAMPDOWN);

    @Inject
    Databases databases;

    Sql sql;

    @BeforeEach
    void emptyNewStores() {
        sql = new Sql(databases);
        Flags.stage("connections", Stage.LEGACY);
        Flags.stage("messages", Stage.LEGACY);
        sql.exec("main", "TRUNCATE company_connections");
        sql.exec("messages", "TRUNCATE messages");
    }

    @AfterEach
    void restore() {
        Flags.stage("connections", Stage.LEGACY);
        Flags.stage("messages", Stage.LEGACY);
    }

    private long legacyRows() {
        return sql.count("main", "SELECT count(*) FROM user_connections");
    }

    private long newRows() {
        return sql.count("main", "SELECT count(*) FROM company_connections");
    }

    private long runs(String domain) {
        return sql.count("main", "SELECT count(*) FROM turnout_backfill WHERE domain = $1", domain);
    }

    @Test
    void copiesAreRefusedAtEveryStageWhereTheyWouldOverwriteTheAuthorityOrAStoreMissingWrites() {
        long legacy = legacyRows();
        assertThat(legacy).isGreaterThan(90_000);
        for (Stage stage : Stage.values()) {
            Flags.stage("connections", stage);
            for (String direction : List.of("forward", "reverse")) {
                boolean allowed = (direction.equals("forward") ? FORWARD : REVERSE).contains(stage);
                if (allowed) continue;
                long before = runs("connections");
                Response r = given().contentType(ContentType.JSON).body(Map.of("direction", direction))
                        .post("/admin/migrations/connections/backfill");
                assertThat(r.statusCode()).as("%s backfill at %s: %s", direction, stage, r.asString()).isEqualTo(409);
                assertThat(r.contentType()).startsWith("application/problem+json");
                assertThat(r.jsonPath().getString("detail"))
                        .contains("The domain is at " + stage.label())
                        .contains(direction.equals("forward") ? "at dual_write or shadow" : "at live or rampdown")
                        .contains("becomes possible");
                assertThat(runs("connections")).as("no run recorded").isEqualTo(before);
                assertThat(legacyRows()).as("legacy rows after a refused %s backfill at %s", direction, stage).isEqualTo(legacy);
                assertThat(newRows()).as("new rows after a refused %s backfill at %s", direction, stage).isZero();
                JsonPath rows = given().get("/admin/migrations/connections/rows").jsonPath();
                assertThat(rows.getLong("legacy")).isEqualTo(legacy);
                assertThat(rows.getLong("new")).isZero();
            }
        }
    }

    @Test
    void repairIsRefusedWhileTheOtherStoreTakesNoWrites() {
        long legacy = legacyRows();
        sql.exec("main", "INSERT INTO company_connections (id, user_id, peer_user_id, status, created_at) "
                + "SELECT id, user_id, connected_user_id, status, created_at FROM user_connections");
        sql.exec("main", "UPDATE company_connections SET status = 'tampered' WHERE id = 77");
        long id = given().post("/admin/migrations/connections/verification").then().statusCode(202).extract().jsonPath().getLong("run");
        await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200)).until(() ->
                !given().get("/admin/migrations/connections/verification/" + id).jsonPath().getString("state").equals("running"));
        JsonPath run = given().get("/admin/migrations/connections/verification/" + id).jsonPath();
        assertThat(run.getString("state")).as("verification is read-only and runs at legacy").isEqualTo("done");
        assertThat(run.getInt("different")).isOne();

        Response r = given().post("/admin/migrations/connections/verification/" + id + "/repair");
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(409);
        assertThat(r.jsonPath().getString("detail")).contains("A repair writes into the new store").contains("The domain is at legacy");
        assertThat(sql.row("main", "SELECT status FROM company_connections WHERE id = 77")).containsEntry("status", "tampered");
        assertThat(legacyRows()).isEqualTo(legacy);
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_verification_diff WHERE run_id = $1 AND repaired", id)).isZero();

        // at dual_write the new store takes every write and is not authoritative: the repair runs
        Flags.stage("connections", Stage.DUAL_WRITE);
        assertThat(given().post("/admin/migrations/connections/verification/" + id + "/repair").jsonPath().getInt("repairedKeys")).isOne();
        assertThat(sql.row("main", "SELECT status FROM company_connections WHERE id = 77"))
                .isEqualTo(sql.row("main", "SELECT status FROM user_connections WHERE id = 77"));
    }

    @Test
    void aRunningBackfillStopsBeforeItsNextChunkWhenItsTargetBecomesAuthoritative() {
        Flags.stage("messages", Stage.DUAL_WRITE);
        long run = given().contentType(ContentType.JSON).body("{\"chunkSize\":500,\"rowsPerSecond\":10000}")
                .post("/admin/migrations/messages/backfill").then().statusCode(202).extract().jsonPath().getLong("run");
        await().atMost(Duration.ofSeconds(30)).until(() ->
                sql.count("main", "SELECT count(*) FROM turnout_backfill_chunk WHERE run_id = $1 AND state = 'done'", run) >= 3);

        Flags.stage("messages", Stage.LIVE);
        await().atMost(Duration.ofSeconds(10)).until(() ->
                "live".equals(sql.row("main", "SELECT applied FROM turnout_stage WHERE domain = 'messages'").get("applied")));
        long copied = sql.count("messages", "SELECT count(*) FROM messages");
        long chunksDone = sql.count("main", "SELECT count(*) FROM turnout_backfill_chunk WHERE run_id = $1 AND state = 'done'", run);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() ->
                given().get("/admin/migrations/messages/backfill").jsonPath().getString("state").equals("stopped"));
        JsonPath stopped = given().get("/admin/migrations/messages/backfill").jsonPath();
        assertThat(stopped.getString("reason")).contains("The domain is at live");
        assertThat(sql.count("messages", "SELECT count(*) FROM messages")).as("no chunk copied after the switch to live").isEqualTo(copied);
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_backfill_chunk WHERE run_id = $1 AND state = 'done'", run))
                .isLessThanOrEqualTo(chunksDone + 1);
        assertThat(copied).isLessThan(sql.count("main", "SELECT count(*) FROM direct_messages"));

        // at live the new store is the authority: resuming is refused and changes nothing
        Response resume = given().post("/admin/migrations/messages/backfill/resume");
        assertThat(resume.statusCode()).isEqualTo(409);
        assertThat(resume.jsonPath().getString("detail")).contains("only after a rollback to shadow");
        long created = given().contentType(ContentType.JSON).body(Map.of("sender_id", 9, "recipient_id", 8, "content", "at live"))
                .post("/data/messages").then().statusCode(201).extract().jsonPath().getLong("id");
        assertThat(sql.count("messages", "SELECT count(*) FROM messages")).isEqualTo(copied + 1);

        // rolled back to shadow, the stopped run resumes from its checkpoint and finishes
        Flags.stage("messages", Stage.SHADOW);
        assertThat(given().post("/admin/migrations/messages/backfill/resume").statusCode()).isEqualTo(200);
        await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200)).until(() ->
                given().get("/admin/migrations/messages/backfill").jsonPath().getString("state").equals("done"));
        assertThat(sql.count("messages", "SELECT count(*) FROM messages WHERE id = $1", created)).isOne();
        assertThat(sql.count("messages", "SELECT count(*) FROM messages"))
                .isEqualTo(sql.count("main", "SELECT count(*) FROM direct_messages"));
    }

    @Inject
    io.turnout.sync.Mirror mirror;

    @Inject
    io.turnout.domain.Domains domains;

    /**
     * A copy routed by a stage the target database's fence does not name (the fleet moved on, or a
     * switch is under way there) is refused by that database and writes nothing; the refusal is
     * what its owner sees, so it is retried later rather than failed.
     */
    @Test
    void aCopyTheTargetDatabasesFenceDoesNotAdmitIsRefusedThereAndWritesNothing() throws Exception {
        Flags.stage("messages", Stage.DUAL_WRITE);
        io.turnout.domain.Domain messages = domains.find("messages").orElseThrow();
        List<Object> keys = List.of(1L, 2L, 3L);
        // a switch under way in the messages database: its fence names no stage
        sql.exec("messages", "UPDATE turnout_fence SET stage = NULL WHERE domain = 'messages'");
        try {
            Throwable refused = null;
            try {
                mirror.syncAll(messages, keys, io.turnout.domain.Side.LEGACY, io.turnout.domain.Side.NEW)
                        .toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                refused = e.getCause();
            }
            assertThat(refused).as("the copy fails").isNotNull();
            assertThat(io.turnout.fleet.StoreFence.isFenced(refused)).as("refused by the fence: " + refused).isTrue();
            assertThat(sql.count("messages", "SELECT count(*) FROM messages")).as("rows written").isZero();
        } finally {
            sql.exec("messages", "UPDATE turnout_fence SET stage = 'dual_write' WHERE domain = 'messages'");
        }
        // admitted again, the same copy writes the three rows
        assertThat(mirror.syncAll(messages, keys, io.turnout.domain.Side.LEGACY, io.turnout.domain.Side.NEW)
                .toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(3);
        assertThat(sql.count("messages", "SELECT count(*) FROM messages WHERE id IN (1, 2, 3)")).isEqualTo(3);
    }
}
