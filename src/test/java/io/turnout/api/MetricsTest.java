package io.turnout.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Metrics;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Requests are timed per domain, operation, serving store and outcome; the applied stage is a gauge. */
@QuarkusTest
class MetricsTest {

    @AfterEach
    void backToLegacy() {
        Flags.stage("connections", Stage.LEGACY);
    }

    private static double count(String operation, String origin, String outcome) {
        return Math.max(0, Metrics.sum("turnout_requests_seconds_count", "domain=\"connections\"",
                "operation=\"" + operation + "\"", "origin=\"" + origin + "\"", "outcome=\"" + outcome + "\""));
    }

    @Test
    void requestsAreCountedByOriginAndOutcome() {
        Flags.stage("connections", Stage.LIVE);
        double gets = count("get", "new", "not_found");
        double creates = count("create", "new", "success");
        double bad = count("create", "none", "client_error");

        long id = given().contentType(ContentType.JSON).body(Map.of("user_id", 1, "connected_user_id", 2))
                .post("/data/connections").jsonPath().getLong("id");
        given().get("/data/connections/123456789").then().statusCode(404);
        given().contentType(ContentType.JSON).body(Map.of("user_id", "x")).post("/data/connections").then().statusCode(400);

        assertThat(count("create", "new", "success")).isEqualTo(creates + 1);
        assertThat(count("get", "new", "not_found")).isEqualTo(gets + 1);
        assertThat(count("create", "none", "client_error")).isEqualTo(bad + 1);
        assertThat(Metrics.value("turnout_stage_applied", "domain", "connections")).isEqualTo(Stage.LIVE.ordinal());
        assertThat(Metrics.value("turnout_outbox_depth", "domain", "connections")).isZero();
        assertThat(Metrics.value("turnout_outbox_oldest_age_seconds", "domain", "connections")).isZero();
        given().delete("/data/connections/" + id).then().statusCode(204);
    }

    @Test
    void healthIsUp() {
        io.turnout.support.Management.given().get("/q/health/ready").then().statusCode(200);
        io.turnout.support.Management.given().get("/q/health/live").then().statusCode(200);
    }
}
