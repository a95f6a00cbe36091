package io.turnout.db;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.turnout.TurnoutConfig.ReadPlans;
import io.turnout.support.Sql;
import io.vertx.pgclient.PgConnectOptions;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL plans the client reads once for every value (read-plans unset: generic). A list of one
 * user's records ordered by key, planned for its user, walks the key's index when the table's
 * statistics count that user among the most common, and filters every record before the user's.
 */
@QuarkusTest
class ReadPlansTest {
    /** A user no demo record belongs to. */
    private static final long HEAVY_USER = 987_654;
    private static final int LISTS = 12;

    @Inject
    Databases databases;

    @Test
    void aListOfAUserTheStatisticsCountAsCommonReadsTheUsersIndexNotEveryRecordBeforeTheirs() {
        Sql sql = new Sql(databases);
        // 3,000 records of one user, all after every demo record: the statistics count the user among
        // the most common, so a plan for this user expects 50 of theirs among the first few thousand
        // records in key order, and walking the key's index looks cheaper than sorting 3,000 records
        long table = sql.count("main", "SELECT count(*) FROM user_connections");
        sql.exec("main", "INSERT INTO user_connections (user_id, connected_user_id, status) "
                + "SELECT " + HEAVY_USER + ", g, 'accepted' FROM generate_series(1, 3000) AS g");
        try {
            sql.exec("main", "ANALYZE user_connections");
            long keyIndexRead = indexTuplesRead(sql, "user_connections_pkey");
            long userIndexScans = indexScans(sql, "idx_user_connections_user");

            for (int i = 0; i < LISTS; i++) {
                List<Long> users = given().queryParam("user_id", HEAVY_USER).queryParam("limit", 50).get("/data/connections")
                        .then().statusCode(200).header("X-Turnout-Origin", "legacy").extract().jsonPath().getList("items.user_id", Long.class);
                assertThat(users).hasSize(50).containsOnly(HEAVY_USER);
            }

            // the read connections report their statistics within seconds of going idle: until then
            // neither index shows the lists
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> indexScans(sql, "idx_user_connections_user") - userIndexScans >= LISTS
                            || indexTuplesRead(sql, "user_connections_pkey") - keyIndexRead >= table);
            assertThat(indexTuplesRead(sql, "user_connections_pkey") - keyIndexRead)
                    .as("records read through the key's index by %d lists of a table of %d records", LISTS, table + 3000)
                    .isLessThan(table);
            assertThat(indexScans(sql, "idx_user_connections_user") - userIndexScans).as("scans of the user's index").isGreaterThanOrEqualTo(LISTS);
        } finally {
            sql.exec("main", "DELETE FROM user_connections WHERE user_id = " + HEAVY_USER);
            sql.exec("main", "ANALYZE user_connections");
        }
    }

    @Test
    void theReadConnectionsAskForGenericPlansUnlessConfiguredOtherwise() {
        Sql sql = new Sql(databases);
        PgConnectOptions base = new PgConnectOptions().addProperty("application_name", "reads");
        assertThat(Databases.readPlans(base, ReadPlans.GENERIC).getProperties())
                .containsEntry("plan_cache_mode", "force_generic_plan").containsEntry("application_name", "reads");
        assertThat(Databases.readPlans(base, ReadPlans.AUTO).getProperties())
                .doesNotContainKey("plan_cache_mode").containsEntry("application_name", "reads");
        String mode = databases.find("main").orElseThrow().reads().query("SELECT current_setting('plan_cache_mode')").execute()
                .toCompletionStage().toCompletableFuture().join().iterator().next().getString(0);
        assertThat(mode).isEqualTo("force_generic_plan");
    }

    private static long indexTuplesRead(Sql sql, String index) {
        return sql.count("main", "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = '" + index + "'");
    }

    private static long indexScans(Sql sql, String index) {
        return sql.count("main", "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '" + index + "'");
    }
}
