package io.turnout.sync;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Side;
import io.turnout.domain.Domains;
import io.turnout.domain.Record;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Many clients updating the same few keys at once, in dual_write across two databases: whatever
 * order the second writes land in, both stores end with the same record for every key.
 */
@QuarkusTest
class ConcurrentDualWriteTest {
    private static final int KEYS = 10;
    private static final int CLIENTS = 16;
    private static final int UPDATES_PER_CLIENT = 40;

    @Inject
    Databases databases;

    @Inject
    Domains domains;

    @AfterEach
    void backToLegacy() {
        Flags.stage("messages", Stage.LEGACY);
    }

    @Test
    void concurrentUpdatesOfTheSameKeysEndEqualInBothStores() throws Exception {
        Flags.stage("messages", Stage.DUAL_WRITE);
        List<Long> keys = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
            keys.add(given().contentType(ContentType.JSON).body(Map.of("sender_id", 1, "recipient_id", 2, "content", "v0"))
                    .post("/data/messages").jsonPath().getLong("id"));
        }
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        List<Future<Integer>> results = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int client = c;
            results.add(pool.submit(() -> {
                int ok = 0;
                for (int u = 0; u < UPDATES_PER_CLIENT; u++) {
                    long key = keys.get(ThreadLocalRandom.current().nextInt(KEYS));
                    Map<String, Object> body = ThreadLocalRandom.current().nextBoolean()
                            ? Map.of("content", "client " + client + " update " + u, "is_read", u % 2 == 0)
                            : Map.of("sender_id", 1, "recipient_id", 2, "content", "replaced by " + client + "/" + u);
                    var req = given().contentType(ContentType.JSON).body(body);
                    int status = body.containsKey("sender_id") ? req.put("/data/messages/" + key).statusCode()
                            : req.patch("/data/messages/" + key).statusCode();
                    if (status == 200) ok++;
                }
                return ok;
            }));
        }
        int succeeded = 0;
        for (Future<Integer> f : results) succeeded += f.get(2, TimeUnit.MINUTES);
        pool.shutdown();
        assertThat(succeeded).isEqualTo(CLIENTS * UPDATES_PER_CLIENT);

        Sql sql = new Sql(databases);
        await().atMost(Duration.ofSeconds(30)).until(() -> sql.count("main", "SELECT count(*) FROM turnout_outbox WHERE domain = 'messages'") == 0);
        Domain messages = domains.find("messages").orElseThrow();
        for (long key : keys) {
            Record legacy = get(messages.store(Side.LEGACY), key);
            Record target = get(messages.store(Side.NEW), key);
            assertThat(legacy).isNotNull();
            assertThat(target).as("key %d", key).isEqualTo(legacy);
        }
    }

    private static Record get(io.turnout.store.Store store, long key) throws Exception {
        return store.get(store.database().pool(), key).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
