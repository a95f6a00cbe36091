package io.turnout.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.turnout.support.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * Turnout's alerting rules (k8s/monitoring/prometheus-rule.yaml) pass Prometheus' own checks and
 * unit tests (ops/alerts-test.yml), and each alert has a runbook in docs/sre.md, a case where it
 * fires and one where it stays silent.
 */
class AlertRulesTest {
    static final Path RULE = Path.of("k8s/monitoring/prometheus-rule.yaml");
    static final Path TESTS = Path.of("ops/alerts-test.yml");
    private static final Path WORK = Path.of("target/alerts");
    private static Path promtool;

    @BeforeAll
    static void extract() throws IOException {
        promtool = Tools.require("promtool", "prometheus");
        Files.createDirectories(WORK);
        // promtool reads plain rule files: the PrometheusRule's spec is one
        Files.writeString(WORK.resolve("turnout-rules.yml"), new Yaml().dump(spec()));
        Files.copy(TESTS, WORK.resolve("alerts-test.yml"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> spec() throws IOException {
        Map<String, Object> rule = new Yaml().load(Files.readString(RULE));
        return (Map<String, Object>) rule.get("spec");
    }

    /** Every alerting rule, by alert name. */
    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> alerts() throws IOException {
        Map<String, Map<String, Object>> alerts = new LinkedHashMap<>();
        for (Map<String, Object> group : (List<Map<String, Object>>) spec().get("groups")) {
            for (Map<String, Object> r : (List<Map<String, Object>>) group.get("rules")) {
                if (r.containsKey("alert")) alerts.put((String) r.get("alert"), r);
            }
        }
        return alerts;
    }

    /** Every rule expression (recording and alerting). */
    @SuppressWarnings("unchecked")
    static List<String> expressions() throws IOException {
        List<String> exprs = new ArrayList<>();
        for (Map<String, Object> group : (List<Map<String, Object>>) spec().get("groups")) {
            for (Map<String, Object> r : (List<Map<String, Object>>) group.get("rules")) exprs.add(String.valueOf(r.get("expr")));
        }
        return exprs;
    }

    @Test
    void promtoolAcceptsTheRules() throws Exception {
        Tools.Result r = Tools.run(WORK, null, Duration.ofMinutes(1), promtool.toString(), "check", "rules", "turnout-rules.yml")
                .succeeded("promtool check rules");
        assertThat(r.output()).contains("SUCCESS: " + (expressions().size()) + " rules found");
    }

    @Test
    void everyAlertFiresOnItsSyntheticSeriesAndStaysSilentOnHealthyOnes() throws Exception {
        Tools.Result r = Tools.run(WORK, null, Duration.ofMinutes(2), promtool.toString(), "test", "rules", "alerts-test.yml")
                .succeeded("promtool test rules");
        assertThat(r.output()).contains("SUCCESS");

        Set<String> firing = new TreeSet<>();
        Set<String> silent = new TreeSet<>();
        testCases().forEach(c -> {
            List<?> expected = (List<?>) c.get("exp_alerts");
            (expected == null || expected.isEmpty() ? silent : firing).add((String) c.get("alertname"));
        });
        assertThat(firing).as("alerts with a case where they fire").isEqualTo(new TreeSet<>(alerts().keySet()));
        assertThat(silent).as("alerts with a case where they stay silent").isEqualTo(new TreeSet<>(alerts().keySet()));
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> testCases() throws IOException {
        Map<String, Object> file = new Yaml().load(Files.readString(TESTS));
        List<Map<String, Object>> cases = new ArrayList<>();
        for (Map<String, Object> test : (List<Map<String, Object>>) file.get("tests")) {
            cases.addAll((List<Map<String, Object>>) test.getOrDefault("alert_rule_test", List.of()));
        }
        return cases;
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyAlertHasASeverityAndARunbookSectionInTheSreGuide() throws IOException {
        Set<String> anchors = Docs.anchors(Path.of("docs/sre.md"));
        alerts().forEach((name, rule) -> {
            Map<String, String> labels = (Map<String, String>) rule.get("labels");
            Map<String, String> annotations = (Map<String, String>) rule.get("annotations");
            assertThat(labels.get("severity")).as(name + " severity").isIn("page", "ticket");
            assertThat(annotations).as(name).containsKeys("summary", "description");
            String runbook = annotations.get("runbook_url");
            assertThat(runbook).as(name + " runbook_url").isEqualTo("docs/sre.md#" + name.toLowerCase());
            assertThat(anchors).as("sections of docs/sre.md").contains(name.toLowerCase());
        });
    }
}
