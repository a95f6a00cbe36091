package io.turnout.domain;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Seed 002 online: the wide legacy users row and users + user_integrations are two SQL mappings of
 * one API record. Every claim is checked in both shapes with SQL, not only through the API.
 */
@QuarkusTest
class UsersDomainTest {
    /** Demo user 60 has gmail (60 % 3), calendar (60 % 4) and telegram (60 % 5) linked, nothing else. */
    static final long THREE_SERVICES = 60;
    /** Demo user 14 started a gmail OAuth flow and never finished it (14 % 13 = 1). */
    static final long INCOMPLETE_FLOW = 14;

    @Inject
    Databases databases;

    Sql sql;

    @BeforeEach
    void emptyNewStore() {
        sql = new Sql(databases);
        Flags.stage("users", Stage.LEGACY);
        sql.exec("main", "TRUNCATE accounts.users CASCADE");
        sql.exec("main", "DELETE FROM turnout_outbox WHERE domain = 'users'");
    }

    @AfterEach
    void back() {
        Flags.stage("users", Stage.LEGACY);
    }

    private static JsonPath user(long id, String expectedOrigin) {
        Response r = given().get("/data/users/" + id);
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(200);
        assertThat(r.header("X-Turnout-Origin")).isEqualTo(expectedOrigin);
        return r.jsonPath();
    }

    private static Response patch(long id, String body) {
        return given().contentType(ContentType.JSON).body(body).patch("/data/users/" + id);
    }

    private static List<Long> ids(String query) {
        Response r = given().get("/data/users?" + query);
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(200);
        return r.jsonPath().getList("items.id", Long.class);
    }

