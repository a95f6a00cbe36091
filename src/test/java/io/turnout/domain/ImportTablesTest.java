package io.turnout.domain;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import io.turnout.support.TurnoutProcess;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Seed 003 online: the original import tables move to the V3 tables that already hold pilot rows.
 * Pilot rows survive every copy and are accepted by verification and nothing else is; a pilot row
 * whose key collides with an original is found before any copy and the declared side wins; and the
 * foreign keys from the child tables to data imports hold in both families at every stage, because
 * stage control moves the domains in the order the keys need.
 */
@QuarkusTest
class ImportTablesTest {
    static final List<String> CHILDREN = List.of("import_field_mappings", "discovery_flows", "raw_import_records");
    static final Map<String, String[]> TABLES = Map.of(
            "data_imports", new String[] {"data_imports", "v3_data_imports"},
            "import_field_mappings", new String[] {"import_field_mappings", "v3_field_mappings"},
            "discovery_flows", new String[] {"discovery_flows", "v3_discovery_flows"},
            "raw_import_records", new String[] {"raw_import_records", "v3_raw_import_records"});
    /** The pilot rows the demo puts in the V3 tables, per domain: only there (and for data_imports one more, colliding). */
    static final Map<String, Integer> PILOT = Map.of("data_imports", 3, "import_field_mappings", 10, "discovery_flows", 4, "raw_import_records", 0);

    @Inject
    Databases databases;

    Sql sql;

    /** Back to the demo's state: every domain at legacy, the V3 tables holding only their pilot rows, no pilot snapshot. */
    @BeforeEach
    void demoState() {
        sql = new Sql(databases);
        for (String d : List.of("raw_import_records", "discovery_flows", "import_field_mappings", "data_imports")) Flags.stage(d, Stage.LEGACY);
        sql.exec("main", "DELETE FROM turnout_pilot_snapshot WHERE domain IN ('data_imports', 'import_field_mappings', 'discovery_flows', "
                + "'raw_import_records')");
        sql.exec("main", "TRUNCATE v3_data_imports CASCADE");
        Databases.run(databases.find("main").orElseThrow(), "db/demo/main.sql", Map.of(":demo_rows", "1000"));
        assertThat(sql.count("main", "SELECT count(*) FROM v3_data_imports")).isEqualTo(4);
    }

    @AfterEach
    void back() {
        for (String d : List.of("raw_import_records", "discovery_flows", "import_field_mappings", "data_imports")) Flags.stage(d, Stage.LEGACY);
    }

    private long rows(String table) {
        return sql.count("main", "SELECT count(*) FROM " + table);
    }

    /** Child rows whose data import is missing, in both families (the foreign keys, checked with SQL). */
    private long orphans() {
        long n = 0;
        for (String child : CHILDREN) {
            String[] t = TABLES.get(child);
            n += sql.count("main", "SELECT count(*) FROM " + t[0] + " c WHERE NOT EXISTS (SELECT 1 FROM data_imports d WHERE d.id = c.data_import_id)");
            n += sql.count("main", "SELECT count(*) FROM " + t[1] + " c WHERE NOT EXISTS (SELECT 1 FROM v3_data_imports d WHERE d.id = c.data_import_id)");
        }
        return n;
    }

    /** The counts the control API shows for a domain's tables agree with SQL. */
    private void countsShown(String domain) {
        JsonPath view = given().get("/admin/migrations/" + domain).jsonPath();
        String[] t = TABLES.get(domain);
        assertThat(view.getLong("tables.legacy." + t[0])).as(domain + " legacy count").isEqualTo(rows(t[0]));
        assertThat(view.getLong("tables.new." + t[1])).as(domain + " new count").isEqualTo(rows(t[1]));
    }

