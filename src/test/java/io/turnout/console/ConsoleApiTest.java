package io.turnout.console;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import io.turnout.support.TestKeys;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the console relies on besides the control API it shares with everyone: who am I, a step's gates before asking, the newest audit first. */
@QuarkusTest
class ConsoleApiTest {

    @Inject
    Databases databases;

    @AfterEach
    void restore() {
        Flags.stage("connections", Stage.LEGACY);
    }

    @Test
    void theCallerLearnsItsRolesAndWhatItMayDo() {
        JsonPath operator = given().header("Authorization", "Bearer " + TestKeys.OPERATOR).get("/admin/me").then().statusCode(200).extract().jsonPath();
        assertThat(operator.getString("name")).isEqualTo("ops");
        assertThat(operator.getList("roles")).containsExactly("operator");
        assertThat(operator.getBoolean("mayAct")).isFalse();
        assertThat(operator.getBoolean("mayApprove")).isFalse();
        JsonPath suite = given().header("Authorization", "Bearer " + TestKeys.SUITE).get("/admin/me").jsonPath();
        assertThat(suite.getList("roles")).containsExactly("operator", "release-manager", "approver");
        assertThat(suite.getBoolean("mayAct")).isTrue();
        assertThat(suite.getList("grants")).contains("*:read", "*:write");
        // an application key has no control role: it learns nothing here
        assertThat(given().header("Authorization", "Bearer " + TestKeys.APP_CONNECTIONS).get("/admin/me").statusCode()).isEqualTo(403);
        assertThat(given().header("Authorization", "").get("/admin/me").statusCode()).isEqualTo(401);
    }

    @Test
    void aStepsGatesAreEvaluatedWithoutChangingAnything() {
        Sql sql = new Sql(databases);
        Flags.stage("connections", Stage.DUAL_WRITE);
        sql.exec("main", "TRUNCATE company_connections");
        long audited = sql.count("main", "SELECT count(*) FROM turnout_audit");
        JsonPath toLive = given().get("/admin/migrations/connections/gates?target=live").then().statusCode(200).extract().jsonPath();
        // one step at a time: toward live, the next step is to shadow
        assertThat(toLive.getString("step.from")).isEqualTo("dual_write");
        assertThat(toLive.getString("step.to")).isEqualTo("shadow");
        assertThat(toLive.getBoolean("step.ready")).isFalse();
        assertThat(toLive.getList("step.gates.findAll { !it.pass }.name")).contains("backfill");
        JsonPath back = given().get("/admin/migrations/connections/gates?target=legacy").jsonPath();
        assertThat(back.getString("step.direction")).isEqualTo("backward");
        assertThat(given().get("/admin/migrations/connections/gates?target=dual_write").jsonPath().getMap("step")).isNull();
        assertThat(sql.row("main", "SELECT applied, desired FROM turnout_stage WHERE domain = 'connections'"))
                .isEqualTo(Map.of("applied", "dual_write", "desired", "dual_write"));
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_audit")).as("nothing audited").isEqualTo(audited);

        Response bad = given().get("/admin/migrations/connections/gates?target=sideways");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.contentType()).startsWith("application/problem+json");
        assertThat(bad.jsonPath().getString("field")).isEqualTo("target");
        assertThat(given().get("/admin/migrations/connections/gates").jsonPath().getString("field")).isEqualTo("target");
    }

    @Test
    void theAuditReadsNewestFirstAPageAtATime() {
        for (String reason : List.of("first of three", "second of three", "third of three")) {
            given().contentType(ContentType.JSON).body(Map.of("target", "legacy", "reason", reason))
                    .post("/admin/migrations/connections/stage").then().statusCode(202);
        }
        JsonPath page = given().get("/admin/audit?domain=connections&order=newest&limit=2").then().statusCode(200).extract().jsonPath();
        List<Long> ids = page.getList("entries.id", Long.class);
        assertThat(ids).hasSize(2).isSortedAccordingTo((a, b) -> Long.compare(b, a));
        assertThat(page.getList("entries.reason")).containsExactly("third of three", "second of three");
        JsonPath next = given().get("/admin/audit?domain=connections&order=newest&limit=2&after=" + page.getString("next")).jsonPath();
        assertThat(next.getString("entries[0].reason")).isEqualTo("first of three");
        assertThat(next.getLong("entries[0].id")).isLessThan(ids.get(1));
        Response bad = given().get("/admin/audit?order=sideways");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.jsonPath().getString("field")).isEqualTo("order");
    }

    @Test
    void thePageHoldsNoDataAndLoadsOnlyItsOwnAssets() {
        Response page = given().header("Authorization", "").get("/console/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        assertThat(page.header("Content-Security-Policy")).contains("default-src 'self'").contains("script-src 'self'").contains("frame-ancestors 'none'");
        assertThat(page.header("Cache-Control")).isEqualTo("no-cache");
        // revalidated, not fetched again, while it has not changed
        assertThat(given().header("Authorization", "").header("If-None-Match", page.header("ETag")).get("/console/").statusCode()).isEqualTo(304);
        assertThat(given().header("Authorization", "").get("/console/nothing-here.js").statusCode()).isEqualTo(404);
        assertThat(page.asString()).doesNotContain("connections").doesNotContain("http://").doesNotContain("https://");
        assertThat(given().header("Authorization", "").redirects().follow(false).get("/console").header("Location")).endsWith("/console/");
        assertThat(given().header("Authorization", "").get("/console/config.json").jsonPath().getString("auth")).isEqualTo("keys");
        for (String asset : List.of("console.js", "console.css")) {
            Response r = given().header("Authorization", "").get("/console/" + asset);
            assertThat(r.statusCode()).as(asset).isEqualTo(200);
            // the SVG namespace is a name, not something loaded
            assertThat(r.asString()).as(asset + " loads nothing from elsewhere").doesNotContainPattern("https?://(?!www\\.w3\\.org/2000/svg\")");
        }
    }
}
