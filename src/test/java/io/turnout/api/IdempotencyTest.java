package io.turnout.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Creates with an Idempotency-Key: a retry with the same key and body gets the first answer and
 * writes nothing more, in either store; the same key with another body is a 422; a malformed key a
 * 400 naming the header. The key is kept in the authoritative store's database, in the create's
 * transaction.
 */
@QuarkusTest
class IdempotencyTest {

    @Inject
    Databases databases;

    Sql sql;

    @BeforeEach
    void dualWrite() {
        sql = new Sql(databases);
        Flags.stage("messages", Stage.DUAL_WRITE);
    }

    private static Response create(String key, Map<String, Object> body) {
        return given().contentType(ContentType.JSON).header("Idempotency-Key", key).body(body).post("/data/messages");
    }

    @Test
    void aRetryGetsTheFirstAnswerAndWritesNothingMore() {
        Map<String, Object> body = Map.of("sender_id", 31, "recipient_id", 32, "content", "idempotent hello");
        Response first = create("retry-1", body);
        assertThat(first.statusCode()).as(first.asString()).isEqualTo(201);
        long id = first.jsonPath().getLong("id");
        sql.awaitOutboxEmpty("messages");

        Response again = create("retry-1", body);
        assertThat(again.statusCode()).isEqualTo(201);
        assertThat(again.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(again.header("Location")).isEqualTo(first.header("Location"));
        assertThat(again.jsonPath().getMap("")).isEqualTo(first.jsonPath().getMap(""));
        assertThat(first.header("Idempotent-Replayed")).isNull();

        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE body = 'idempotent hello'")).isOne();
        assertThat(sql.count("messages", "SELECT count(*) FROM messages WHERE content = 'idempotent hello'")).isOne();
        assertThat(sql.row("main", "SELECT record_key FROM turnout_idempotency WHERE domain = 'messages' AND idempotency_key = 'retry-1'"))
                .isEqualTo(Map.of("record_key", Long.toString(id)));
        // without a key, the same body is a new record
        given().contentType(ContentType.JSON).body(body).post("/data/messages").then().statusCode(201);
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE body = 'idempotent hello'")).isEqualTo(2);
    }

    @Test
    void theSameKeyWithAnotherBodyIs422() {
        assertThat(create("reuse-1", Map.of("sender_id", 33, "recipient_id", 34, "content", "first body")).statusCode()).isEqualTo(201);
        Response other = create("reuse-1", Map.of("sender_id", 33, "recipient_id", 34, "content", "second body"));
        assertThat(other.statusCode()).isEqualTo(422);
        assertThat(other.contentType()).startsWith("application/problem+json");
        assertThat(other.jsonPath().getString("field")).isEqualTo("Idempotency-Key");
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE body = 'second body'")).isZero();
    }

    @Test
    void aMalformedKeyIs400NamingTheHeader() {
        Response r = create("x".repeat(256), Map.of("sender_id", 35, "recipient_id", 36, "content", "too long a key"));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.jsonPath().getString("field")).isEqualTo("Idempotency-Key");
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE body = 'too long a key'")).isZero();
    }

    @Test
    void aFailedCreateKeepsNoKey() {
        Response r = create("fails-1", Map.of("sender_id", 37, "recipient_id", 38, "content", "bad reply", "reply_to_id", 999_999_999));
        assertThat(r.statusCode()).isEqualTo(409);
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_idempotency WHERE idempotency_key = 'fails-1'")).isZero();
        // nothing was kept, so a retry runs the create again (and fails again) rather than replaying
        assertThat(create("fails-1", Map.of("sender_id", 37, "recipient_id", 38, "content", "bad reply", "reply_to_id", 999_999_999))
                .statusCode()).isEqualTo(409);
    }
}
