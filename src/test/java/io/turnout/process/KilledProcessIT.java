package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.turnout.support.TurnoutProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged Turnout, killed with SIGKILL in the middle of a backfill and started again on the
 * same data directory: the embedded PostgreSQL it left running is stopped and restarted, the run
 * resumes from its checkpoints, the dead process's chunk is taken over, and the stores end equal.
 */
class KilledProcessIT {
    private TurnoutProcess turnout;

    @AfterEach
    void stop() {
        if (turnout != null) turnout.close();
    }

    @Test
    void backfillSurvivesKillDashNine() throws Exception {
        // a forward backfill runs while the new store takes every write and is not authoritative
        turnout = TurnoutProcess.in(Path.of("target/it-killed"), TurnoutProcess.flagsAt("dual_write"),
                Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "50000", "TURNOUT_BACKFILL_LEASE_DURATION", "2s")).start();

        long run = given().contentType(ContentType.JSON).body("{\"chunkSize\":500,\"rowsPerSecond\":10000}")
                .post("/admin/migrations/connections/backfill").then().statusCode(202).extract().jsonPath().getLong("run");
        await().atMost(Duration.ofSeconds(30)).until(() -> turnout.count("SELECT count(*) FROM turnout_backfill_chunk WHERE state = 'done'") >= 10);

        turnout.kill();
        long doneAtKill = turnout.count("SELECT count(*) FROM turnout_backfill_chunk WHERE state = 'done'");
        long rows = turnout.count("SELECT count(*) FROM user_connections");
        assertThat(doneAtKill).isLessThan(rows / 500);

        turnout.start();
        assertThat(turnout.log()).as("a restart routes by the recorded stage and reports no transition")
                .containsOnlyOnce("Domain connections: stage legacy -> dual_write");
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() ->
                given().get("/admin/migrations/connections/backfill").jsonPath().getString("state").equals("done"));

        assertThat(turnout.count("SELECT count(*) FROM turnout_backfill_chunk WHERE run_id = " + run + " AND state <> 'done'")).isZero();
        assertThat(turnout.count("SELECT sum(rows_copied) FROM turnout_backfill_chunk WHERE run_id = " + run))
                .as("every row in exactly one checkpointed chunk").isEqualTo(rows);
        assertThat(turnout.count("SELECT count(*) FROM company_connections")).isEqualTo(rows);

        long id = given().post("/admin/migrations/connections/verification").then().statusCode(202).extract().jsonPath().getLong("run");
        await().atMost(Duration.ofMinutes(1)).until(() ->
                !given().get("/admin/migrations/connections/verification/" + id).jsonPath().getString("state").equals("running"));
        JsonPath verified = given().get("/admin/migrations/connections/verification/" + id).jsonPath();
        assertThat(verified.getBoolean("clean")).as(verified.prettify()).isTrue();
    }
}
