package io.turnout.flags;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.turnout.db.Databases;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Metrics;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The offline flag file: edits apply without a restart; a flag that is missing, disabled, names no
 * stage, or a file that is not JSON, changes nothing: the applied stage holds, and the problem is
 * shown (GET /data, readiness data, turnout_stage_desired = -1) until the flag names a stage again.
 */
@QuarkusTest
class FlagFileTest {

    @Inject
    Databases databases;

    @AfterEach
    void backToLegacy() {
        Flags.stage("connections", Stage.LEGACY);
    }

    @Test
    void editingTheFileChangesTheStageWithoutRestart() {
        Flags.stage("connections", Stage.SHADOW);
        assertThat(given().get("/data/connections/1").header("X-Turnout-Stage")).isEqualTo("shadow");
        Flags.stage("connections", Stage.RAMPDOWN);
        assertThat(given().get("/data/connections/1").header("X-Turnout-Origin")).isEqualTo("new");
    }

    @Test
    void unknownVariantHoldsTheStage() {
        Flags.stage("connections", Stage.LIVE);
        Flags.variant("connections", "compleet", true);
        assertHeld(Stage.LIVE, "has variant 'compleet', which names no stage");
    }

    @Test
    void disabledFlagHoldsTheStage() {
        Flags.stage("connections", Stage.LIVE);
        Flags.variant("connections", "live", false);
        assertHeld(Stage.LIVE, "is disabled");
    }

    @Test
    void missingFlagHoldsTheStage() {
        Flags.stage("connections", Stage.COMPLETE);
        Flags.remove("connections");
        assertHeld(Stage.COMPLETE, "is missing");
    }

    private void assertHeld(Stage stage, String problem) {
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> given().get("/data").jsonPath()
                .getString("domains.find { it.name == 'connections' }.flagProblem") != null);
        assertThat(given().get("/data").jsonPath().getString("domains.find { it.name == 'connections' }.flagProblem")).contains(problem);
        assertThat(stageOf("connections")).isEqualTo(stage.label());
        assertThat(given().get("/data/connections/1").header("X-Turnout-Stage")).isEqualTo(stage.label());
        assertThat(new Sql(databases).row("main", "SELECT applied FROM turnout_stage WHERE domain = 'connections'"))
                .isEqualTo(Map.of("applied", stage.label()));
        assertThat(Metrics.value("turnout_stage_desired", "domain", "connections")).isEqualTo(-1.0);
        assertThat(Metrics.value("turnout_stage_applied", "domain", "connections")).isEqualTo(stage.ordinal());
        io.turnout.support.Management.given().get("/q/health/ready").then().statusCode(200);
        assertThat(io.turnout.support.Management.given().get("/q/health/ready").asString()).contains("flag:connections");
    }

    private static String stageOf(String domain) {
        return given().get("/data").jsonPath().getString("domains.find { it.name == '" + domain + "' }.stage");
    }
}
