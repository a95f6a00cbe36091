package io.turnout.routing;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A store writes only the columns it owns: values only the new store holds reach it whenever it
 * takes the write, a mirror, backfill or repair never overwrites them with the legacy store's
 * stand-ins, and a value no store taking the write can keep is refused rather than dropped.
 */
@QuarkusTest
class ColumnOwnershipTest {

    @Inject
    Databases databases;

    Sql sql;

    @BeforeEach
    void setUp() {
        sql = new Sql(databases);
    }

    @AfterEach
    void backToLegacy() {
        Flags.stage("connections", Stage.LEGACY);
        Flags.stage("messages", Stage.LEGACY);
    }

    private static Response patch(String domain, long id, Map<String, Object> body) {
        return given().contentType(ContentType.JSON).body(body).patch("/data/" + domain + "/" + id);
    }

    @Test
    void atLegacyAValueOnlyTheNewStoreCanHoldIsRefusedNamingFieldAndStage() {
        Map<String, Object> before = sql.row("main", "SELECT status FROM user_connections WHERE id = 5");
        Response r = patch("connections", 5, Map.of("connection_type", "patched", "status", "accepted"));
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(400);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.jsonPath().getString("field")).isEqualTo("connection_type");
        assertThat(r.jsonPath().getString("detail")).contains("stage legacy").contains("becomes writable at dual_write");
        assertThat(sql.row("main", "SELECT status FROM user_connections WHERE id = 5")).as("rolled back").isEqualTo(before);

