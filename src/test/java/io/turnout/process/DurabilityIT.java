package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.turnout.support.TurnoutProcess;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The embedded default is durable: eight clients write, the embedded PostgreSQL is killed with
 * SIGKILL under them, Turnout is restarted on the same data directory, and every write that was
 * acknowledged is there with the last value acknowledged for it.
 */
class DurabilityIT {
    private TurnoutProcess turnout;

    @AfterEach
    void stop() {
        if (turnout != null) turnout.close();
    }

    /** What one client knows of one record: the last value acknowledged, and values sent after it without an answer. */
    private static final class Known {
        String acknowledged;
        final Set<String> inDoubt = new LinkedHashSet<>();
    }

    @Test
    void everyAcknowledgedWriteSurvivesAKilledDatabase() throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-durability"), TurnoutProcess.flagsAt("legacy"),
                Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000")).start();
        for (String setting : List.of("fsync", "synchronous_commit", "full_page_writes")) {
            assertThat(turnout.query("main", "SHOW " + setting)).as(setting).isEqualTo("on");
        }

        ExecutorService pool = Executors.newFixedThreadPool(8);
        AtomicBoolean stop = new AtomicBoolean();
        List<Future<Map<Long, Known>>> clients = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            long user = 7_000_000 + t;
            clients.add(pool.submit(() -> write(user, stop)));
        }
        // writes flow until the database dies under them
        long before = turnout.count("SELECT count(*) FROM user_connections");
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100))
                .until(() -> turnout.count("SELECT count(*) FROM user_connections") >= before + 400);
        turnout.killPostgres();
        stop.set(true);
        Map<Long, Known> known = new HashMap<>();
        for (Future<Map<Long, Known>> c : clients) known.putAll(c.get(2, TimeUnit.MINUTES));
        pool.shutdown();
        turnout.kill();

        turnout.start();
        long acknowledged = known.values().stream().filter(k -> k.acknowledged != null).count();
        assertThat(acknowledged).as("acknowledged creates").isGreaterThanOrEqualTo(400);
        List<String> lost = new ArrayList<>();
        try (Connection c = turnout.connect("main")) {
            for (Map.Entry<Long, Known> e : known.entrySet()) {
                Known k = e.getValue();
                if (k.acknowledged == null) continue;
                try (ResultSet r = c.createStatement().executeQuery("SELECT status FROM user_connections WHERE id = " + e.getKey())) {
                    String found = r.next() ? r.getString(1) : null;
                    if (!k.acknowledged.equals(found) && !k.inDoubt.contains(found)) {
                        lost.add(e.getKey() + ": acknowledged " + k.acknowledged + ", found " + found);
                    }
                }
            }
        }
        assertThat(lost).as("acknowledged writes lost or rolled back").isEmpty();
    }

    /** Creates records and updates each once, until stopped; returns what was acknowledged. */
    private static Map<Long, Known> write(long user, AtomicBoolean stop) {
        Map<Long, Known> known = new HashMap<>();
        int n = 0;
        while (!stop.get()) {
            n++;
            Response created;
            try {
                created = given().contentType(ContentType.JSON).body(Map.of("user_id", user, "connected_user_id", n, "status", "c" + n))
                        .post("/data/connections");
            } catch (RuntimeException e) {
                continue;
            }
            if (created.statusCode() != 201) continue;
            long id = created.jsonPath().getLong("id");
            Known k = new Known();
            k.acknowledged = "c" + n;
            known.put(id, k);
            String next = "u" + n;
            k.inDoubt.add(next);
            try {
                if (given().contentType(ContentType.JSON).body(Map.of("status", next)).patch("/data/connections/" + id).statusCode() == 200) {
                    k.acknowledged = next;
                    k.inDoubt.clear();
                }
            } catch (RuntimeException e) {
                // no answer: the update may or may not have committed
            }
        }
        return known;
    }
}
