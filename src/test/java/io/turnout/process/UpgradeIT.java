package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.turnout.support.Flags;
import io.turnout.support.TurnoutProcess;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Turnout started on a data directory that Turnout 0.1 created (its unversioned setup scripts,
 * kept under src/test/resources/releases/0.1, with the rows a running 0.1 leaves: a domain at
 * live, an outbox entry still waiting) brings Turnout's tables to this release's version with
 * Flyway, keeps every row, routes by the recorded stage and relays the waiting entry. A second
 * start migrates nothing.
 */
class UpgradeIT {
    private static final String KEY = "999999";

    private TurnoutProcess turnout;

    @AfterEach
    void stop() {
        if (turnout != null) turnout.close();
    }

    @Test
    void aDataDirectoryOfTheLastReleaseIsMigratedAndKeepsItsStagesAndOutbox() throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-upgrade"),
                Flags.json(Map.of("connections", "legacy", "messages", "live", "companies", "legacy", "contacts", "legacy")),
                Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "100"));
        createdByRelease01();

        turnout.start();

        // every migration applied once, on top of a baseline at version 0 where 0.1's tables already were
        int control = io.turnout.db.Schema.CONTROL.migrations().size();
        List<String> expected = new java.util.ArrayList<>(List.of("0:BASELINE:true"));
        for (int v = 1; v <= control; v++) expected.add(v + ":SQL:true");
        assertThat(history("main", "turnout_control_schema_history")).containsExactlyElementsOf(expected);
        assertThat(history("main", "turnout_schema_history")).containsExactly("0:BASELINE:true", "1:SQL:true", "2:SQL:true");
        assertThat(history("messages", "turnout_schema_history")).containsExactly("0:BASELINE:true", "1:SQL:true", "2:SQL:true");
        assertThat(turnout.log()).contains("Database main: turnout_control_schema_history migrated from version 0 to " + control);

        // the recorded stages are kept and routed by; stage control's new columns are there and used
        assertThat(TurnoutProcess.applied("messages")).isEqualTo("live");
        assertThat(TurnoutProcess.applied("connections")).isEqualTo("legacy");
        assertThat(turnout.query("main", "SELECT applied || ' since ' || to_char(changed_at, 'YYYY') FROM turnout_stage "
                + "WHERE domain = 'messages'")).isEqualTo("live since 2026");
        await().atMost(Duration.ofSeconds(10)).until(() -> "live".equals(turnout.query("main",
                "SELECT desired FROM turnout_stage WHERE domain = 'messages'")));
        // 0.1's backfill run is still the domain's latest, and the audit (new in this release) is written and read
        assertThat(given().get("/admin/migrations/messages").jsonPath().getString("backfill.forward.state")).isEqualTo("done");
        await().atMost(Duration.ofSeconds(10)).until(() -> given().get("/admin/audit?domain=messages").jsonPath()
                .getList("entries.action").contains("desired"));

        // the entry 0.1 left in the outbox is relayed: the record written at live reaches legacy
        await().atMost(Duration.ofSeconds(30)).until(() -> turnout.count(
                "SELECT count(*) FROM direct_messages WHERE id = " + KEY + " AND body = 'written by 0.1 at live'") == 1);
        assertThat(turnout.query("messages", "SELECT count(*) FROM turnout_outbox")).isEqualTo(0L);
        given().get("/data/messages/" + KEY).then().statusCode(200);

        turnout.close();
        long logged = turnout.log().lines().filter(l -> l.contains("migrated from version")).count();
        turnout.start();
        assertThat(turnout.log().lines().filter(l -> l.contains("migrated from version")).count()).isEqualTo(logged);
        // the baseline and each migration, once
        assertThat(history("main", "turnout_control_schema_history")).hasSize(io.turnout.db.Schema.CONTROL.migrations().size() + 1);
        assertThat(TurnoutProcess.applied("messages")).isEqualTo("live");
    }

    /** The data directory as Turnout 0.1 leaves it: its scripts run the way it ran them, and rows it wrote. */
    private void createdByRelease01() throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().setDataDirectory(turnout.dataDirectory()).setCleanDataDirectory(false)
                .setPort(turnout.pgPort()).start()) {
            try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
                st.execute("CREATE DATABASE main");
                st.execute("CREATE DATABASE messages");
            }
            for (String db : List.of("main", "messages")) {
                try (Connection c = turnout.connect(db); Statement st = c.createStatement()) {
                    st.execute(resource("releases/0.1/control.sql"));
                    st.execute(resource("db/demo/" + db + ".sql").replace(":demo_rows", "100"));
                }
            }
            try (Connection c = turnout.connect("main"); Statement st = c.createStatement()) {
                st.execute(resource("releases/0.1/control-plane.sql"));
                st.execute("INSERT INTO turnout_stage (domain, applied) VALUES ('connections', 'legacy'), ('messages', 'live')");
                st.execute("INSERT INTO turnout_backfill (domain, direction, state, chunk_size, exhausted, rows_copied, estimated_rows, "
                        + "finished_at) VALUES ('messages', 'forward', 'done', 2000, true, 100, 100, now())");
            }
            try (Connection c = turnout.connect("messages"); Statement st = c.createStatement()) {
                st.execute("INSERT INTO messages (id, sender_id, recipient_id, content) VALUES (" + KEY + ", 1, 2, 'written by 0.1 at live')");
                st.execute("INSERT INTO turnout_outbox (domain, record_key, source, target) VALUES ('messages', '" + KEY + "', 'new', 'legacy')");
            }
        }
    }

    private List<String> history(String db, String table) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = turnout.connect(db);
                ResultSet r = c.createStatement().executeQuery("SELECT version, type, success FROM " + table + " ORDER BY installed_rank")) {
            while (r.next()) out.add(r.getString(1) + ":" + r.getString(2) + ":" + r.getBoolean(3));
        }
        return out;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = UpgradeIT.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException(name + " is not on the test class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
