package io.turnout.flags;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The offline flag file: edits apply without a restart; anything that names no stage means legacy. */
@QuarkusTest
class FlagFileTest {

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
    void unknownVariantMeansLegacy() {
        Flags.stage("connections", Stage.LIVE);
        Flags.variant("connections", "warp_speed", true);
        Flags.awaitStage("connections", Stage.LEGACY);
        assertThat(given().get("/data/connections/1").header("X-Turnout-Origin")).isEqualTo("legacy");
    }

    @Test
    void disabledFlagMeansLegacy() {
        Flags.stage("connections", Stage.LIVE);
        Flags.variant("connections", "live", false);
        Flags.awaitStage("connections", Stage.LEGACY);
    }

    @Test
    void missingFlagMeansLegacy() {
        Flags.stage("connections", Stage.COMPLETE);
        Flags.remove("connections");
        Flags.awaitStage("connections", Stage.LEGACY);
    }
}