        // the value Turnout serves is accepted, so a record read can be written back as it is
        JsonPath read = given().get("/data/connections/5").jsonPath();
        Map<String, Object> record = new HashMap<>(read.getMap(""));
        record.put("status", "accepted");
        Response put = given().contentType(ContentType.JSON).body(record).put("/data/connections/5");
        assertThat(put.statusCode()).as(put.asString()).isEqualTo(200);
        assertThat(sql.row("main", "SELECT status FROM user_connections WHERE id = 5")).containsEntry("status", "accepted");
    }

    @Test
    void theCatalogueSaysWhichStoresHoldEachFieldAndWhereItIsWritable() {
        JsonPath catalogue = given().get("/data").jsonPath();
        String type = "domains.find { it.name == 'connections' }.fields.find { it.name == 'connection_type' }";
        assertThat(catalogue.getList(type + ".heldBy")).containsExactly("new");
        assertThat(catalogue.getList(type + ".writableAt")).containsExactly("dual_write", "shadow", "live", "rampdown", "complete", "retired");
        String deleted = "domains.find { it.name == 'messages' }.fields.find { it.name == 'is_deleted' }";
        assertThat(catalogue.getList(deleted + ".heldBy")).containsExactly("legacy", "new");
        assertThat(catalogue.getList(deleted + ".writableAt")).containsExactly("live", "rampdown", "complete", "retired");
        String status = "domains.find { it.name == 'connections' }.fields.find { it.name == 'status' }";
        assertThat(catalogue.getList(status + ".writableAt")).hasSize(7);
    }

    @Test
    void atDualWriteInOneDatabaseNewOnlyValuesReachTheNewStoreAndSurviveLaterMirrors() {
        Flags.stage("connections", Stage.DUAL_WRITE);
        Response created = given().contentType(ContentType.JSON)
                .body(Map.of("user_id", 4100, "connected_user_id", 4200, "connection_type", "group", "company_id", 42))
                .post("/data/connections");
        assertThat(created.statusCode()).as(created.asString()).isEqualTo(201);
        long id = created.jsonPath().getLong("id");
        assertThat(sql.row("main", "SELECT connection_type, company_id FROM company_connections WHERE id = $1", id))
                .isEqualTo(Map.of("connection_type", "group", "company_id", 42L));
        assertThat(sql.count("main", "SELECT count(*) FROM user_connections WHERE id = $1 AND user_id = 4100", id)).isOne();

        assertThat(patch("connections", id, Map.of("connection_type", "team")).statusCode()).isEqualTo(200);
        assertThat(patch("connections", id, Map.of("status", "accepted")).statusCode()).isEqualTo(200);
        assertThat(sql.row("main", "SELECT status, connection_type, company_id FROM company_connections WHERE id = $1", id))
                .as("a mirror of another field leaves the new store's own columns alone")
                .isEqualTo(Map.of("status", "accepted", "connection_type", "team", "company_id", 42L));

        // a replace that leaves them out sets them back to the new table's defaults
        Response put = given().contentType(ContentType.JSON).body(Map.of("user_id", 4100, "connected_user_id", 4200, "status", "blocked"))
                .put("/data/connections/" + id);
        assertThat(put.statusCode()).as(put.asString()).isEqualTo(200);
        Map<String, Object> row = sql.row("main", "SELECT status, connection_type, company_id FROM company_connections WHERE id = $1", id);
        assertThat(row).containsEntry("status", "blocked").containsEntry("connection_type", "direct");
        assertThat(row.get("company_id")).isNull();
    }

    @Test
    void atDualWriteAcrossDatabasesNewOnlyValuesAreCarriedThroughTheOutbox() {
        Flags.stage("messages", Stage.DUAL_WRITE);
        Response created = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 11, "recipient_id", 12, "content", "a picture", "type", "image",
                        "file_size", 123, "file_type", "image/png"))
                .post("/data/messages");
        assertThat(created.statusCode()).as(created.asString()).isEqualTo(201);
        long id = created.jsonPath().getLong("id");
        sql.awaitOutboxEmpty("messages");
        assertThat(sql.row("messages", "SELECT content, type, file_size, file_type FROM messages WHERE id = $1", id))
                .isEqualTo(Map.of("content", "a picture", "type", "image", "file_size", 123, "file_type", "image/png"));

        assertThat(patch("messages", id, Map.of("file_type", "image/webp")).statusCode()).isEqualTo(200);
        assertThat(patch("messages", id, Map.of("is_read", true)).statusCode()).isEqualTo(200);
        sql.awaitOutboxEmpty("messages");
        assertThat(sql.row("messages", "SELECT is_read, type, file_size, file_type FROM messages WHERE id = $1", id))
                .isEqualTo(Map.of("is_read", true, "type", "image", "file_size", 123, "file_type", "image/webp"));

        // is_deleted is derived in the legacy store: accepted only as the value the legacy row gives
        Response alone = patch("messages", id, Map.of("is_deleted", true));
        assertThat(alone.statusCode()).as(alone.asString()).isEqualTo(400);
        assertThat(alone.jsonPath().getString("field")).isEqualTo("is_deleted");
        assertThat(alone.jsonPath().getString("detail")).contains("derives it").contains("becomes writable at live");
        Response consistent = patch("messages", id, Map.of("is_deleted", true, "is_deleted_by_sender", true, "is_deleted_by_recipient", true));
        assertThat(consistent.statusCode()).as(consistent.asString()).isEqualTo(200);
        sql.awaitOutboxEmpty("messages");
        assertThat(sql.row("messages", "SELECT is_deleted, type FROM messages WHERE id = $1", id))
                .isEqualTo(Map.of("is_deleted", true, "type", "image"));
    }

    @Test
    void rollingBackFromLiveToShadowKeepsTheColumnsOnlyTheNewStoreHolds() {
        Flags.stage("messages", Stage.LIVE);
        Response created = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 21, "recipient_id", 22, "content", "sent at live", "type", "image",
                        "file_size", 123, "file_type", "image/png"))
                .post("/data/messages");
        assertThat(created.statusCode()).as(created.asString()).isEqualTo(201);
        long id = created.jsonPath().getLong("id");
        sql.awaitOutboxEmpty("messages");
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE id = $1", id)).isOne();

        Flags.stage("messages", Stage.SHADOW);
        assertThat(patch("messages", id, Map.of("is_read", true)).statusCode()).isEqualTo(200);
        sql.awaitOutboxEmpty("messages");
        Map<String, Object> expected = Map.of("is_read", true, "type", "image", "file_size", 123, "file_type", "image/png");
        assertThat(sql.row("messages", "SELECT is_read, type, file_size, file_type FROM messages WHERE id = $1", id)).isEqualTo(expected);

        // a backfill over the same key copies only what the legacy store holds
        Response backfill = given().contentType(ContentType.JSON).body(Map.of("chunkSize", 5_000)).post("/admin/migrations/messages/backfill");
        assertThat(backfill.statusCode()).as(backfill.asString()).isEqualTo(202);
        await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(100)).until(() ->
                !List.of("running", "throttled").contains(given().get("/admin/migrations/messages/backfill").jsonPath().getString("state")));
        assertThat(given().get("/admin/migrations/messages/backfill").jsonPath().getString("state")).isEqualTo("done");
        assertThat(sql.row("messages", "SELECT is_read, type, file_size, file_type FROM messages WHERE id = $1", id)).isEqualTo(expected);

        // and the stores agree on every field both hold
        long run = given().post("/admin/migrations/messages/verification").then().statusCode(202).extract().jsonPath().getLong("run");
        await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(100)).until(() ->
                !given().get("/admin/migrations/messages/verification/" + run).jsonPath().getString("state").equals("running"));
        JsonPath verified = given().get("/admin/migrations/messages/verification/" + run).jsonPath();
        assertThat(verified.getBoolean("clean")).as(verified.prettify()).isTrue();
    }
}
