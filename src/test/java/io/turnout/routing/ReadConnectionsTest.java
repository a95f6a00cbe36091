package io.turnout.routing;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.turnout.db.Databases;
import io.turnout.support.Metrics;
import io.turnout.support.Sql;
import io.vertx.core.Vertx;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Client reads travel over a database's few pipelined read connections, not one pooled
 * connection each, and every answer still belongs to its own request.
 */
@QuarkusTest
class ReadConnectionsTest {
    private static final int READS = 400;

    @Inject
    Databases databases;

    @Inject
    Vertx vertx;

    @Test
    void concurrentReadsPipelineOverTheReadConnectionsAndEachGetsItsOwnRecord() throws Exception {
        Sql sql = new Sql(databases);
        // the legacy rows, read behind Turnout's back: each answer must be its own key's row
        java.util.Map<Long, Long> userOf = new java.util.HashMap<>();
        sql.rows("main", "SELECT id, user_id FROM user_connections ORDER BY id LIMIT 1000")
                .forEach(r -> userOf.put(((Number) r.get("id")).longValue(), ((Number) r.get("user_id")).longValue()));
        List<Long> ids = new ArrayList<>(userOf.keySet());
        String served = "domain=\"connections\"";
        double before = Math.max(0, Metrics.sum("turnout_requests_seconds_count", served, "operation=\"get\"", "outcome=\"success\""));
        ExecutorService clients = Executors.newFixedThreadPool(32);
        try {
            List<Future<long[]>> reads = new ArrayList<>();
            for (int i = 0; i < READS; i++) {
                long id = ids.get((i * 37) % ids.size());
                reads.add(clients.submit(() -> {
                    var body = given().get("/data/connections/" + id).then().statusCode(200)
                            .header("X-Turnout-Origin", "legacy").extract().jsonPath();
                    return new long[] {id, body.getLong("id"), body.getLong("user_id")};
                }));
            }
            for (Future<long[]> r : reads) {
                long[] answer = r.get(1, TimeUnit.MINUTES);
                assertThat(answer[1]).as("key answered to a read of key %d", answer[0]).isEqualTo(answer[0]);
                assertThat(answer[2]).as("user_id answered for key %d", answer[0]).isEqualTo(userOf.get(answer[0]));
            }
        } finally {
            clients.shutdownNow();
        }
        long readBackends = sql.count("main", "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'turnout-main-reads'");
        int loops = 0;
        for (var ignored : vertx.nettyEventLoopGroup()) loops++;
        // read-connections unset: two per event loop, however many of the 32 clients' reads were in flight
        assertThat(readBackends).as("backends serving client reads, with %d event loops", loops).isBetween(1L, 2L * loops);
        assertThat(Metrics.sum("turnout_requests_seconds_count", served, "operation=\"get\"", "outcome=\"success\"") - before)
                .isEqualTo(READS);
    }
}
