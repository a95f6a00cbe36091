package io.turnout.flags;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.UnleashServer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Stage flags served by a real Unleash server: Turnout follows every change at its polling interval. */
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

    private static String strategy(String stage) {
        return "{\"name\":\"flexibleRollout\",\"parameters\":{\"rollout\":\"100\",\"stickiness\":\"default\",\"groupId\":\"" + FLAG
                + "\"},\"variants\":[{\"name\":\"" + stage + "\",\"weight\":1000,\"weightType\":\"variable\",\"stickiness\":\"default\"}]}";
    }

    @Test
    void followsTheServerThroughStagesAndBack() {
        Flags.awaitStage("connections", Stage.LEGACY);
        assertThat(given().get("/data/connections/1").header("X-Turnout-Origin")).isEqualTo("legacy");

        UnleashServer.admin("POST", "/projects/default/features", "{\"name\":\"" + FLAG + "\",\"type\":\"release\"}");
        String id = JsonPath.from(UnleashServer.admin("POST", STRATEGIES, strategy("shadow"))).getString("id");
        UnleashServer.admin("POST", FEATURE + "/environments/development/on", null);
        Flags.awaitStage("connections", Stage.SHADOW);
        var read = given().get("/data/connections/1");
        assertThat(read.header("X-Turnout-Stage")).isEqualTo("shadow");
        assertThat(read.header("X-Turnout-Origin")).isEqualTo("legacy");

        UnleashServer.admin("PUT", STRATEGIES + "/" + id, strategy("live"));
        Flags.awaitStage("connections", Stage.LIVE);
        assertThat(given().get("/data/connections/1").header("X-Turnout-Origin")).isEqualTo("new");

        // a variant that names no stage, or a disabled flag, changes nothing: the stage holds
        UnleashServer.admin("PUT", STRATEGIES + "/" + id, strategy("not_a_stage"));
        awaitFlagProblem("connections", "names no stage");
        assertThat(given().get("/data/connections/1").header("X-Turnout-Origin")).isEqualTo("new");

        UnleashServer.admin("PUT", STRATEGIES + "/" + id, strategy("complete"));
        Flags.awaitStage("connections", Stage.COMPLETE);
        UnleashServer.admin("POST", FEATURE + "/environments/development/off", null);
        awaitFlagProblem("connections", "is disabled");
        Flags.awaitStage("connections", Stage.COMPLETE);

        // a domain whose flag the server does not have holds its applied stage, and says why
        assertThat(given().get("/data").jsonPath().getList("domains", Map.class))
                .filteredOn(d -> d.get("name").equals("messages")).singleElement()
                .satisfies(d -> assertThat((String) d.get("flagProblem")).isEqualTo("is missing"));

        UnleashServer.admin("PUT", STRATEGIES + "/" + id, strategy("legacy"));
        UnleashServer.admin("POST", FEATURE + "/environments/development/on", null);
        Flags.awaitStage("connections", Stage.LEGACY);
    }

    private static void awaitFlagProblem(String domain, String problem) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).pollInterval(java.time.Duration.ofMillis(100))
                .until(() -> String.valueOf(given().get("/data").jsonPath().getString("domains.find { it.name == '" + domain + "' }.flagProblem"))
                        .contains(problem));
    }
}
