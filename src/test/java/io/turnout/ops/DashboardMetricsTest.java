package io.turnout.ops;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Management;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every metric and label the Grafana dashboard (ops/grafana/turnout.json) and the alerting rules
 * query is one a running Turnout publishes on /q/metrics, after traffic at several stages, a
 * backfill, a held step and a search read.
 */
@QuarkusTest
class DashboardMetricsTest {
    /** Labels Prometheus adds to every series of a target; not Turnout's to publish. */
    private static final Set<String> TARGET_LABELS = Set.of("instance", "job", "pod", "namespace");
    private static final Pattern METRIC = Pattern.compile("(?<![:\\w])(turnout_[a-z0-9_]+)(\\{([^}]*)\\})?");
    private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)");
    private static final Pattern GROUPING = Pattern.compile("\\b(?:by|on|ignoring|without)\\s*\\(([^)]*)\\)");
    private static final Pattern LEGEND = Pattern.compile("\\{\\{\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*}}");

    @AfterEach
    void restore() {
        Flags.stage("connections", Stage.LEGACY);
        Flags.stage("messages", Stage.LEGACY);
    }

    /** Each published metric name with the label names its samples carry. */
    private static Map<String, Set<String>> published() {
        Map<String, Set<String>> metrics = new HashMap<>();
        for (String line : Management.given().get("/q/metrics").asString().split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            int brace = line.indexOf('{');
            int space = line.indexOf(' ');
            String name = line.substring(0, brace >= 0 && brace < space ? brace : space);
            Set<String> labels = metrics.computeIfAbsent(name, n -> new TreeSet<>());
            if (brace >= 0 && brace < space) {
                Matcher m = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"").matcher(line.substring(brace, line.lastIndexOf('}')));
                while (m.find()) labels.add(m.group(1));
            }
        }
        return metrics;
    }

    private static void traffic(Stage stage) {
        Flags.stage("connections", stage);
        long id = given().contentType(ContentType.JSON).body(Map.of("user_id", 11, "connected_user_id", 12))
                .post("/data/connections").then().statusCode(201).extract().jsonPath().getLong("id");
        given().get("/data/connections/" + id).then().statusCode(200);
        given().get("/data/connections/987654321").then().statusCode(404);
        given().get("/data/connections?user_id=11&limit=5").then().statusCode(200);
        given().contentType(ContentType.JSON).body(Map.of("user_id", "eleven")).post("/data/connections").then().statusCode(400);
    }

    @Test
    void everyMetricAndLabelTheDashboardAndTheAlertsQueryIsPublished() throws Exception {
        for (Stage stage : List.of(Stage.LEGACY, Stage.DUAL_WRITE, Stage.LIVE, Stage.SHADOW)) traffic(stage);
        // at shadow about one read in ten is compared (turnout.domains.*.shadow-sample-rate in the tests)
        for (int i = 1; i <= 100; i++) given().get("/data/connections/" + i).then().statusCode(200);
        Flags.stage("connections", Stage.DUAL_WRITE);
        given().contentType(ContentType.JSON).body(Map.of("chunkSize", 10_000)).post("/admin/migrations/connections/backfill")
                .then().statusCode(202);
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200)).until(() -> !List.of("running", "throttled")
                .contains(given().get("/admin/migrations/connections/backfill").jsonPath().getString("state")));
        // a search-backed domain read, and a step that cannot pass (messages has no backfill): held
        given().get("/data/contacts/no-such-contact");
        Flags.variant("messages", Stage.SHADOW.label(), true);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> published().containsKey("turnout_stage_held"));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> published().containsKey("turnout_shadow_reads_total"));

        Map<String, Set<String>> published = published();
        List<String> queries = new ArrayList<>(AlertRulesTest.expressions());
        Map<String, Set<String>> legends = new HashMap<>();
        JsonNode dashboard = new ObjectMapper().readTree(Path.of("ops/grafana/turnout.json").toFile());
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.path("targets")) {
                String expr = target.get("expr").asText();
                queries.add(expr);
                Matcher m = LEGEND.matcher(target.path("legendFormat").asText());
                while (m.find()) legends.computeIfAbsent(expr, e -> new TreeSet<>()).add(m.group(1));
            }
        }
        assertThat(queries).hasSizeGreaterThan(20);
        for (String query : queries) {
            Set<String> labelsOfQuery = new TreeSet<>(TARGET_LABELS);
            Matcher metric = METRIC.matcher(query);
            int found = 0;
            while (metric.find()) {
                found++;
                String name = metric.group(1);
                assertThat(published).as("metrics on /q/metrics, used by: " + query).containsKey(name);
                labelsOfQuery.addAll(published.get(name));
                if (metric.group(3) == null) continue;
                Matcher matcher = MATCHER.matcher(metric.group(3));
                while (matcher.find()) {
                    assertThat(published.get(name)).as("labels of " + name + ", matched in: " + query).contains(matcher.group(1));
                }
            }
            if (found == 0) continue; // a constant (the SLO objective)
            Matcher grouping = GROUPING.matcher(query);
            while (grouping.find()) {
                for (String label : grouping.group(1).split(",")) {
                    if (!label.isBlank()) assertThat(labelsOfQuery).as("labels grouped by in: " + query).contains(label.strip());
                }
            }
            for (String label : legends.getOrDefault(query, Set.of())) {
                assertThat(labelsOfQuery).as("labels in the legend of: " + query).contains(label);
            }
        }
    }
}
