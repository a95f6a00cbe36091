package io.turnout.sync;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.turnout.support.Metrics;
import io.turnout.support.MessagesFromEmpty;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A key the second store refuses for good is retried a bounded number of times, then parked:
 * listed with its error, counted, shown, and tried again when something changes. It never holds
 * back the keys mirrored with it.
 */
@QuarkusTest
class ParkedKeysTest extends MessagesFromEmpty {

    @AfterEach
    void dropTheConstraint() {
        sql.exec("messages", "ALTER TABLE messages DROP CONSTRAINT IF EXISTS no_forbidden_words");
    }

    private static long post(Map<String, Object> body) {
        Response r = given().contentType(ContentType.JSON).body(body).post("/data/messages");
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(201);
        return r.jsonPath().getLong("id");
    }

    private static JsonPath outbox() {
        return given().get("/admin/migrations/messages/outbox").jsonPath();
    }

    @Test
    void aKeyOnlyTheNewTableRefusesIsParkedListedAndCountedWithoutHoldingBackItsBatch() throws Exception {
        sql.exec("messages", "ALTER TABLE messages ADD CONSTRAINT no_forbidden_words CHECK (content <> 'forbidden')");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Long>> good = new ArrayList<>();
        Future<Long> bad = null;
        for (int i = 0; i < 40; i++) {
            int n = i;
            if (i == 20) bad = pool.submit(() -> post(Map.of("sender_id", 1, "recipient_id", 2, "content", "forbidden")));
            good.add(pool.submit(() -> post(Map.of("sender_id", 1, "recipient_id", 2, "content", "fine " + n))));
        }
        List<Long> goodIds = new ArrayList<>();
        for (Future<Long> f : good) goodIds.add(f.get(30, TimeUnit.SECONDS));
        long badId = bad.get(30, TimeUnit.SECONDS);
        pool.shutdown();
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE id = $1", badId)).as("the acknowledged write").isOne();

        await().atMost(Duration.ofSeconds(10)).until(() ->
                sql.count("messages", "SELECT count(*) FROM messages WHERE id = ANY($1)", (Object) goodIds.toArray(new Long[0])) == goodIds.size());
        await().atMost(Duration.ofSeconds(15)).until(() -> outbox().getInt("parked") == 1);
        JsonPath parked = outbox();
        assertThat(parked.getList("parkedKeys.key")).containsExactly(Long.toString(badId));
        assertThat(parked.getString("parkedKeys[0].error")).contains("no_forbidden_words");
        assertThat(parked.getInt("parkedKeys[0].attempts")).isEqualTo(4);
        assertThat(parked.getInt("depth")).as("nothing else waits").isZero();
        assertThat(given().get("/admin/migrations/messages").jsonPath().getInt("outbox.parked")).isOne();
        assertThat(Metrics.value("turnout_outbox_parked", "domain", "messages")).isEqualTo(1.0);
        assertThat(sql.count("messages", "SELECT count(*) FROM messages WHERE id = $1", badId)).isZero();
        assertThat(sql.row("main", "SELECT attempts, parked_at IS NOT NULL AS parked FROM turnout_outbox WHERE record_key = $1", Long.toString(badId)))
                .as("no longer retried on its own").isEqualTo(Map.of("attempts", 4, "parked", true));

        // the cause goes away; a release manager asks for a retry
        sql.exec("messages", "ALTER TABLE messages DROP CONSTRAINT no_forbidden_words");
        Response retried = given().contentType(ContentType.JSON).body(Map.of("keys", List.of(badId))).post("/admin/migrations/messages/outbox/retry");
        assertThat(retried.jsonPath().getInt("retried")).isOne();
        await().atMost(Duration.ofSeconds(10)).until(() -> sql.count("messages", "SELECT count(*) FROM messages WHERE id = $1", badId) == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> Metrics.value("turnout_outbox_parked", "domain", "messages") == 0);
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_outbox WHERE domain = 'messages'")).isZero();
    }

    @Test
    void aReplyWhoseParentIsNotCopiedYetIsParkedAndMirroredOnceTheBackfillHasRun() {
        long reply = post(Map.of("sender_id", 3, "recipient_id", 4, "content", "re: 50", "reply_to_id", 50));
        await().atMost(Duration.ofSeconds(15)).until(() -> outbox().getInt("parked") == 1);
        assertThat(outbox().getString("parkedKeys[0].error")).contains("reply_to_id");

        Response started = given().contentType(ContentType.JSON).body(Map.of("chunkSize", 5000)).post("/admin/migrations/messages/backfill");
        assertThat(started.statusCode()).as(started.asString()).isEqualTo(202);
        await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200)).until(() ->
                given().get("/admin/migrations/messages/backfill").jsonPath().getString("state").equals("done"));
        await().atMost(Duration.ofSeconds(10)).until(() -> outbox().getInt("parked") == 0 && outbox().getInt("depth") == 0);
        assertThat(sql.row("messages", "SELECT reply_to_id, content FROM messages WHERE id = $1", reply))
                .isEqualTo(Map.of("reply_to_id", 50L, "content", "re: 50"));
    }
}
