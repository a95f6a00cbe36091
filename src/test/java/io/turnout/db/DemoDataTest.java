package io.turnout.db;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import jakarta.inject.Inject;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The embedded default's demo tables are planned by real statistics from the first request: a
 * prepared list by user_id ({@code ORDER BY id LIMIT $n}, as the data API sends it) planned on a
 * table PostgreSQL has not analysed walks the whole primary key for each call, until autovacuum's
 * next pass up to a minute later.
 */
@QuarkusTest
class DemoDataTest {
    private static final String SCHEMA = "turnout_demo_check";

    @Inject
    Databases databases;

    @Test
    void theTablesTheDemoFillsHaveStatisticsAndAListByUserUsesItsIndex() throws Exception {
        String script;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("db/demo/main.sql")) {
            script = new String(in.readAllBytes(), StandardCharsets.UTF_8).replace(":demo_rows", "10000");
        }
        List<String> plan = databases.find("main").orElseThrow().pool().withConnection(c -> c
                .query("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE; CREATE SCHEMA " + SCHEMA + "; SET search_path TO " + SCHEMA + ";\n" + script)
                .execute()
                .compose(v -> c.query("SET plan_cache_mode = force_generic_plan").execute())
                .compose(v -> c.query("PREPARE demo_list(bigint, bigint) AS SELECT id, status FROM user_connections "
                        + "WHERE user_id = $1 ORDER BY id LIMIT $2").execute())
                .compose(v -> c.query("EXPLAIN EXECUTE demo_list(5, 50)").execute())
                .map(DemoDataTest::lines)
                .eventually(() -> c.query("DEALLOCATE demo_list; RESET plan_cache_mode; RESET search_path").execute()))
                .toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
        try {
            List<String> analysed = lines(databases.find("main").orElseThrow().pool()
                    .query("SELECT DISTINCT tablename::text FROM pg_stats WHERE schemaname = '" + SCHEMA + "' ORDER BY 1").execute()
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
            assertThat(analysed).contains("user_connections", "users", "contacts", "raw_import_records");
            assertThat(String.join("\n", plan)).contains("idx_user_connections_user").doesNotContain("user_connections_pkey");
        } finally {
            databases.find("main").orElseThrow().pool().query("DROP SCHEMA " + SCHEMA + " CASCADE").execute()
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    private static List<String> lines(RowSet<Row> rows) {
        List<String> out = new ArrayList<>();
        for (Row r : rows) out.add(r.getString(0));
        return out;
    }
}
