package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.turnout.support.TurnoutProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Stage control in a real Turnout process on its durable embedded default: a jump in the flag is
 * taken one gate at a time, a rollback from complete hides no record, and a restart while Unleash
 * cannot be reached routes by the recorded stage. Every read is compared and 20 comparisons are
 * enough for the shadow gate, so a test's own reads can pass it.
 */
class StageControlIT {
    private static final Map<String, String> ENV = Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000",
            "TURNOUT_DOMAINS_CONNECTIONS_SHADOW_SAMPLE_RATE", "1", "TURNOUT_DOMAINS_MESSAGES_SHADOW_SAMPLE_RATE", "1",
            "TURNOUT_DOMAINS_CONNECTIONS_GATES_MIN_SHADOW_COMPARISONS", "20", "TURNOUT_DOMAINS_MESSAGES_GATES_MIN_SHADOW_COMPARISONS", "20");

    private TurnoutProcess turnout;

    @AfterEach
    void stop() {
        if (turnout != null) turnout.close();
    }

    /** The flag jumps from legacy to complete: each step waits for its own gate, and every hold says which. */
    @ParameterizedTest
    @ValueSource(strings = {"connections", "messages"})
    void aJumpAdvancesOnlyAsEachGatePasses(String domain) throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-jump-" + domain), TurnoutProcess.flagsAt("legacy"), ENV).start();
        TurnoutProcess.requestStage(domain, "complete", "jump ahead");
        TurnoutProcess.awaitApplied(domain, "dual_write");
        awaitHeldBy(domain, "backfill");
        JsonPath view = given().get("/admin/migrations/" + domain).jsonPath();
        assertThat(view.getString("desired")).isEqualTo("complete");
        assertThat(view.getString("nextStep.to")).isEqualTo("shadow");
        assertThat(view.getString("nextStep.heldSince")).isNotNull();
        assertThat(metric("turnout_stage_held", domain, "gate=\"backfill\"")).isEqualTo(1.0);

        given().contentType(ContentType.JSON).body("{}").post("/admin/migrations/" + domain + "/backfill").then().statusCode(202);
        TurnoutProcess.awaitApplied(domain, "shadow");
        awaitHeldBy(domain, "verification");
        assertThat(given().get("/admin/migrations/" + domain).jsonPath().getList("nextStep.heldBy", String.class))
                .contains("verification", "shadow_comparisons");

        verify(domain);
        awaitHeldBy(domain, "shadow_comparisons");
        assertThat(TurnoutProcess.applied(domain)).as("a clean verification alone is not enough").isEqualTo("shadow");
        for (int i = 1; i <= 40; i++) given().get("/data/" + domain + "/" + i).then().statusCode(200);
        TurnoutProcess.awaitApplied(domain, "complete");

        JsonPath audit = given().get("/admin/audit?domain=" + domain + "&limit=1000").jsonPath();
        assertThat(audit.getList("entries.findAll { it.action == 'applied' }.to", String.class))
                .containsExactly("dual_write", "shadow", "live", "rampdown", "complete");
        assertThat(audit.getList("entries.findAll { it.action == 'held' }.detail.collect { it.keySet() }.flatten()", String.class))
                .contains("backfill", "verification", "shadow_comparisons");
        assertThat(audit.getList("entries.findAll { it.action == 'stage-requested' }.reason", String.class)).containsExactly("jump ahead");
        assertThat(audit.getList("entries.findAll { it.action == 'desired' }.to", String.class)).endsWith("complete");
        assertThat(turnout.query("main", "SELECT applied FROM turnout_stage WHERE domain = '" + domain + "'")).isEqualTo("complete");
        assertThat(metric("turnout_stage_applied", domain, "")).isEqualTo(5.0);
    }

    /**
     * The reproduction: a record written at complete lives in the new store only. The flag is set
     * to legacy; the record stays readable at every moment, the domain goes to rampdown at once and
     * holds there until a reverse backfill and a clean verification, and reaches legacy with the
     * record in the legacy table.
     */
    @Test
    void rollbackFromCompleteHidesNoRecord() throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-rollback"), TurnoutProcess.flagsAt("legacy"), ENV).start();
        turnout.walkTo("messages", "complete");
        var created = given().contentType(ContentType.JSON).body(Map.of("sender_id", 5, "recipient_id", 6, "content", "written at complete"))
                .post("/data/messages");
        assertThat(created.statusCode()).isEqualTo(201);
        long id = created.jsonPath().getLong("id");
        assertThat(turnout.count("SELECT count(*) FROM direct_messages WHERE id = " + id)).isZero();

        AtomicBoolean done = new AtomicBoolean();
        CompletableFuture<List<Integer>> reads = CompletableFuture.supplyAsync(() -> {
            List<Integer> statuses = new ArrayList<>();
            while (!done.get()) statuses.add(given().get("/data/messages/" + id).statusCode());
            return statuses;
        });
        try {
            // as a release manager would by editing the file: the variant says legacy
            java.nio.file.Files.writeString(Path.of("target/it-rollback/flags.json"), TurnoutProcess.flagsAt("legacy"));
            TurnoutProcess.awaitApplied("messages", "rampdown");
            awaitHeldBy("messages", "reverse_backfill");
            assertThat(metric("turnout_stage_held", "messages", "gate=\"reverse_backfill\"")).isEqualTo(1.0);

            given().contentType(ContentType.JSON).body(Map.of("direction", "reverse")).post("/admin/migrations/messages/backfill")
                    .then().statusCode(202);
            await().atMost(Duration.ofSeconds(60)).until(() -> "done".equals(
                    given().get("/admin/migrations/messages/backfill?direction=reverse").jsonPath().getString("state")));
            awaitHeldBy("messages", "verification");
            assertThat(TurnoutProcess.applied("messages")).as("a reverse backfill alone is not enough").isEqualTo("rampdown");
            verify("messages");
            TurnoutProcess.awaitApplied("messages", "legacy");
        } finally {
            done.set(true);
        }
        assertThat(reads.join()).as("the record answered at every moment").isNotEmpty().containsOnly(200);
        assertThat(turnout.query("main", "SELECT body FROM direct_messages WHERE id = " + id)).isEqualTo("written at complete");
        JsonPath audit = given().get("/admin/audit?domain=messages&limit=1000").jsonPath();
        assertThat(audit.getList("entries.findAll { it.action == 'applied' }.to", String.class))
                .containsSubsequence("complete", "rampdown", "live", "shadow", "dual_write", "legacy");
        assertThat(audit.getList("entries.findAll { it.action == 'fence' }.reason", String.class)).containsOnly("switched");
    }

    /** Unleash cannot be reached and there is no backup file: the restarted process routes by the recorded stage. */
    @Test
    void aRestartWithoutFlagsRoutesByTheRecordedStage() throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-no-unleash"), TurnoutProcess.flagsAt("legacy"), ENV).start();
        turnout.walkTo("connections", "shadow");
        turnout.close();
        turnout.with("TURNOUT_FLAGS_UNLEASH_URL", "http://127.0.0.1:9/api")
                .with("TURNOUT_FLAGS_UNLEASH_BACKUP_FILE", "target/it-no-unleash/no-backup/unleash.json").start();
        var read = given().get("/data/connections/1");
        assertThat(read.header("X-Turnout-Stage")).isEqualTo("shadow");
        // the flag source's first answer (here: none) comes after readiness; the stage holds meanwhile and after
        await().atMost(Duration.ofSeconds(30)).until(() -> "is missing".equals(given().get("/data").jsonPath()
                .getString("domains.find { it.name == 'connections' }.flagProblem")));
        assertThat(given().get("/data/connections/1").header("X-Turnout-Stage")).isEqualTo("shadow");
        assertThat(given().get("/admin/migrations/connections").jsonPath().getString("desired")).isNull();
        io.turnout.support.Management.given().get("/q/health/ready").then().statusCode(200);
    }

    private static double metric(String name, String domain, String label) {
        double total = 0;
        for (String line : io.turnout.support.Management.given().get("/q/metrics").asString().split("\n")) {
            if (line.startsWith(name + "{") && line.contains("domain=\"" + domain + "\"") && line.contains(label)) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return total;
    }

    private static void verify(String domain) {
        long run = given().post("/admin/migrations/" + domain + "/verification").then().statusCode(202).extract().jsonPath().getLong("run");
        await().atMost(Duration.ofSeconds(60)).until(() -> "done".equals(
                given().get("/admin/migrations/" + domain + "/verification/" + run).jsonPath().getString("state")));
        assertThat(given().get("/admin/migrations/" + domain + "/verification/" + run).jsonPath().getBoolean("clean")).isTrue();
    }

    private static void awaitHeldBy(String domain, String gate) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> given().get("/admin/migrations/" + domain).jsonPath().getList("nextStep.heldBy", String.class),
                        held -> held != null && held.contains(gate));
    }
}
