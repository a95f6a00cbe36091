package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.turnout.support.TurnoutProcess;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Seed 002 under load, in a real process: clients link and unlink services while stage control
 * switches the authoritative store between the wide legacy row and users + user_integrations, back
 * and forth. No request fails, the last link or unlink of every user and service is what both
 * shapes hold, and no integration is left without its user.
 */
class UsersIT {
    private static final int REPS = Integer.getInteger("users.reps", 5);
    private static final List<String> SERVICES = List.of("gmail", "calendar", "signal", "whatsapp");
    private static final int USERS = 200;

    private TurnoutProcess p;

    @AfterEach
    void stop() {
        if (p != null) p.close();
    }

    @Test
    void linkAndUnlinkWritersLoseNothingAcrossSwitchesBetweenTheTwoShapes() throws Exception {
        p = TurnoutProcess.in(Path.of("target/it-users"), TurnoutProcess.flagsAt("legacy"), Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000",
                "TURNOUT_DOMAINS_USERS_GATES_MIN_SHADOW_COMPARISONS", "0", "TURNOUT_STAGES_FENCE_RETRY", "1s",
                "TURNOUT_STAGES_FENCE_TIMEOUT", "3s")).start();
        RestAssured.port = p.port();
        p.walkTo("users", "live");
        TurnoutProcess.requestStage("users", "shadow", "users test: start at shadow");
        TurnoutProcess.awaitApplied("users", "shadow");

        // the last write of each user and service: its external id, or null for an unlink
        Map<String, String> last = new ConcurrentHashMap<>();
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean running = new AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicInteger writes = new java.util.concurrent.atomic.AtomicInteger();
        List<CompletableFuture<Void>> writers = new ArrayList<>();
        for (String service : SERVICES) {
            // one writer per service, so the last write of a user and service is this writer's
            writers.add(CompletableFuture.runAsync(() -> {
                int n = 0;
                while (running.get()) {
                    int user = 1 + ThreadLocalRandom.current().nextInt(USERS);
                    boolean link = ThreadLocalRandom.current().nextBoolean();
                    String external = service + "-" + user + "-" + (n++);
                    String body = link ? "{\"integrations\":{\"" + service + "\":{\"external_id\":\"" + external + "\",\"access_token\":\"t\"}}}"
                            : "{\"integrations\":{\"" + service + "\":null}}";
                    Response r = given().contentType(ContentType.JSON).body(body).patch("/data/users/" + user);
                    if (r.statusCode() != 200) failures.add(service + " " + user + ": " + r.statusCode() + " " + r.asString());
                    else last.put(user + "/" + service, link ? external : "");
                    writes.incrementAndGet();
                }
            }));
        }
        for (int rep = 0; rep < REPS; rep++) {
            for (String target : List.of("live", "shadow")) {
                TurnoutProcess.requestStage("users", target, "users test round " + rep);
                TurnoutProcess.awaitApplied("users", target);
            }
        }
        running.set(false);
        CompletableFuture.allOf(writers.toArray(new CompletableFuture[0])).join();
        System.out.printf("users: %d link and unlink writes by %d clients across %d switches of the authoritative store, %d failed%n",
                writes.get(), SERVICES.size(), 2 * REPS, failures.size());
        assertThat(failures).as("requests that failed").isEmpty();
        assertThat(last).hasSizeGreaterThan(100);
        await().atMost(Duration.ofSeconds(30)).until(() -> p.count("SELECT count(*) FROM turnout_outbox") == 0);

        try (Connection c = p.connect("main")) {
            for (Map.Entry<String, String> e : last.entrySet()) {
                String[] k = e.getKey().split("/");
                long user = Long.parseLong(k[0]);
                String service = k[1];
                String expected = e.getValue().isEmpty() ? null : e.getValue();
                assertThat(one(c, "SELECT " + service + "_external_id FROM users WHERE id = ?", user)).as("legacy " + e.getKey()).isEqualTo(expected);
                assertThat(one(c, "SELECT " + service + "_linked_at IS NOT NULL FROM users WHERE id = ?", user))
                        .as("legacy linked " + e.getKey()).isEqualTo(expected != null);
                assertThat(one(c, "SELECT external_id FROM accounts.user_integrations WHERE user_id = ? AND service_id = '" + service
                        + "' AND deactivated_at IS NULL", user)).as("new " + e.getKey()).isEqualTo(expected);
            }
            assertThat(one(c, "SELECT count(*) FROM accounts.user_integrations i WHERE NOT EXISTS "
                    + "(SELECT 1 FROM accounts.users u WHERE u.id = i.user_id)", null)).isEqualTo(0L);
            assertThat(one(c, "SELECT count(*) FROM accounts.user_integrations WHERE deactivated_at IS NULL", null))
                    .isEqualTo(one(c, "SELECT sum(num_nonnulls(gmail_linked_at, calendar_linked_at, telegram_linked_at, signal_linked_at, "
                            + "whatsapp_linked_at)) FROM users", null));
        }
        // and verification finds both shapes equal
        long id = given().post("/admin/migrations/users/verification").jsonPath().getLong("run");
        await().atMost(Duration.ofMinutes(1)).until(() -> !"running".equals(given().get("/admin/migrations/users/verification/" + id)
                .jsonPath().getString("state")));
        assertThat(given().get("/admin/migrations/users/verification/" + id).jsonPath().getBoolean("clean")).isTrue();
    }

    private static Object one(Connection c, String sql, Object param) throws Exception {
        try (PreparedStatement s = c.prepareStatement(sql)) {
            if (param != null) s.setObject(1, param);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) return null;
                Object v = r.getObject(1);
                return v instanceof Number n && !(v instanceof Long) ? n.longValue() : v;
            }
        }
    }
}