    private static JsonPath verify(String domain) {
        Response started = given().post("/admin/migrations/" + domain + "/verification");
        assertThat(started.statusCode()).isEqualTo(202);
        long id = started.jsonPath().getLong("run");
        org.awaitility.Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200)).until(() ->
                !given().get("/admin/migrations/" + domain + "/verification/" + id).jsonPath().getString("state").equals("running"));
        return given().get("/admin/migrations/" + domain + "/verification/" + id).jsonPath();
    }

    @Test
    void pilotRowsAreFoundBeforeAnyCopyKeptByTheBackfillAndAcceptedByVerificationAndNothingElse() {
        long originals = rows("data_imports");
        JsonPath checks = given().post("/admin/migrations/data_imports/preflight").jsonPath();
        assertThat(checks.getLong("find { it.name == 'pilot_extra_rows' }.problemRows")).isEqualTo(3);
        assertThat(checks.getLong("find { it.name == 'pilot_collisions' }.problemRows")).isEqualTo(1);
        JsonPath pilot = given().get("/admin/migrations/data_imports/pilot").jsonPath();
        String collided = (String) sql.row("main", "SELECT md5('import1')::uuid::text AS k").get("k");
        assertThat(pilot.getString("collisionKeys[0].key")).isEqualTo(collided);
        assertThat(pilot.getList("collisionKeys[0].fields", String.class)).contains("name", "record_count");
        assertThat(pilot.getString("collisionsWin")).isEqualTo("legacy");

        // a child cannot be copied before its parent's new store holds the parent's records
        Flags.stage("import_field_mappings", Stage.DUAL_WRITE);
        Response early = given().contentType(ContentType.JSON).body("{}").post("/admin/migrations/import_field_mappings/backfill");
        assertThat(early.statusCode()).isEqualTo(409);
        assertThat(early.jsonPath().getString("detail")).contains("data_imports");
        Flags.stage("import_field_mappings", Stage.LEGACY);

        TurnoutProcess.walk("data_imports", "shadow");
        assertThat(rows("v3_data_imports")).isEqualTo(originals + 3);
        // the declared winner: the original record replaced the colliding pilot row, and the audit names the key
        assertThat(sql.row("main", "SELECT name FROM v3_data_imports WHERE id = md5('import1')::uuid")).containsEntry("name", "Import 1");
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_audit WHERE domain = 'data_imports' AND action = 'pilot-found' "
                + "AND detail->'collisionKeys' ? $1", collided)).isEqualTo(1);
        JsonPath clean = verify("data_imports");
        assertThat(clean.getBoolean("clean")).as(clean.prettify()).isTrue();
        assertThat(clean.getInt("acceptedExtra")).isEqualTo(3);
        assertThat(clean.getInt("extra")).isZero();

        // a record only the new store holds that was not there before the migration is a difference
        sql.exec("main", "INSERT INTO v3_data_imports (id, name, source_type) VALUES ('00000000-0000-4000-8000-00000000e4e4', 'stray', 'csv')");
        JsonPath dirty = verify("data_imports");
        assertThat(dirty.getBoolean("clean")).isFalse();
        assertThat(dirty.getInt("extra")).isEqualTo(1);
        assertThat(dirty.getInt("acceptedExtra")).isEqualTo(3);
        sql.exec("main", "DELETE FROM v3_data_imports WHERE id = '00000000-0000-4000-8000-00000000e4e4'");
    }

    @Test
    void theImportFamilyGoesToCompleteAndBackWithCountsAndForeignKeysHeldAtEveryStage() {
        Map<String, Long> before = new java.util.HashMap<>();
        TABLES.forEach((d, t) -> before.put(d, rows(t[0])));
        assertThat(orphans()).isZero();

        // the children wait for their parent
        TurnoutProcess.requestStage("import_field_mappings", "dual_write", "journey");
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> given().get("/admin/migrations/import_field_mappings")
                .jsonPath().getString("nextStep.gates.find { it.name == 'related_domains' }.why") != null);
        JsonPath held = given().get("/admin/migrations/import_field_mappings").jsonPath();
        assertThat(held.getBoolean("nextStep.gates.find { it.name == 'related_domains' }.pass")).isFalse();
        assertThat(held.getString("nextStep.gates.find { it.name == 'related_domains' }.why")).contains("parent data_imports is at legacy");
        assertThat(held.getString("applied")).isEqualTo("legacy");

        TurnoutProcess.walk("data_imports", "shadow");
        String parent = (String) sql.row("main", "SELECT id::text AS id FROM data_imports ORDER BY id LIMIT 1").get("id");
        for (String child : CHILDREN) {
            for (String stage : List.of("dual_write", "shadow", "live", "rampdown", "complete")) {
                TurnoutProcess.walk(child, stage);
                assertThat(orphans()).as(child + " at " + stage).isZero();
                countsShown(child);
                String[] t = TABLES.get(child);
                if (!stage.equals("dual_write")) {
                    // past the backfill: the new table holds every original record and the pilot rows
                    assertThat(rows(t[1])).as(child + " at " + stage).isEqualTo(rows(t[0]) + PILOT.get(child));
                }
                if (child.equals("import_field_mappings")) {
                    // a client write refers to an original import: both families take it at every stage that writes both
                    Response created = given().contentType(ContentType.JSON).body(Map.of("data_import_id", parent, "source_field", "at_" + stage,
                            "target_field", "hostname")).post("/data/import_field_mappings");
                    assertThat(created.statusCode()).as(created.asString()).isEqualTo(201);
                    String id = created.jsonPath().getString("id");
                    long inLegacy = sql.count("main", "SELECT count(*) FROM import_field_mappings WHERE id = $1::uuid", id);
                    long inNew = sql.count("main", "SELECT count(*) FROM v3_field_mappings WHERE id = $1::uuid", id);
                    assertThat(inNew).as("new at " + stage).isEqualTo(1);
                    assertThat(inLegacy).as("legacy at " + stage).isEqualTo(stage.equals("complete") ? 0 : 1);
                }
            }
        }
        TurnoutProcess.walk("data_imports", "complete");
        countsShown("data_imports");
        assertThat(orphans()).isZero();

        // back: the parent waits for its children before it stops writing its new store
        TurnoutProcess.walk("data_imports", "legacy", "related_domains");
        assertThat(given().get("/admin/migrations/data_imports").jsonPath().getString("applied")).isEqualTo("dual_write");
        for (String child : CHILDREN) {
            TurnoutProcess.walk(child, "legacy");
            assertThat(orphans()).as(child + " back at legacy").isZero();
            countsShown(child);
            // the reverse backfill brought the pilot rows and what was written while the new store led
            String[] t = TABLES.get(child);
            assertThat(rows(t[0])).as(child).isEqualTo(rows(t[1]));
        }
        TurnoutProcess.walk("data_imports", "legacy");
        assertThat(rows("data_imports")).isEqualTo(before.get("data_imports") + 3);
        assertThat(rows("import_field_mappings")).isEqualTo(before.get("import_field_mappings") + 10 + 5);
        assertThat(orphans()).isZero();
        countsShown("data_imports");
    }
}
