package io.turnout.routing;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.turnout.db.Databases;
import io.turnout.support.Flags;
import io.turnout.support.Metrics;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Shadow comparisons never delay a response and never pile up: with the other store hung (its
 * table locked), every sampled read still answers at once from the store the stage reads, at most
 * 64 comparisons wait (on a connection of their own, not the client reads'), the samples beyond
 * that are dropped and counted, and the waiting ones fail fast enough to be accounted for soon.
 */
@QuarkusTest
@TestProfile(ShadowConfirmationTest.EveryRead.class)
class ShadowBoundTest {
    private static final int READS = 200;

    @Inject
    Databases databases;

    private static double results(String result) {
        return Math.max(0, Metrics.sum("turnout_shadow_reads_total", "domain=\"connections\"", "result=\"" + result + "\""));
    }

    private static double allResults() {
        return List.of("match", "mismatch", "transient", "error", "dropped").stream().mapToDouble(ShadowBoundTest::results).sum();
    }

    @Test
    void comparisonsWithAHungStoreAreBoundedAndNeverWaitedFor() throws Exception {
        Flags.stage("connections", Stage.SHADOW);
        double droppedBefore = results("dropped");
        double allBefore = allResults();
        List<Long> millis = new ArrayList<>();
        String url = "jdbc:postgresql://localhost:" + databases.embeddedPort().orElseThrow() + "/main";
        try (Connection lock = DriverManager.getConnection(url, "postgres", "")) {
            lock.setAutoCommit(false);
            lock.createStatement().execute("LOCK TABLE company_connections IN ACCESS EXCLUSIVE MODE");
            ExecutorService pool = Executors.newFixedThreadPool(16);
            List<Future<Long>> reads = new ArrayList<>();
            for (int i = 1; i <= READS; i++) {
                int id = i;
                reads.add(pool.submit(() -> {
                    long start = System.nanoTime();
                    given().get("/data/connections/" + id).then().statusCode(200).header("X-Turnout-Origin", "legacy");
                    return (System.nanoTime() - start) / 1_000_000;
                }));
            }
            for (Future<Long> r : reads) millis.add(r.get(1, TimeUnit.MINUTES));
            pool.shutdown();
            lock.rollback();
        }
        // comparisons wait on the hung store (100 ms each, one after another); no response waited for one
        assertThat(millis.stream().mapToLong(Long::longValue).max().orElseThrow()).as("slowest read, ms").isLessThan(1_500);
        assertThat(results("dropped") - droppedBefore).as("samples dropped beyond the bound").isPositive();
        // every sample is accounted for: compared (error after the lock timeout, or match) or dropped
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> allResults() - allBefore == READS);
        Flags.stage("connections", Stage.LEGACY);
    }
}
