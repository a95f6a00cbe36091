package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.restassured.response.Response;
import io.turnout.support.TestKeys;
import io.turnout.support.TurnoutProcess;
import io.turnout.support.Writers;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Seed 000 to its end in a real process, driven only through the control API with keys of the
 * right roles: connections from legacy to retired while an application writes, the two-person
 * rule and the safety window refusing approval, the clock moved past the window by a restart, and
 * a crash (SIGKILL) between the archive and the drop that resumes without a second archive.
 */
class RetirementIT {
    private static final String RETIREMENT = "/admin/migrations/connections/retirement";
    private static final String FINGERPRINT = "SELECT count(*) || '/' || coalesce(sum(hashtextextended(x::text, 0)::numeric), 0) FROM %s AS x";

    private TurnoutProcess p;

    @AfterEach
    void stop() {
        if (p != null) p.close();
    }

    private static io.restassured.specification.RequestSpecification by(String key) {
        return given().header("Authorization", "Bearer " + key).contentType("application/json");
    }

    private static Map<String, Object> retirement() {
        return by(TestKeys.OPERATOR).get(RETIREMENT).jsonPath().getMap("request");
    }

    private static String self() {
        return by(TestKeys.OPERATOR).get("/admin/replicas").jsonPath().getString("replicas.find { it.self }.id");
    }

    @Test
    void connectionsGoFromLegacyToRetiredThroughTheControlApiAndACrashBetweenArchiveAndDropResumes() throws Exception {
        p = TurnoutProcess.in(Path.of("target/it-retirement"), TurnoutProcess.flagsAt("legacy"), Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000",
                "TURNOUT_DOMAINS_CONNECTIONS_GATES_MIN_SHADOW_COMPARISONS", "0", "TURNOUT_RETIREMENT_LOCK_TIMEOUT", "500ms",
                "TURNOUT_RETIREMENT_MAX_ATTEMPTS", "10")).start();
        // every control call of the walk is a release manager's; the application writes with its own key
        TestKeys.sendByDefault(TestKeys.RELEASE_MANAGER);
        Writers writers = Writers.start(Writers.Target.connections(), 2, 10_000, TestKeys.APP_CONNECTIONS);
        // verified at rampdown, where both stores still receive every write; complete writes only the new store
        p.walkTo("connections", "rampdown");
        by(TestKeys.RELEASE_MANAGER).post("/admin/migrations/connections/verification").then().statusCode(202);
        await().atMost(Duration.ofMinutes(1)).until(() -> "done".equals(by(TestKeys.OPERATOR).get("/admin/migrations/connections/verification")
                .jsonPath().getString("state")));
        p.walkTo("connections", "complete");
        long atCompleteWrites = writers.acknowledged();
        await().atMost(Duration.ofMinutes(1)).until(() -> writers.acknowledged() > atCompleteWrites + 20);
        Map<Long, Writers.Known> known = writers.stop();
        assertThat(writers.acknowledged()).as("the application was served while the domain moved").isGreaterThan(20);
        String atComplete;
        try (Connection c = p.connect("main")) {
            assertThat(Writers.lost(c, new Writers.Column("main", "company_connections", "id", "status"), known)).isEmpty();
            var r = c.createStatement().executeQuery(String.format(FINGERPRINT, "user_connections"));
            r.next();
            atComplete = r.getString(1);
        }

        // the two-person rule, the safety window, and what a dry run shows
        by(TestKeys.SUITE).body(Map.of("reason", "seed 000 phase 5")).post(RETIREMENT).then().statusCode(202);
        Response self = by(TestKeys.SUITE).post(RETIREMENT + "/approve");
        assertThat(self.statusCode()).isEqualTo(403);
        assertThat(self.jsonPath().getString("type")).endsWith("two-person-rule");
        Response early = by(TestKeys.APPROVER).post(RETIREMENT + "/approve");
        assertThat(early.statusCode()).isEqualTo(409);
        assertThat(early.jsonPath().getString("detail")).contains("safety_window");
        var dry = by(TestKeys.OPERATOR).get(RETIREMENT + "?dryRun=true").jsonPath();
        assertThat(dry.getList("statements", String.class)).anyMatch(s -> s.startsWith("CREATE TABLE \"user_connections_archive_"))
                .contains("DROP TABLE \"user_connections\"");
        assertThat(dry.getBoolean("checklist.find { it.name == 'safety_window' }.pass")).isFalse();
        assertThat(dry.getBoolean("checklist.find { it.name == 'no_legacy_writes' }.pass")).isTrue();
        assertThat(p.count("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'user_connections_archive%'")).as("a dry run runs nothing").isZero();