    private void backfill() {
        Response r = given().contentType(ContentType.JSON).body("{\"chunkSize\":5000}").post("/admin/migrations/users/backfill");
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(202);
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200)).until(() ->
                !List.of("running", "throttled").contains(given().get("/admin/migrations/users/backfill").jsonPath().getString("state")));
        assertThat(given().get("/admin/migrations/users/backfill").jsonPath().getString("state")).isEqualTo("done");
    }

    private static JsonPath verify() {
        Response started = given().post("/admin/migrations/users/verification");
        assertThat(started.statusCode()).isEqualTo(202);
        long id = started.jsonPath().getLong("run");
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200)).until(() ->
                !given().get("/admin/migrations/users/verification/" + id).jsonPath().getString("state").equals("running"));
        return given().get("/admin/migrations/users/verification/" + id).jsonPath();
    }

    private long activeIntegrations(long user) {
        return sql.count("main", "SELECT count(*) FROM accounts.user_integrations WHERE user_id = $1 AND deactivated_at IS NULL", user);
    }

    @Test
    void aUserWithThreeServicesIsTheSameRecordInEveryStageAndListsAgree() {
        Map<String, Object> atLegacy = user(THREE_SERVICES, "legacy").getMap("");
        Map<String, Object> linked = user(THREE_SERVICES, "legacy").getMap("integrations");
        assertThat(linked).containsOnlyKeys("gmail", "calendar", "telegram");
        List<Long> gmailAtLegacy = ids("service=gmail&limit=1000");
        List<Long> whatsappPrefix = ids("service=whatsapp&email.prefix=user1&limit=1000");
        assertThat(gmailAtLegacy).hasSize(1000).allMatch(id -> id % 3 == 0);
        assertThat(whatsappPrefix).isNotEmpty().allMatch(id -> id % 11 == 0 && String.valueOf(id).startsWith("1"));

        Flags.stage("users", Stage.DUAL_WRITE);
        backfill();
        assertThat(activeIntegrations(THREE_SERVICES)).isEqualTo(3);
        assertThat(sql.count("main", "SELECT count(*) FROM accounts.users")).isEqualTo(sql.count("main", "SELECT count(*) FROM users"));
        for (Stage s : List.of(Stage.DUAL_WRITE, Stage.SHADOW, Stage.LIVE, Stage.RAMPDOWN, Stage.COMPLETE)) {
            Flags.stage("users", s);
            String origin = s.reads().label();
            assertThat(user(THREE_SERVICES, origin).getMap("")).as("user at " + s.label()).isEqualTo(atLegacy);
            assertThat(ids("service=gmail&limit=1000")).as("?service=gmail at " + s.label()).isEqualTo(gmailAtLegacy);
            assertThat(ids("service=whatsapp&email.prefix=user1&limit=1000")).as("at " + s.label()).isEqualTo(whatsappPrefix);
        }
        assertThat(given().get("/data/users?service.in=gmail").statusCode()).isEqualTo(400);
        assertThat(Metrics.sum("turnout_requests_seconds_count", "domain=\"users\"", "origin=\"new\"", "outcome=\"success\"")).isPositive();
    }

    @Test
    void linkingAndUnlinkingInDualWriteChangesBothShapes() {
        Flags.stage("users", Stage.DUAL_WRITE);
        Response linked = patch(THREE_SERVICES, "{\"integrations\":{\"signal\":{\"external_id\":\"sig-60\",\"access_token\":\"t-60\"}}}");
        assertThat(linked.statusCode()).as(linked.asString()).isEqualTo(200);
        assertThat(linked.jsonPath().getMap("integrations")).containsKeys("gmail", "calendar", "telegram", "signal");

        Map<String, Object> wide = sql.row("main", "SELECT signal_external_id, signal_access_token, signal_linked_at IS NOT NULL AS linked, "
                + "gmail_access_token IS NOT NULL AS gmail FROM users WHERE id = $1", THREE_SERVICES);
        assertThat(wide).containsEntry("signal_external_id", "sig-60").containsEntry("signal_access_token", "t-60")
                .containsEntry("linked", true).containsEntry("gmail", true);
        assertThat(sql.row("main", "SELECT external_id, access_token FROM accounts.user_integrations WHERE user_id = $1 "
                + "AND service_id = 'signal' AND deactivated_at IS NULL", THREE_SERVICES))
                .containsEntry("external_id", "sig-60").containsEntry("access_token", "t-60");
        assertThat(activeIntegrations(THREE_SERVICES)).isEqualTo(4);

        Response unlinked = patch(THREE_SERVICES, "{\"integrations\":{\"signal\":null}}");
        assertThat(unlinked.statusCode()).isEqualTo(200);
        assertThat(sql.row("main", "SELECT num_nonnulls(signal_access_token, signal_refresh_token, signal_client_id, signal_granted_scopes, "
                + "signal_auth_code, signal_external_id, signal_linked_at) AS n FROM users WHERE id = $1", THREE_SERVICES)).containsEntry("n", 0);
        assertThat(activeIntegrations(THREE_SERVICES)).isEqualTo(3);
        // unlinking keeps the integration, deactivated (soft delete)
        assertThat(sql.count("main", "SELECT count(*) FROM accounts.user_integrations WHERE user_id = $1 AND service_id = 'signal' "
                + "AND deactivated_at IS NOT NULL", THREE_SERVICES)).isEqualTo(1);
        // linking again makes a new active row beside the deactivated one
        assertThat(patch(THREE_SERVICES, "{\"integrations\":{\"signal\":{\"external_id\":\"sig-60b\"}}}").statusCode()).isEqualTo(200);
        assertThat(sql.count("main", "SELECT count(*) FROM accounts.user_integrations WHERE user_id = $1 AND service_id = 'signal'",
                THREE_SERVICES)).isEqualTo(2);
        assertThat(sql.outbox("users")).isZero();
        // an unknown service is refused by the new store's constraint, and nothing is written anywhere
        Response bad = patch(THREE_SERVICES, "{\"integrations\":{\"myspace\":{\"external_id\":\"x\"}}}");
        assertThat(bad.statusCode()).as(bad.asString()).isEqualTo(400);
        assertThat(bad.jsonPath().getString("field")).isEqualTo("integrations");
        assertThat(user(THREE_SERVICES, "legacy").getMap("integrations")).doesNotContainKey("myspace");
    }

    @Test
    void backfillWithConcurrentLinkAndUnlinkTrafficVerifiesClean() throws Exception {
        assertThat(given().post("/admin/migrations/users/preflight").jsonPath().getLong("find { it.name == 'incomplete_oauth_flows' }.problemRows"))
                .isEqualTo(sql.count("main", "SELECT count(*) FROM users WHERE gmail_auth_code IS NOT NULL AND gmail_linked_at IS NULL"))
                .isPositive();
        Flags.stage("users", Stage.DUAL_WRITE);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        long users = sql.count("main", "SELECT count(*) FROM users");
        for (int t = 0; t < 4; t++) {
            String service = List.of("gmail", "calendar", "signal", "whatsapp").get(t);
            clients.add(CompletableFuture.runAsync(() -> {
                while (!stop.get()) {
                    long id = 1 + ThreadLocalRandom.current().nextLong(users);
                    String body = ThreadLocalRandom.current().nextBoolean()
                            ? "{\"integrations\":{\"" + service + "\":{\"external_id\":\"" + service + "-" + id + "-x\",\"access_token\":\"tok\"}}}"
                            : "{\"integrations\":{\"" + service + "\":null}}";
                    Response r = patch(id, body);
                    if (r.statusCode() == 200) ok.incrementAndGet();
                    else failures.add(r.statusCode() + " " + r.asString());
                }
            }));
        }
        Response started = given().contentType(ContentType.JSON).body("{\"chunkSize\":2000,\"rowsPerSecond\":15000}")
                .post("/admin/migrations/users/backfill");
        assertThat(started.statusCode()).isEqualTo(202);
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200)).until(() ->
                !List.of("running", "throttled").contains(given().get("/admin/migrations/users/backfill").jsonPath().getString("state")));
        stop.set(true);
        CompletableFuture.allOf(clients.toArray(new CompletableFuture[0])).join();
        assertThat(failures).isEmpty();
        assertThat(ok.get()).as("link and unlink writes during the backfill").isGreaterThan(20);
        JsonPath verified = verify();
        assertThat(verified.getInt("missing") + verified.getInt("extra") + verified.getInt("different")).as(verified.prettify()).isZero();
        assertThat(verified.getBoolean("clean")).isTrue();
        // both shapes hold the same integrations: every linked service of a wide row is one active row
        long linked = sql.count("main", "SELECT sum(num_nonnulls(gmail_linked_at, calendar_linked_at, telegram_linked_at, signal_linked_at, "
                + "whatsapp_linked_at)) FROM users");
        assertThat(sql.count("main", "SELECT count(*) FROM accounts.user_integrations WHERE deactivated_at IS NULL")).isEqualTo(linked);
        assertThat(sql.count("main", "SELECT count(*) FROM accounts.users")).isEqualTo(users);
        // incomplete OAuth flows are not integrations, and no write removed them from the legacy rows
        assertThat(sql.count("main", "SELECT count(*) FROM accounts.user_integrations i JOIN users u ON u.id = i.user_id "
                + "WHERE i.service_id = 'gmail' AND u.gmail_linked_at IS NULL AND i.deactivated_at IS NULL")).isZero();
    }

    @Test
    void rollbackFromLiveToLegacyRestoresTheWideRowsIncludingWhatWasLinkedWhileLive() {
        long linkAt = 2;     // nothing linked but... 2 % 3, 4, 5, 7, 11 != 0: no integration
        long unlinkAt = 33;  // gmail (33 % 3) and whatsapp (33 % 11)
        String others = "SELECT md5(string_agg(u::text, '|' ORDER BY id)) AS h FROM users u WHERE id NOT IN (2, 33, 14)";
        Object before = sql.row("main", others).get("h");
        Map<String, Object> incomplete = sql.row("main", "SELECT gmail_auth_code, gmail_granted_scopes FROM users WHERE id = $1", INCOMPLETE_FLOW);
        assertThat(incomplete.get("gmail_auth_code")).isNotNull();

        Flags.stage("users", Stage.DUAL_WRITE);
        backfill();
        Flags.stage("users", Stage.SHADOW);
        Flags.stage("users", Stage.LIVE);
        assertThat(patch(linkAt, "{\"integrations\":{\"whatsapp\":{\"external_id\":\"+15550000002\",\"linked_at\":\"2026-01-02T03:04:05.000006Z\"}}}")
                .statusCode()).isEqualTo(200);
        assertThat(patch(unlinkAt, "{\"integrations\":{\"gmail\":null}}").statusCode()).isEqualTo(200);
        assertThat(patch(INCOMPLETE_FLOW, "{\"display_name\":\"Renamed while live\"}").statusCode()).isEqualTo(200);
        // at live the new shape is authoritative: the writes went there first
        assertThat(activeIntegrations(linkAt)).isEqualTo(1);

        for (Stage s : List.of(Stage.SHADOW, Stage.DUAL_WRITE, Stage.LEGACY)) Flags.stage("users", s);
        assertThat(sql.row("main", others).get("h")).as("every other wide row, byte for byte").isEqualTo(before);
        assertThat(sql.row("main", "SELECT whatsapp_external_id, whatsapp_linked_at::text AS at FROM users WHERE id = $1", linkAt))
                .containsEntry("whatsapp_external_id", "+15550000002").containsEntry("at", "2026-01-02 03:04:05.000006+00");
        assertThat(sql.row("main", "SELECT num_nonnulls(gmail_access_token, gmail_refresh_token, gmail_client_id, gmail_granted_scopes, "
                + "gmail_auth_code, gmail_external_id, gmail_linked_at) AS n, whatsapp_linked_at IS NOT NULL AS w FROM users WHERE id = $1", unlinkAt))
                .containsEntry("n", 0).containsEntry("w", true);
        Map<String, Object> after = sql.row("main", "SELECT display_name, gmail_auth_code, gmail_granted_scopes FROM users WHERE id = $1",
                INCOMPLETE_FLOW);
        assertThat(after).containsEntry("display_name", "Renamed while live")
                .containsEntry("gmail_auth_code", incomplete.get("gmail_auth_code"))
                .containsEntry("gmail_granted_scopes", incomplete.get("gmail_granted_scopes"));
        assertThat(user(linkAt, "legacy").getMap("integrations")).containsOnlyKeys("whatsapp");
    }
}
