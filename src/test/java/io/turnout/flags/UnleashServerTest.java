package io.turnout.flags;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Metrics;
import io.turnout.support.UnleashServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Stage flags served by a real Unleash server: the stage API writes the desired stage through
 * Unleash's admin API, Turnout follows it step by step at its polling interval, and a flag that
 * names no stage, is disabled or is missing changes nothing.
 */
@QuarkusTest
@TestProfile(UnleashServerTest.WithUnleash.class)
class UnleashServerTest {
    private static final String FLAG = "turnout.connections.stage";
    private static final String FEATURE = "/projects/default/features/" + FLAG;
    private static final String STRATEGIES = FEATURE + "/environments/development/strategies";

    public static class WithUnleash implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(UnleashServer.class));
        }
    }

    @Test
    void theStageApiSetsTheFlagInUnleashAndTurnoutFollowsItStepByStep() {
        Flags.awaitStage("connections", Stage.LEGACY);
        assertThat(given().get("/data/connections/1").header("X-Turnout-Origin")).isEqualTo("legacy");

        // the flag does not exist yet: the stage API creates it in Unleash, turns it on and names the stage
        request("dual_write", "start dual writes").then().statusCode(202);
        assertThat(variantInUnleash()).isEqualTo("dual_write");
        Flags.awaitStage("connections", Stage.DUAL_WRITE);

        // a jump to complete: one step at a time, held at the first gate that fails
        request("complete", "jump ahead").then().statusCode(202);
        assertThat(variantInUnleash()).isEqualTo("complete");
        awaitHeldBy("backfill");
        assertThat(given().get("/data/connections/1").header("X-Turnout-Stage")).isEqualTo("dual_write");
        assertThat(Metrics.sum("turnout_stage_held", "domain=\"connections\"", "gate=\"backfill\"")).isEqualTo(1.0);
        assertThat(Metrics.value("turnout_stage_desired", "domain", "connections")).isEqualTo(Stage.COMPLETE.ordinal());

        // a variant that names no stage, or a disabled flag, changes nothing: the stage holds
        String id = JsonPath.from(UnleashServer.admin("GET", STRATEGIES, null)).getString("[0].id");
        UnleashServer.admin("PUT", STRATEGIES + "/" + id, strategy("not_a_stage"));
        awaitFlagProblem("connections", "names no stage");
        assertThat(given().get("/data/connections/1").header("X-Turnout-Stage")).isEqualTo("dual_write");
        UnleashServer.admin("POST", FEATURE + "/environments/development/off", null);
        awaitFlagProblem("connections", "is disabled");
        assertThat(given().get("/data/connections/1").header("X-Turnout-Stage")).isEqualTo("dual_write");
        assertThat(Metrics.value("turnout_stage_desired", "domain", "connections")).isEqualTo(-1.0);

        // a domain whose flag the server does not have holds its applied stage, and says why
        assertThat(given().get("/data").jsonPath().getList("domains", Map.class))
                .filteredOn(d -> d.get("name").equals("messages")).singleElement()
                .satisfies(d -> assertThat((String) d.get("flagProblem")).isEqualTo("is missing"));

        // back: the stage API turns the flag on again with the stage asked for
        request("legacy", "roll back").then().statusCode(202);
        Flags.awaitStage("connections", Stage.LEGACY);
        assertThat(variantInUnleash()).isEqualTo("legacy");
        assertThat(given().get("/admin/audit?domain=connections").jsonPath().getList("entries.findAll { it.action == 'stage-requested' }.reason"))
                .contains("start dual writes", "jump ahead", "roll back");
    }

    private static io.restassured.response.Response request(String target, String reason) {
        return given().contentType(ContentType.JSON).body(Map.of("target", target, "reason", reason))
                .post("/admin/migrations/connections/stage");
    }

    private static String variantInUnleash() {
        JsonPath feature = JsonPath.from(UnleashServer.admin("GET", FEATURE, null));
        assertThat(feature.getBoolean("environments.find { it.name == 'development' }.enabled")).isTrue();
        return JsonPath.from(UnleashServer.admin("GET", STRATEGIES, null)).getString("[0].variants[0].name");
    }

    private static String strategy(String stage) {
        return "{\"name\":\"flexibleRollout\",\"parameters\":{\"rollout\":\"100\",\"stickiness\":\"default\",\"groupId\":\"" + FLAG
                + "\"},\"variants\":[{\"name\":\"" + stage + "\",\"weight\":1000,\"weightType\":\"variable\",\"stickiness\":\"default\"}]}";
    }

    private static void awaitHeldBy(String gate) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                .until(() -> given().get("/admin/migrations/connections").jsonPath().getList("nextStep.heldBy", String.class),
                        held -> held != null && held.contains(gate));
    }

    private static void awaitFlagProblem(String domain, String problem) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> String.valueOf(given().get("/data").jsonPath().getString("domains.find { it.name == '" + domain + "' }.flagProblem"))
                        .contains(problem));
    }
}