        // the checklist read while the legacy table is renamed under its checksum: the table counts as removed, not as a failure
        try (Connection renamer = p.connect("main")) {
            renamer.setAutoCommit(false);
            renamer.createStatement().execute("LOCK TABLE user_connections IN ACCESS EXCLUSIVE MODE");
            CompletableFuture<Response> reading = CompletableFuture.supplyAsync(() -> by(TestKeys.OPERATOR).get(RETIREMENT));
            await().atMost(Duration.ofSeconds(30)).until(() -> p.count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    + "AND query LIKE '%hashtextextended%user_connections%'") == 1);
            renamer.createStatement().execute("ALTER TABLE user_connections RENAME TO user_connections_moved");
            renamer.commit();
            Response read = reading.get(1, TimeUnit.MINUTES);
            assertThat(read.statusCode()).as(read.asString()).isEqualTo(200);
            assertThat(read.jsonPath().getString("checklist.find { it.name == 'no_legacy_writes' }.evidence")).contains("user_connections removed");
            renamer.createStatement().execute("ALTER TABLE user_connections_moved RENAME TO user_connections");
            renamer.commit();
        }

        // past the window: the old request has expired, a new one is approved while a reader holds the legacy table
        p.close();
        p.with("TURNOUT_CLOCK_OFFSET", "P31D").start();
        TestKeys.sendByDefault(TestKeys.RELEASE_MANAGER);
        assertThat(by(TestKeys.APPROVER).post(RETIREMENT + "/approve").statusCode()).isEqualTo(409);
        assertThat(retirement().get("state")).isEqualTo("expired");
        by(TestKeys.SUITE).body(Map.of("reason", "seed 000 phase 5, again")).post(RETIREMENT).then().statusCode(202);
        String killed;
        try (Connection reader = p.connect("main")) {
            reader.setAutoCommit(false);
            reader.createStatement().executeQuery("SELECT 1 FROM user_connections LIMIT 1").close();
            Response approved = by(TestKeys.APPROVER).post(RETIREMENT + "/approve");
            assertThat(approved.statusCode()).as(approved.asString()).isEqualTo(202);
            await().atMost(Duration.ofMinutes(1)).until(() -> "archived".equals(retirement().get("state"))
                    && ((Number) retirement().get("attempts")).intValue() >= 1);
            killed = self();
            p.kill();
            reader.rollback();
        }
        assertThat(p.count("SELECT count(*) FROM pg_tables WHERE tablename = 'user_connections'")).as("not dropped before the crash").isOne();
        p.start();
        TestKeys.sendByDefault(TestKeys.RELEASE_MANAGER);
        await().atMost(Duration.ofMinutes(1)).until(() -> "done".equals(retirement().get("state")));
        TurnoutProcess.awaitApplied("connections", "retired");

        assertThat(p.count("SELECT count(*) FROM pg_tables WHERE tablename = 'user_connections'")).as("legacy table dropped").isZero();
        List<String> archives = List.of(((String) p.query("main", "SELECT string_agg(tablename, ',') FROM pg_tables "
                + "WHERE tablename LIKE 'user_connections_archive%'")).split(","));
        assertThat(archives).as("one archive, not a second one after the crash").hasSize(1);
        assertThat(p.query("main", String.format(FINGERPRINT, archives.get(0)))).as("the archive equals the table at complete").isEqualTo(atComplete);
        var audit = by(TestKeys.OPERATOR).queryParam("domain", "connections").queryParam("limit", 1000).get("/admin/audit").jsonPath();
        assertThat(audit.getList("entries.findAll { it.action == 'retirement-archived' }")).hasSize(1);
        assertThat(audit.getList("entries.findAll { it.action == 'retirement-approved' }.actor", String.class)).containsExactly("approver");
        assertThat(audit.getList("entries.findAll { it.action == 'retirement-requested' }.actor", String.class)).containsOnly("suite");
        // the killed replica turns stale and holds the checklist until a release manager forgets it
        await().atMost(Duration.ofSeconds(30)).until(() -> by(TestKeys.OPERATOR).get("/admin/replicas").jsonPath()
                .getList("replicas.findAll { it.state == 'stale' }.id").contains(killed));
        var checklist = by(TestKeys.OPERATOR).get(RETIREMENT).jsonPath();
        assertThat(checklist.getList("checklist.findAll { !it.pass }.name")).containsExactly("replicas");
        assertThat(by(TestKeys.OPERATOR).post("/admin/replicas/" + killed + "/forget").statusCode()).isEqualTo(403);
        assertThat(by(TestKeys.RELEASE_MANAGER).post("/admin/replicas/" + self() + "/forget").statusCode()).as("a live replica is never forgotten")
                .isEqualTo(404);
        by(TestKeys.RELEASE_MANAGER).post("/admin/replicas/" + killed + "/forget").then().statusCode(200);
        checklist = by(TestKeys.OPERATOR).get(RETIREMENT).jsonPath();
        assertThat(checklist.getList("checklist.findAll { !it.pass }.name")).as("every check of the removal checklist passes").isEmpty();
        assertThat(p.query("main", "SELECT actor FROM turnout_audit WHERE action = 'replica-forgotten'")).isEqualTo("rm");

        // the data API still serves, from the new store only
        Response created = by(TestKeys.APP_CONNECTIONS).body(Map.of("user_id", 9001, "connected_user_id", 9002, "status", "accepted"))
                .post("/data/connections");
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(p.count("SELECT count(*) FROM company_connections WHERE user_id = 9001 AND peer_user_id = 9002")).isOne();
        by(TestKeys.APP_CONNECTIONS).get("/data/connections/" + created.jsonPath().getLong("id")).then().statusCode(200);

        // a flag moved back is held: there is no legacy store to go back to
        TurnoutProcess.requestStage("connections", "complete", "retirement test: try to go back");
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            // no next step until the flag's new value is read
            List<String> failing = by(TestKeys.OPERATOR).get("/admin/migrations/connections").jsonPath().getList("nextStep.gates.findAll { !it.pass }.name");
            return failing != null && failing.contains("retired");
        });
        assertThat(TurnoutProcess.applied("connections")).isEqualTo("retired");

        String log = p.log();
        for (String secret : List.of(TestKeys.SUITE, TestKeys.OPERATOR, TestKeys.RELEASE_MANAGER, TestKeys.APPROVER, TestKeys.APP_CONNECTIONS)) {
            assertThat(log).as("no key appears in the log").doesNotContain(secret);
        }
    }

    private static Response retire(String domain, String key, String reason) {
        return by(key).body(Map.of("reason", reason)).post("/admin/migrations/" + domain + "/retirement");
    }

    private static Map<String, Object> retirementOf(String domain) {
        return by(TestKeys.OPERATOR).get("/admin/migrations/" + domain + "/retirement").jsonPath().getMap("request");
    }

    /** Requested by one principal, approved by another, and run to its end. */
    private static void retired(String domain, String reason) {
        retire(domain, TestKeys.SUITE, reason).then().statusCode(202);
        Response approved = by(TestKeys.APPROVER).post("/admin/migrations/" + domain + "/retirement/approve");
        assertThat(approved.statusCode()).as(approved.asString()).isEqualTo(202);
        await().atMost(Duration.ofMinutes(1)).until(() -> "done".equals(retirementOf(domain).get("state")));
    }

    @Test
    void importTablesAreRenamedDeprecatedAndDroppedByASecondApprovedRequestChildrenFirst() throws Exception {
        Path dir = Path.of("target/it-retirement-imports").toAbsolutePath();
        Path extra = dir.resolve("imports.properties");
        p = TurnoutProcess.in(dir, TurnoutProcess.flagsAt("legacy"), Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "200",
                "TURNOUT_RETIREMENT_SAFETY_WINDOW", "0s", "QUARKUS_CONFIG_LOCATIONS", extra.toString()));
        // domain names with an underscore cannot be spelled in an environment variable: a config file sets their gates
        java.nio.file.Files.writeString(extra, String.join("\n", List.of("data_imports", "import_field_mappings", "discovery_flows",
                "raw_import_records").stream().map(d -> "turnout.domains." + d + ".gates.min-shadow-comparisons=0").toList()));
        p.start();
        TestKeys.sendByDefault(TestKeys.RELEASE_MANAGER);
        List<String> children = List.of("import_field_mappings", "discovery_flows", "raw_import_records");
        // the order the foreign keys need: the parent's new store complete before the children copy, the children complete first
        p.walkTo("data_imports", "rampdown");
        for (String c : children) p.walkTo(c, "complete");
        p.walkTo("data_imports", "complete");
        List<String> all = List.of("data_imports", "import_field_mappings", "discovery_flows", "raw_import_records");
        Map<String, Long> rows = new java.util.HashMap<>();
        for (String d : all) {
            by(TestKeys.RELEASE_MANAGER).post("/admin/migrations/" + d + "/verification").then().statusCode(202);
            await().atMost(Duration.ofMinutes(1)).until(() -> "done".equals(by(TestKeys.OPERATOR).get("/admin/migrations/" + d
                    + "/verification").jsonPath().getString("state")));
            rows.put(d, p.count("SELECT count(*) FROM " + d));
        }

        // seed 003: the original tables are renamed _deprecated, each after an archive equal to it
        retired("data_imports", "seed 003: V3 tables serve");
        assertThat(p.count("SELECT count(*) FROM pg_tables WHERE tablename = 'data_imports'")).isZero();
        assertThat(p.count("SELECT count(*) FROM data_imports_deprecated")).isEqualTo(rows.get("data_imports"));
        for (String c : children) {
            retired(c, "seed 003: V3 tables serve");
            assertThat(p.count("SELECT count(*) FROM " + c + "_deprecated")).as(c).isEqualTo(rows.get(c));
        }
        for (String d : all) {
            assertThat(TurnoutProcess.applied(d)).isEqualTo("retired");
            String archive = (String) p.query("main", "SELECT tablename FROM pg_tables WHERE tablename LIKE '" + d + "_archive_%'");
            assertThat(p.count("SELECT count(*) FROM " + archive)).as("archive of " + d).isEqualTo(rows.get(d));
        }
        Response served = by(TestKeys.SUITE).get("/data/data_imports?limit=5");
        assertThat(served.statusCode()).isEqualTo(200);
        assertThat(served.header("X-Turnout-Origin")).isEqualTo("new");

        // the second request drops the renamed tables: the parent's wait for its children's, whose foreign keys refer to it
        retire("data_imports", TestKeys.SUITE, "drop the deprecated import tables").then().statusCode(202);
        assertThat(retirementOf("data_imports").get("kind")).isEqualTo("drop-renamed");
        Response early = by(TestKeys.APPROVER).post("/admin/migrations/data_imports/retirement/approve");
        assertThat(early.statusCode()).isEqualTo(409);
        assertThat(early.jsonPath().getString("detail")).contains("related_domains");
        for (String c : children) retired(c, "drop the deprecated import tables");
        Response approved = by(TestKeys.APPROVER).post("/admin/migrations/data_imports/retirement/approve");
        assertThat(approved.statusCode()).as(approved.asString()).isEqualTo(202);
        await().atMost(Duration.ofMinutes(1)).until(() -> "done".equals(retirementOf("data_imports").get("state")));
        assertThat(p.count("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_deprecated'")).as("renamed tables dropped").isZero();
        assertThat(p.count("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_archive\\_%'")).as("archives kept").isEqualTo(4);
        var audit = by(TestKeys.OPERATOR).queryParam("domain", "data_imports").queryParam("limit", 1000).get("/admin/audit").jsonPath();
        assertThat(audit.getList("entries.findAll { it.action == 'retirement-done' }")).hasSize(2);
    }
}
