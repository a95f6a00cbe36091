package io.turnout.sync;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Metrics;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Stores failing for real: a database that refuses connections, a table that is gone. A failing
 * second store never fails a client and loses nothing; a failing first store fails the client and
 * leaves no trace anywhere.
 */
@QuarkusTest
class OutboxFaultTest {

    @Inject
    Databases databases;

    Sql sql;

    @BeforeEach
    void setUp() {
        sql = new Sql(databases);
    }

    @AfterEach
    void restore() {
        sql.exec("main", "ALTER DATABASE messages ALLOW_CONNECTIONS true");
        Flags.stage("messages", Stage.LEGACY);
        Flags.stage("connections", Stage.LEGACY);
    }

    @Test
    void newDatabaseDownDuringDualWriteQueuesKeysAndRelayCatchesUp() {
        Flags.stage("messages", Stage.DUAL_WRITE);
        Response existing = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 3, "recipient_id", 4, "content", "before outage")).post("/data/messages");
        long updatedLater = existing.jsonPath().getLong("id");
        long deletedLater = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 3, "recipient_id", 4, "content", "to delete")).post("/data/messages").jsonPath().getLong("id");
        await().atMost(Duration.ofSeconds(10)).until(() ->
                sql.count("messages", "SELECT count(*) FROM messages WHERE id IN ($1, $2)", updatedLater, deletedLater) == 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> sql.outbox("messages") == 0);

        // the new store's database stops accepting connections, and its open ones are cut
        sql.exec("main", "ALTER DATABASE messages ALLOW_CONNECTIONS false");
        sql.exec("main", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'messages'");

        List<Long> created = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Response r = given().contentType(ContentType.JSON)
                    .body(Map.of("sender_id", 3, "recipient_id", 4, "content", "during outage " + i)).post("/data/messages");
            assertThat(r.statusCode()).isEqualTo(201);
            created.add(r.jsonPath().getLong("id"));
        }
        assertThat(given().contentType(ContentType.JSON).body(Map.of("content", "edited during outage"))
                .patch("/data/messages/" + updatedLater).statusCode()).isEqualTo(200);
        assertThat(given().delete("/data/messages/" + deletedLater).statusCode()).isEqualTo(204);

        // every acknowledged write is in the legacy store and its key in the outbox
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE id = ANY($1)", (Object) created.toArray(new Long[0]))).isEqualTo(5);
        assertThat(sql.count("main", "SELECT count(DISTINCT record_key) FROM turnout_outbox WHERE domain = 'messages'")).isEqualTo(7);
        await().atMost(Duration.ofSeconds(10)).until(() -> Metrics.value("turnout_outbox_depth", "domain", "messages") >= 7);
        assertThat(io.turnout.support.Management.given().get("/q/health/ready").statusCode()).as("a second-write store does not make Turnout unready").isEqualTo(200);

        sql.exec("main", "ALTER DATABASE messages ALLOW_CONNECTIONS true");

        await().atMost(Duration.ofSeconds(30)).until(() -> sql.outbox("messages") == 0);
        for (long id : created) {
            assertThat(sql.row("messages", "SELECT content FROM messages WHERE id = $1", id))
                    .isEqualTo(Map.of("content", sql.row("main", "SELECT body FROM direct_messages WHERE id = $1", id).get("body")));
        }
        assertThat(sql.row("messages", "SELECT content FROM messages WHERE id = $1", updatedLater)).containsEntry("content", "edited during outage");
        assertThat(sql.count("messages", "SELECT count(*) FROM messages WHERE id = $1", deletedLater)).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> Metrics.value("turnout_outbox_depth", "domain", "messages") == 0);
    }

    @Test
    void newTableGoneInOneDatabaseQueuesKeysInTheSameTransaction() {
        Flags.stage("connections", Stage.DUAL_WRITE);
        sql.exec("main", "ALTER TABLE company_connections RENAME TO company_connections_away");
        List<Long> created = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Response r = given().contentType(ContentType.JSON)
                        .body(Map.of("user_id", 777, "connected_user_id", i, "status", "pending")).post("/data/connections");
                assertThat(r.statusCode()).isEqualTo(201);
                created.add(r.jsonPath().getLong("id"));
            }
            assertThat(sql.count("main", "SELECT count(*) FROM user_connections WHERE id = ANY($1)", (Object) created.toArray(new Long[0]))).isEqualTo(3);
            assertThat(sql.outbox("connections")).isEqualTo(3);
        } finally {
            sql.exec("main", "ALTER TABLE company_connections_away RENAME TO company_connections");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> sql.outbox("connections") == 0);
        assertThat(sql.rows("main", "SELECT id, user_id, peer_user_id FROM company_connections WHERE id = ANY($1) ORDER BY id",
                (Object) created.toArray(new Long[0])))
                .isEqualTo(sql.rows("main", "SELECT id, user_id, connected_user_id AS peer_user_id FROM user_connections WHERE id = ANY($1) ORDER BY id",
                        (Object) created.toArray(new Long[0])));
    }

    /**
     * A delete at dual_write in one database is one transaction over both stores. When the second
     * delete fails, the transaction (the first delete with it) is rolled back, and the delete runs
     * again on the legacy store alone with the key queued: had the first delete been kept, the
     * second attempt would find nothing, answer 404 and queue nothing, and the new store would keep
     * the record for good.
     */
    @Test
    void deleteWithTheNewTableGoneInOneDatabaseQueuesTheKey() {
        Flags.stage("connections", Stage.DUAL_WRITE);
        long id = given().contentType(ContentType.JSON).body(Map.of("user_id", 778, "connected_user_id", 1, "status", "pending"))
                .post("/data/connections").jsonPath().getLong("id");
        assertThat(sql.count("main", "SELECT count(*) FROM company_connections WHERE id = $1", id)).isEqualTo(1);
        sql.exec("main", "ALTER TABLE company_connections RENAME TO company_connections_away");
        try {
            assertThat(given().delete("/data/connections/" + id).statusCode()).isEqualTo(204);
            assertThat(sql.count("main", "SELECT count(*) FROM user_connections WHERE id = $1", id)).isZero();
            assertThat(sql.count("main", "SELECT count(*) FROM turnout_outbox WHERE domain = 'connections' AND record_key = $1",
                    Long.toString(id))).isEqualTo(1);
            assertThat(sql.count("main", "SELECT count(*) FROM company_connections_away WHERE id = $1", id)).isEqualTo(1);
        } finally {
            sql.exec("main", "ALTER TABLE company_connections_away RENAME TO company_connections");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> sql.outbox("connections") == 0);
        assertThat(sql.count("main", "SELECT count(*) FROM company_connections WHERE id = $1", id)).isZero();
    }

    @Test
    void authoritativeStoreDownFailsTheClientAndLeavesNoTrace() {
        Flags.stage("messages", Stage.LIVE);
        String marker = "never stored " + UUID.randomUUID();
        sql.exec("main", "ALTER DATABASE messages ALLOW_CONNECTIONS false");
        sql.exec("main", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'messages'");
        Response r = given().contentType(ContentType.JSON)
                .body(Map.of("sender_id", 3, "recipient_id", 4, "content", marker)).post("/data/messages");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.header("Retry-After")).isNotBlank();
        assertThat(r.header("X-Turnout-Origin")).isEqualTo("new");
        assertThat(r.asString()).doesNotContain("Exception").doesNotContain("INSERT");
        Response read = given().get("/data/messages/10");
        assertThat(read.statusCode()).isEqualTo(503);
        assertThat(io.turnout.support.Management.given().get("/q/health/ready").statusCode()).as("the store serving reads is down").isEqualTo(503);

        sql.exec("main", "ALTER DATABASE messages ALLOW_CONNECTIONS true");
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE body = $1", marker)).isZero();
        assertThat(sql.count("messages", "SELECT count(*) FROM messages WHERE content = $1", marker)).isZero();
        assertThat(sql.outbox("messages")).isZero();
    }

    @Test
    void authoritativeTableGoneInOneDatabaseLeavesNoTrace() {
        Flags.stage("connections", Stage.DUAL_WRITE);
        sql.exec("main", "ALTER TABLE user_connections RENAME TO user_connections_away");
        try {
            Response r = given().contentType(ContentType.JSON)
                    .body(Map.of("user_id", 31337, "connected_user_id", 1)).post("/data/connections");
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.contentType()).startsWith("application/problem+json");
            assertThat(r.asString()).doesNotContain("user_connections");
        } finally {
            sql.exec("main", "ALTER TABLE user_connections_away RENAME TO user_connections");
        }
        assertThat(sql.count("main", "SELECT count(*) FROM company_connections WHERE user_id = 31337")).isZero();
        assertThat(sql.count("main", "SELECT count(*) FROM user_connections WHERE user_id = 31337")).isZero();
        assertThat(sql.outbox("connections")).isZero();
    }
}
