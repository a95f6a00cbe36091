package io.turnout.routing;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.domain.Side;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every stage, in both topologies: connections keeps both tables in database "main" (one
 * transaction), messages keeps legacy in "main" and new in "messages" (outbox). Each test writes
 * and reads through the API, then looks at both tables with SQL.
 */
@QuarkusTest
class StageRoutingTest {

    @Inject
    Databases databases;

    Sql sql;

    @AfterEach
    void backToLegacy() {
        Flags.stage("connections", Stage.LEGACY);
        Flags.stage("messages", Stage.LEGACY);
    }

    @ParameterizedTest
    @EnumSource(Stage.class)
    void connectionsInOneDatabaseFollowTheStage(Stage stage) {
        sql = new Sql(databases);
        Flags.stage("connections", stage);
        long user = 900_000 + stage.ordinal();

        Response created = given().contentType(ContentType.JSON)
                .body(Map.of("user_id", user, "connected_user_id", 42, "status", "pending"))
                .post("/data/connections");
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(created.header("X-Turnout-Origin")).isEqualTo(stage.authoritative().label());
        assertThat(created.header("X-Turnout-Stage")).isEqualTo(stage.label());
        long id = created.jsonPath().getLong("id");
        assertThat(created.jsonPath().getString("connection_type")).isEqualTo("direct");

        Response read = given().get("/data/connections/" + id);
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(read.header("X-Turnout-Origin")).isEqualTo(stage.reads().label());
        assertThat(read.jsonPath().getLong("user_id")).isEqualTo(user);

        Response patched = given().contentType(ContentType.JSON).body(Map.of("status", "accepted"))
                .patch("/data/connections/" + id);
        assertThat(patched.statusCode()).isEqualTo(200);

        Map<String, Object> legacy = sql.row("main", "SELECT user_id, connected_user_id, status FROM user_connections WHERE id = $1", id);
        Map<String, Object> target = sql.row("main", "SELECT user_id, peer_user_id, status, connection_type FROM company_connections WHERE id = $1", id);
        if (stage.writes().contains(Side.LEGACY)) {
            assertThat(legacy).containsEntry("user_id", user).containsEntry("connected_user_id", 42L).containsEntry("status", "accepted");
        } else {
            assertThat(legacy).isNull();
        }
        if (stage.writes().contains(Side.NEW)) {
            assertThat(target).containsEntry("user_id", user).containsEntry("peer_user_id", 42L)
                    .containsEntry("status", "accepted").containsEntry("connection_type", "direct");
        } else {
            assertThat(target).isNull();
        }
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_outbox WHERE domain = 'connections'")).isZero();

        assertThat(given().delete("/data/connections/" + id).statusCode()).isEqualTo(204);
        assertThat(sql.count("main", "SELECT count(*) FROM user_connections WHERE id = $1", id)).isZero();
        assertThat(sql.count("main", "SELECT count(*) FROM company_connections WHERE id = $1", id)).isZero();
        assertThat(given().get("/data/connections/" + id).statusCode()).isEqualTo(404);
    }

    @ParameterizedTest
    @EnumSource(Stage.class)
    void messagesAcrossTwoDatabasesFollowTheStage(Stage stage) {
        sql = new Sql(databases);
        Flags.stage("messages", stage);
        String content = "hello at " + stage.label() + " " + UUID.randomUUID();

        Response created = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 7, "recipient_id", 8, "content", content, "file_url", "https://f/x.pdf"))
                .post("/data/messages");
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(created.header("X-Turnout-Origin")).isEqualTo(stage.authoritative().label());
        long id = created.jsonPath().getLong("id");
        // new-store keys come from a range far above the legacy sequence
        assertThat(id >= 10_000_000_000L).isEqualTo(stage.authoritative() == Side.NEW);

        Response read = given().get("/data/messages/" + id);
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(read.header("X-Turnout-Origin")).isEqualTo(stage.reads().label());
        assertThat(read.header("X-Turnout-Stage")).isEqualTo(stage.label());
        assertThat(read.jsonPath().getString("content")).isEqualTo(content);
        assertThat(read.jsonPath().getString("type")).isEqualTo("text");

        Response patched = given().contentType(ContentType.JSON).body(Map.of("is_read", true, "is_deleted_by_sender", true))
                .patch("/data/messages/" + id);
        assertThat(patched.statusCode()).isEqualTo(200);
        // across databases the second store follows the acknowledged write through the outbox
        sql.awaitOutboxEmpty("messages");

        Map<String, Object> legacy = sql.row("main",
                "SELECT body, receiver_id, is_read, deleted_by_sender, attachment_url FROM direct_messages WHERE id = $1", id);
        Map<String, Object> target = sql.row("messages",
                "SELECT content, recipient_id, is_read, is_deleted_by_sender, file_url, type FROM messages WHERE id = $1", id);
        if (stage.writes().contains(Side.LEGACY)) {
            assertThat(legacy).containsEntry("body", content).containsEntry("receiver_id", 8).containsEntry("is_read", true)
                    .containsEntry("deleted_by_sender", true).containsEntry("attachment_url", "https://f/x.pdf");
        } else {
            assertThat(legacy).isNull();
        }
        if (stage.writes().contains(Side.NEW)) {
            assertThat(target).containsEntry("content", content).containsEntry("recipient_id", 8).containsEntry("is_read", true)
                    .containsEntry("is_deleted_by_sender", true).containsEntry("file_url", "https://f/x.pdf").containsEntry("type", "text");
        } else {
            assertThat(target).isNull();
        }
        assertThat(given().delete("/data/messages/" + id).statusCode()).isEqualTo(204);
        sql.awaitOutboxEmpty("messages");
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE id = $1", id)).isZero();
        assertThat(sql.count("messages", "SELECT count(*) FROM messages WHERE id = $1", id)).isZero();
    }
}
