package io.turnout.routing;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.store.Origin;
import io.turnout.support.Flags;
import io.turnout.support.Metrics;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Shadow comparisons worth gating on: a difference is read again before it counts, so one a write
 * resolves meanwhile is transient and one that stays is confirmed, kept by key and field names.
 * (Moving between stages is proven on a real process in StageControlIT and FenceIT.)
 */
@QuarkusTest
@TestProfile(ShadowConfirmationTest.EveryRead.class)
class ShadowConfirmationTest {

    public static class EveryRead implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("turnout.domains.connections.shadow-sample-rate", "1",
                    "turnout.domains.messages.shadow-sample-rate", "1",
                    "turnout.stages.shadow-confirm-delay", "1s");
        }
    }

    @Inject
    Databases databases;

    @Inject
    Domains domains;

    @Inject
    ShadowReads shadowReads;

    @Inject
    ShadowStats stats;

    @AfterEach
    void backToLegacy() {
        Flags.stage("connections", Stage.LEGACY);
        Flags.stage("messages", Stage.LEGACY);
    }

    /** A difference put into the new store behind Turnout's back is confirmed, and kept by key and field name only. */
    @Test
    void anInjectedDifferenceIsConfirmed() {
        Sql sql = new Sql(databases);
        Flags.stage("connections", Stage.SHADOW);
        long id = given().contentType(ContentType.JSON).body(Map.of("user_id", 31, "connected_user_id", 32, "status", "pending"))
                .post("/data/connections").then().statusCode(201).extract().jsonPath().getLong("id");
        sql.exec("main", "UPDATE company_connections SET status = 'tampered' WHERE id = " + id);
        double confirmed = shadow("connections", "mismatch");
        given().get("/data/connections/" + id).then().statusCode(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> shadow("connections", "mismatch") == confirmed + 1);

        // kept at most a second after it is counted (ShadowStats.KEEP_SPACING)
        await().atMost(Duration.ofSeconds(5)).until(() -> String.valueOf(id).equals(
                given().get("/admin/migrations/connections/shadow").jsonPath().getString("confirmedMismatches[0].key")));
        JsonPath kept = given().get("/admin/migrations/connections/shadow").jsonPath();
        assertThat(kept.getList("confirmedMismatches[0].fields", String.class)).containsExactly("status");
        assertThat(given().get("/admin/migrations/connections/shadow").asString()).doesNotContain("tampered");
        await().atMost(Duration.ofSeconds(5)).until(() -> given().get("/admin/migrations/connections").jsonPath()
                .getInt("shadow.confirmedMismatches") >= 1);

        // the minute's comparisons are kept for the console's chart, as counted in the stage row
        await().atMost(Duration.ofSeconds(5)).until(() -> sql.count("main",
                "SELECT coalesce(sum(confirmed), 0) FROM turnout_shadow_history WHERE domain = 'connections' AND stage = 'shadow'") >= 1);
        JsonPath history = given().get("/admin/migrations/connections/shadow").jsonPath();
        List<Map<String, Object>> minutes = history.getList("history.findAll { it.stage == 'shadow' }");
        assertThat(minutes).isNotEmpty();
        assertThat(minutes.stream().mapToLong(m -> ((Number) m.get("confirmed")).longValue()).sum())
                .isEqualTo(sql.count("main", "SELECT sum(confirmed) FROM turnout_shadow_history WHERE domain = 'connections' AND stage = 'shadow' "
                        + "AND minute >= date_trunc('minute', now()) - interval '59 minutes'"));
        assertThat(minutes.stream().mapToLong(m -> ((Number) m.get("compared")).longValue()).sum()).isGreaterThanOrEqualTo(1);
    }

    /** A difference that a client write resolves while the comparison waits to confirm it is transient, not a mismatch. */
    @Test
    void aDifferenceAWriteResolvesIsTransient() {
        Sql sql = new Sql(databases);
        Flags.stage("connections", Stage.SHADOW);
        long id = given().contentType(ContentType.JSON).body(Map.of("user_id", 33, "connected_user_id", 34, "status", "pending"))
                .post("/data/connections").then().statusCode(201).extract().jsonPath().getLong("id");
        // the legacy row changes as a write in flight would leave it, before the new store follows
        sql.exec("main", "UPDATE user_connections SET status = 'accepted' WHERE id = " + id);
        double confirmed = shadow("connections", "mismatch");
        double transients = shadow("connections", "transient");
        given().get("/data/connections/" + id).then().statusCode(200);
        given().contentType(ContentType.JSON).body(Map.of("status", "blocked")).patch("/data/connections/" + id).then().statusCode(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> shadow("connections", "transient") >= transients + 1);
        assertThat(shadow("connections", "mismatch")).isEqualTo(confirmed);
    }

    /**
     * Samples taken while a comparison reads the other store wait and are read together in the
     * next statement, and each is still classified on its own: the matching ones count as matches,
     * the three the new store differs in are confirmed.
     */
    @Test
    void samplesTakenWhileAComparisonReadsAreReadTogetherAndEachIsClassified() throws Exception {
        Sql sql = new Sql(databases);
        Flags.stage("connections", Stage.SHADOW);
        List<Object> ids = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            ids.add(given().contentType(ContentType.JSON).body(Map.of("user_id", 40 + i, "connected_user_id", 41, "status", "pending"))
                    .post("/data/connections").then().statusCode(201).extract().jsonPath().getLong("id"));
        }
        List<Object> tampered = ids.subList(0, 3);
        for (Object id : tampered) sql.exec("main", "UPDATE company_connections SET status = 'tampered' WHERE id = " + id);
        Domain connections = domains.find("connections").orElseThrow();
        Origin legacy = connections.origin(Side.LEGACY);
        WatchedOrigin newStore = new WatchedOrigin(connections.origin(Side.NEW));
        Map<Object, Record> served = new java.util.HashMap<>();
        for (Record r : legacy.getAll(ids).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)) served.put(r.get("id"), r);
        assertThat(served).hasSize(ids.size());
        double matched = shadow("connections", "match");
        double confirmed = shadow("connections", "mismatch");

        for (Object id : ids) shadowReads.compare(connections, id, served.get(id), newStore, legacy);

        await().atMost(Duration.ofSeconds(10)).until(() -> shadow("connections", "mismatch") == confirmed + 3);
        assertThat(shadow("connections", "match")).isEqualTo(matched + 57);
        // each sample's key once, and the three that differed once more when their difference was confirmed
        assertThat(newStore.reads.stream().mapToInt(Integer::intValue).sum()).as("keys read from the new store").isEqualTo(63);
        assertThat(newStore.reads.size()).as("statements for 60 samples, keys per statement: %s", newStore.reads).isLessThan(30);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(given().get("/admin/migrations/connections/shadow").jsonPath()
                .getList("confirmedMismatches.key", String.class)).containsAll(tampered.stream().map(String::valueOf).toList()));
        await().atMost(Duration.ofSeconds(5)).until(() -> shadowReads.inFlight() == 0);
    }

    /**
     * A store that differs in every record confirms a mismatch on every sampled read. They are kept
     * a statement at a time per domain, with what was confirmed meanwhile: a burst of five times
     * {@link ShadowStats#KEPT} writes about the newest {@code KEPT} rows, not one durable write per
     * mismatch into the control database, and the newest are the ones kept, newest first.
     */
    @Test
    void aBurstOfConfirmedMismatchesIsKeptNewestFirstInAFewStatements() {
        Sql sql = new Sql(databases);
        Domain connections = domains.find("connections").orElseThrow();
        long before = sql.count("main", "SELECT coalesce(max(id), 0) FROM turnout_shadow_mismatch");
        int burst = 5 * ShadowStats.KEPT;
        for (int i = 0; i < burst; i++) stats.confirmed(connections, Stage.SHADOW, "burst-" + i, List.of("status", "company_id"));

        String newest = "burst-" + (burst - 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> sql.count("main",
                "SELECT count(*) FROM turnout_shadow_mismatch WHERE domain = 'connections' AND record_key = $1", newest) == 1);
        long written = sql.count("main", "SELECT max(id) FROM turnout_shadow_mismatch") - before;
        assertThat(written).as("rows written for %d confirmed mismatches", burst).isLessThanOrEqualTo(2L * ShadowStats.KEPT);
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_shadow_mismatch WHERE domain = 'connections'"))
                .as("rows kept").isEqualTo(ShadowStats.KEPT);
        JsonPath kept = given().get("/admin/migrations/connections/shadow").jsonPath();
        List<String> expected = new ArrayList<>();
        for (int i = burst - 1; i >= burst - ShadowStats.KEPT; i--) expected.add("burst-" + i);
        assertThat(kept.getList("confirmedMismatches.key", String.class)).containsExactlyElementsOf(expected);
        assertThat(kept.getList("confirmedMismatches[0].fields", String.class)).containsExactly("status", "company_id");
        assertThat(kept.getString("confirmedMismatches[0].stage")).isEqualTo("shadow");
    }

    private static double shadow(String domain, String result) {
        return Math.max(0, Metrics.sum("turnout_shadow_reads_total", "domain=\"" + domain + "\"", "result=\"" + result + "\""));
    }
}
