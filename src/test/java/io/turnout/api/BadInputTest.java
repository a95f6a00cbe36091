package io.turnout.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad requests get a problem naming what is wrong, and nothing reaches either store. Runs at
 * dual_write, so "nothing" covers both stores; other tests set the stages they need.
 */
@QuarkusTest
class BadInputTest {

    @Inject
    Databases databases;

    Sql sql;
    long legacyRows;
    long newRows;

    @BeforeEach
    void dualWrite() {
        sql = new Sql(databases);
        Flags.stage("messages", Stage.DUAL_WRITE);
        legacyRows = sql.count("main", "SELECT count(*) FROM direct_messages");
        newRows = sql.count("messages", "SELECT count(*) FROM messages");
    }

    private void assertNoWrites() {
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages")).isEqualTo(legacyRows);
        assertThat(sql.count("messages", "SELECT count(*) FROM messages")).isEqualTo(newRows);
    }

    private static void assertProblem(Response r, int status, String field) {
        assertThat(r.statusCode()).isEqualTo(status);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.jsonPath().getInt("status")).isEqualTo(status);
        assertThat(r.jsonPath().getString("title")).isNotBlank();
        assertThat(r.jsonPath().getString("field")).isEqualTo(field);
        assertThat(r.asString()).doesNotContainIgnoringCase("select ").doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void unknownDomainIs404() {
        Response r = given().get("/data/nope/1");
        assertProblem(r, 404, null);
        assertThat(r.jsonPath().getString("detail")).contains("nope");
        assertProblem(given().contentType(ContentType.JSON).body("{}").post("/data/nope"), 404, null);
    }

    @Test
    void unknownFieldIsNamed() {
        Response r = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 1, "recipient_id", 2, "content", "x", "colour", "red")).post("/data/messages");
        assertProblem(r, 400, "colour");
        assertNoWrites();
    }

    @Test
    void wrongTypeIsNamed() {
        assertProblem(given().contentType(ContentType.JSON)
                .body("{\"sender_id\":\"seven\",\"recipient_id\":2,\"content\":\"x\"}").post("/data/messages"), 400, "sender_id");
        assertProblem(given().contentType(ContentType.JSON)
                .body("{\"sender_id\":1,\"recipient_id\":2,\"content\":\"x\",\"is_read\":\"yes\"}").post("/data/messages"), 400, "is_read");
        assertProblem(given().contentType(ContentType.JSON)
                .body("{\"sender_id\":1.5,\"recipient_id\":2,\"content\":\"x\"}").post("/data/messages"), 400, "sender_id");
        assertProblem(given().contentType(ContentType.JSON)
                .body("{\"sender_id\":1,\"recipient_id\":2,\"content\":\"x\",\"read_at\":\"yesterday\"}").post("/data/messages"), 400, "read_at");
        assertNoWrites();
    }

    @Test
    void overLongValueIsNamed() {
        Response r = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 1, "recipient_id", 2, "content", "x", "file_name", "n".repeat(256))).post("/data/messages");
        assertProblem(r, 400, "file_name");
        assertThat(r.jsonPath().getString("detail")).contains("255");
        assertNoWrites();
    }

    @Test
    void missingRequiredFieldIsNamed() {
        assertProblem(given().contentType(ContentType.JSON).body(Map.of("sender_id", 1, "recipient_id", 2)).post("/data/messages"),
                400, "content");
        assertNoWrites();
    }

    @Test
    void malformedJsonIs400() {
        Response r = given().contentType(ContentType.JSON).body("{\"sender_id\": 1,").post("/data/messages");
        assertProblem(r, 400, null);
        assertThat(r.jsonPath().getString("detail")).contains("not valid JSON");
        assertProblem(given().contentType(ContentType.JSON).body("[1,2]").post("/data/messages"), 400, null);
        assertProblem(given().contentType(ContentType.JSON).post("/data/messages"), 400, null);
        assertNoWrites();
    }

    @Test
    void bodyOverTheLimitIs413() {
        String big = "{\"sender_id\":1,\"recipient_id\":2,\"content\":\"" + "x".repeat(70_000) + "\"}";
        Response r = given().contentType(ContentType.JSON).body(big).post("/data/messages");
        assertProblem(r, 413, null);
        assertNoWrites();
    }

    @Test
    void replaceOfMissingKeyIs404AndKeyMismatchIs400() {
        Response missing = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 1, "recipient_id", 2, "content", "x")).put("/data/messages/987654321");
        assertProblem(missing, 404, null);
        assertThat(missing.header("X-Turnout-Origin")).isEqualTo("legacy");
        assertThat(missing.header("X-Turnout-Stage")).isEqualTo("dual_write");
        assertProblem(given().contentType(ContentType.JSON)
                .body(Map.of("id", 5, "sender_id", 1, "recipient_id", 2, "content", "x")).put("/data/messages/6"), 400, "id");
        assertProblem(given().contentType(ContentType.JSON).body(Map.of("content", "x")).put("/data/messages/abc"), 400, "id");
        assertNoWrites();
    }

    @Test
    void badListQueriesNameTheParameter() {
        assertProblem(given().get("/data/messages?colour=red"), 400, "colour");
        assertProblem(given().get("/data/messages?sender_id.like=1"), 400, "sender_id.like");
        assertProblem(given().get("/data/messages?sender_id=x"), 400, "sender_id");
        assertProblem(given().get("/data/messages?limit=0"), 400, "limit");
        assertProblem(given().get("/data/messages?limit=100000"), 400, "limit");
        assertProblem(given().get("/data/messages?after=abc"), 400, "id");
    }

    @Test
    void sqlLookingStringsAreStoredLiterally() {
        String nasty = "x'); DROP TABLE direct_messages; -- \" OR 1=1";
        Response r = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 1, "recipient_id", 2, "content", nasty, "file_name", "'; DELETE FROM messages; --"))
                .post("/data/messages");
        assertThat(r.statusCode()).isEqualTo(201);
        long id = r.jsonPath().getLong("id");
        assertThat(sql.row("main", "SELECT body FROM direct_messages WHERE id = $1", id)).containsEntry("body", nasty);
        await().atMost(Duration.ofSeconds(10)).until(() -> sql.count("messages", "SELECT count(*) FROM messages WHERE id = $1", id) == 1);
        assertThat(sql.row("messages", "SELECT content, file_name FROM messages WHERE id = $1", id))
                .containsEntry("content", nasty).containsEntry("file_name", "'; DELETE FROM messages; --");
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages")).isEqualTo(legacyRows + 1);
        assertThat(sql.count("messages", "SELECT count(*) FROM messages")).isEqualTo(newRows + 1);
        Response found = given().queryParam("content", nasty).get("/data/messages");
        assertThat(found.jsonPath().getList("items.id", Long.class)).containsExactly(id);
        assertThat(given().delete("/data/messages/" + id).statusCode()).isEqualTo(204);
    }

    @Test
    void duplicateKeyIs409() {
        Response r = given().contentType(ContentType.JSON)
                .body(Map.of("id", 3, "sender_id", 1, "recipient_id", 2, "content", "dup")).post("/data/messages");
        assertProblem(r, 409, null);
        assertNoWrites();
    }
}
