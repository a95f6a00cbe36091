package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged Turnout, killed with SIGKILL in the middle of a backfill and started again on the
 * same data directory: the embedded PostgreSQL it left running is stopped and restarted, the run
 * resumes from its checkpoints, the dead process's chunk is taken over, and the stores end equal.
 */
class KilledProcessIT {
    private static final Path DATA = Path.of("target/it-killed");
    private Process turnout;
    private int pgPort;

    @AfterEach
    void stop() {
        if (turnout != null) {
            turnout.destroy();
            turnout.onExit().join();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private Process start(int httpPort) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("java", "-jar", "target/quarkus-app/quarkus-run.jar")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(DATA.resolve("turnout.log").toFile()));
        pb.environment().put("QUARKUS_HTTP_PORT", Integer.toString(httpPort));
        pb.environment().put("TURNOUT_EMBEDDED_DATA_DIRECTORY", DATA.resolve("pgdata").toString());
        pb.environment().put("TURNOUT_EMBEDDED_PORT", Integer.toString(pgPort));
        pb.environment().put("TURNOUT_EMBEDDED_DEMO_ROWS", "50000");
        pb.environment().put("TURNOUT_FLAGS_FILE", DATA.resolve("flags.json").toString());
        pb.environment().put("TURNOUT_BACKFILL_LEASE_DURATION", "2s");
        Process p = pb.start();
        RestAssured.port = httpPort;
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() -> {
            if (!p.isAlive()) throw new IllegalStateException("Turnout exited; see " + DATA.resolve("turnout.log"));
            try {
                return given().get("/q/health/ready").statusCode() == 200;
            } catch (Exception e) {
                return false;
            }
        });
        return p;
    }

    private long count(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://localhost:" + pgPort + "/main", "postgres", "");
                ResultSet r = c.createStatement().executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    @Test
    void backfillSurvivesKillDashNine() throws Exception {
        if (Files.exists(DATA)) {
            try (Stream<Path> files = Files.walk(DATA)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Files.createDirectories(DATA);
        // a forward backfill runs while the new store takes every write and is not authoritative
        Files.writeString(DATA.resolve("flags.json"), Files.readString(Path.of("flags/turnout-flags.json"))
                .replace("\"name\": \"legacy\"", "\"name\": \"dual_write\""));
        pgPort = freePort();
        turnout = start(freePort());

        long run = given().contentType(ContentType.JSON).body("{\"chunkSize\":500,\"rowsPerSecond\":10000}")
                .post("/admin/migrations/connections/backfill").then().statusCode(202).extract().jsonPath().getLong("run");
        await().atMost(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM turnout_backfill_chunk WHERE state = 'done'") >= 10);

        turnout.destroyForcibly().onExit().join();
        long doneAtKill = count("SELECT count(*) FROM turnout_backfill_chunk WHERE state = 'done'");
        long rows = count("SELECT count(*) FROM user_connections");
        assertThat(doneAtKill).isLessThan(rows / 500);

        turnout = start(freePort());
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() ->
                given().get("/admin/migrations/connections/backfill").jsonPath().getString("state").equals("done"));

        assertThat(count("SELECT count(*) FROM turnout_backfill_chunk WHERE run_id = " + run + " AND state <> 'done'")).isZero();
        assertThat(count("SELECT sum(rows_copied) FROM turnout_backfill_chunk WHERE run_id = " + run))
                .as("every row in exactly one checkpointed chunk").isEqualTo(rows);
        assertThat(count("SELECT count(*) FROM company_connections")).isEqualTo(rows);

        long id = given().post("/admin/migrations/connections/verification").then().statusCode(202).extract().jsonPath().getLong("run");
        await().atMost(Duration.ofMinutes(1)).until(() ->
                !given().get("/admin/migrations/connections/verification/" + id).jsonPath().getString("state").equals("running"));
        JsonPath verified = given().get("/admin/migrations/connections/verification/" + id).jsonPath();
        assertThat(verified.getBoolean("clean")).as(verified.prettify()).isTrue();
    }
}
