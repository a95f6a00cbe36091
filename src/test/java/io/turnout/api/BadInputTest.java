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
    void aMethodARecordOrTheRecordsDoNotServeIs405NamingThoseTheyDo() {
        Response onRecord = given().contentType(ContentType.JSON).body("{}").post("/data/messages/1");
        assertProblem(onRecord, 405, null);
        assertThat(onRecord.header("Allow")).isEqualTo("GET, PUT, PATCH, DELETE");
        Response onRecords = given().delete("/data/messages");
        assertProblem(onRecords, 405, null);
        assertThat(onRecords.header("Allow")).isEqualTo("GET, POST");
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
        assertProblem(given().get("/data/messages?after=abc"), 400, "after");
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
    void everyFirstContactBadInputIsAProblemNamingWhatIsWrong() {
        // a body over the HTTP server's own ceiling, declared and chunked
        byte[] big = new byte[2_000_000];
        java.util.Arrays.fill(big, (byte) 'a');
        Response declared = given().contentType(ContentType.JSON).body(big).post("/data/messages");
        assertProblem(declared, 413, null);
        assertThat(declared.jsonPath().getString("detail")).contains("65536");
        Response chunked = given().contentType(ContentType.JSON)
                .body(new java.io.ByteArrayInputStream(new byte[3_000_000])).post("/data/messages"); // no length: sent chunked
        assertProblem(chunked, 413, null);

        // a NUL character, in a value and in a filter, refused before any store sees it
        Response nul = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 1, "recipient_id", 2, "content", "a\u0000b")).post("/data/messages");
        assertProblem(nul, 400, "content");
        assertThat(nul.jsonPath().getString("detail")).contains("NUL");
        assertProblem(given().urlEncodingEnabled(false).get("/data/messages?content=%00"), 400, "content");

        // trailing garbage after the document
        Response trailing = given().contentType(ContentType.JSON).body("{\"sender_id\":1,\"recipient_id\":2,\"content\":\"x\"} xyz")
                .post("/data/messages");
        assertProblem(trailing, 400, null);
        assertThat(trailing.jsonPath().getString("type")).endsWith("malformed-json");

        // a JSON body sent as text/plain
        Response plain = given().contentType("text/plain").body("{\"sender_id\":1,\"recipient_id\":2,\"content\":\"x\"}")
                .post("/data/messages");
        assertProblem(plain, 415, null);
        assertThat(plain.jsonPath().getString("detail")).contains("application/json");
        Response plainPatch = given().contentType("text/plain").body("{\"content\":\"x\"}").patch("/data/messages/5");
        assertProblem(plainPatch, 415, null);

        // query parameters are named as the client wrote them
        assertProblem(given().get("/data/messages?id.in="), 400, "id.in");
        assertProblem(given().get("/data/messages?after=abc"), 400, "after");

        // a valid document nested past the parser's limit says what the limit is
        String deep = "{\"a\":".repeat(5000) + "1" + "}".repeat(5000);
        Response nested = given().contentType(ContentType.JSON).body(deep).post("/data/messages");
        assertProblem(nested, 400, null);
        assertThat(nested.jsonPath().getString("detail")).contains("1000 levels");

        // the control API parses its bodies the same way
        assertProblem(given().contentType("text/plain").body("{}").post("/admin/migrations/messages/backfill"), 415, null);
        assertProblem(given().contentType(ContentType.JSON).body("{} {}").post("/admin/migrations/messages/backfill"), 400, null);
        assertNoWrites();
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_backfill WHERE domain = 'messages' AND started_at > now() - interval '1 minute'"))
                .isZero();
    }

    @Test
    void duplicateKeyIs409() {
        Response r = given().contentType(ContentType.JSON)
                .body(Map.of("id", 3, "sender_id", 1, "recipient_id", 2, "content", "dup")).post("/data/messages");
        assertProblem(r, 409, null);
        assertNoWrites();
    }
}
