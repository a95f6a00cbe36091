package io.turnout.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.turnout.support.Tools;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * Every kustomize overlay under k8s/overlays builds with kubectl, validates against the
 * Kubernetes and Prometheus Operator schemas (src/test/k8s/validate.mjs, offline), and deploys
 * Turnout the way docs/sre.md and k8s/README.md say.
 */
class ManifestsTest {
    private static Path kubectl;
    private static Path node;

    @BeforeAll
    static void tools() {
        kubectl = Tools.require("kubectl", "kubernetes-client");
        node = Tools.require("node", "nodejs");
    }

    /** The overlay's manifests, built by kubectl and validated against the schemas. */
    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> build(String overlay) throws Exception {
        String yaml = Tools.run(Path.of("."), null, Duration.ofMinutes(1), kubectl.toString(), "kustomize", "k8s/overlays/" + overlay)
                .succeeded("kubectl kustomize " + overlay).output().lines()
                .filter(l -> !l.startsWith("# Warning:")).collect(Collectors.joining("\n"));
        Tools.Result valid = Tools.run(Path.of("src/test/k8s"), yaml, Duration.ofMinutes(1), node.toString(), "validate.mjs");
        assertThat(valid.exit()).as(overlay + " against the schemas:\n" + valid.output()).isZero();
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object d : new Yaml().loadAll(yaml)) if (d != null) docs.add((Map<String, Object>) d);
        assertThat(valid.output().lines().filter(l -> l.startsWith("ok ")).count()).as("documents validated").isEqualTo(docs.size());
        return docs;
    }

    private static Map<String, Object> one(List<Map<String, Object>> docs, String kind, String name) {
        return docs.stream().filter(d -> kind.equals(d.get("kind")) && name.equals(at(d, "metadata.name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
    }

    @SuppressWarnings("unchecked")
    private static <T> T at(Object node, String path) {
        Object at = node;
        for (String step : path.split("\\.")) {
            if (at == null) return null;
            at = step.matches("\\d+") ? ((List<Object>) at).get(Integer.parseInt(step)) : ((Map<String, Object>) at).get(step);
        }
        return (T) at;
    }

    private static Map<String, Object> container(List<Map<String, Object>> docs) {
        return at(one(docs, "Deployment", "turnout"), "spec.template.spec.containers.0");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> env(Map<String, Object> container) {
        return ((List<Map<String, Object>>) container.getOrDefault("env", List.of())).stream()
                .collect(Collectors.toMap(e -> (String) e.get("name"), e -> e));
    }

    /** The pod volume mounted where {@code path} lies. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> volumeHolding(List<Map<String, Object>> docs, String path) {
        List<Map<String, Object>> mounts = (List<Map<String, Object>>) container(docs).get("volumeMounts");
        Map<String, Object> mount = mounts.stream().filter(m -> path.startsWith(m.get("mountPath") + "/")).findFirst()
                .orElseThrow(() -> new AssertionError("no volume mounted above " + path));
        List<Map<String, Object>> volumes = at(one(docs, "Deployment", "turnout"), "spec.template.spec.volumes");
        return volumes.stream().filter(v -> v.get("name").equals(mount.get("name"))).findFirst().orElseThrow();
    }

    @SuppressWarnings("unchecked")
    private static void runsSafelyWithProbes(List<Map<String, Object>> docs) {
        Map<String, Object> deployment = one(docs, "Deployment", "turnout");
        Map<String, Object> c = container(docs);
        assertThat((Boolean) at(deployment, "spec.template.spec.securityContext.runAsNonRoot")).isTrue();
        assertThat((Boolean) at(c, "securityContext.readOnlyRootFilesystem")).isTrue();
        assertThat((Boolean) at(c, "securityContext.allowPrivilegeEscalation")).isFalse();
        assertThat((String) at(c, "startupProbe.httpGet.path")).isEqualTo("/q/health/started");
        assertThat((String) at(c, "readinessProbe.httpGet.path")).isEqualTo("/q/health/ready");
        assertThat((String) at(c, "livenessProbe.httpGet.path")).isEqualTo("/q/health/live");
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            assertThat((Object) at(c, probe + ".httpGet.port")).as(probe).isEqualTo("management");
        }
        assertThat((Map<String, Object>) at(c, "resources.requests")).containsKeys("cpu", "memory");
        assertThat((Map<String, Object>) at(c, "resources.limits")).containsKey("memory");
        List<Map<String, Object>> mounts = (List<Map<String, Object>>) c.get("volumeMounts");
        assertThat(mounts).as("a writable /tmp under a read-only root").anyMatch(m -> "/tmp".equals(m.get("mountPath")));
        assertThat((List<Map<String, Object>>) c.get("envFrom")).anyMatch(e -> "turnout-config".equals(at(e, "configMapRef.name")));

        // applications reach the data port only; control, health and metrics are on the other Service
        Map<String, Object> data = one(docs, "Service", "turnout");
        assertThat((List<Map<String, Object>>) at(data, "spec.ports")).extracting(p -> p.get("targetPort")).containsExactly("data");
        Map<String, Object> management = one(docs, "Service", "turnout-management");
        assertThat((List<Map<String, Object>>) at(management, "spec.ports")).extracting(p -> p.get("targetPort")).containsExactly("management");

        // no secret is written into a manifest: credentials come from Secret references
        env(c).forEach((name, e) -> {
            if (name.matches(".*(PASSWORD|TOKEN|API_KEY|HASH|_URL)$") && !name.equals("TURNOUT_FLAGS_UNLEASH_URL")
                    && !name.equals("TURNOUT_SEARCH_CONNECTRA_URL")) {
                assertThat((Object) at(e, "valueFrom.secretKeyRef.name")).as(name + " from a Secret").isNotNull();
            }
        });
        Map<String, Object> config = one(docs, "ConfigMap", "turnout-config");
        assertThat(((Map<String, Object>) config.get("data")).keySet()).noneMatch(k -> k.matches(".*(PASSWORD|TOKEN|API_KEY|HASH)$"));

        // the pod's JVM collects and compiles as bin/turnout's does, so the benchmarks measure what a pod runs
        String launcherGc = launcherLine("gc=");
        String launcherJvm = launcherLine("jvm=");
        assertThat(launcherGc).isEqualTo("-XX:+UseSerialGC");
        assertThat(launcherJvm).contains("-XX:MetaspaceSize=", "-XX:Tier4InvocationThreshold=");
        assertThat((String) at(config, "data.JDK_JAVA_OPTIONS")).contains(launcherGc + " " + launcherJvm).contains("-Xmx");
    }

    /** The value of bin/turnout's shell variable assignment starting with {@code assignment}, without its quotes. */
    private static String launcherLine(String assignment) {
        try {
            return Files.readAllLines(Path.of("bin/turnout")).stream().filter(l -> l.startsWith(assignment)).findFirst()
                    .map(l -> l.substring(assignment.length()).replace("\"", ""))
                    .orElseThrow(() -> new AssertionError("bin/turnout has no line " + assignment));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void productionRunsTwoOrMoreReplicasOnExternalDatabasesWithMonitoring() throws Exception {
        List<Map<String, Object>> docs = build("production");
        runsSafelyWithProbes(docs);
        Map<String, Object> deployment = one(docs, "Deployment", "turnout");
        assertThat((Integer) at(deployment, "spec.replicas")).isGreaterThanOrEqualTo(2);
        assertThat((Integer) at(one(docs, "HorizontalPodAutoscaler", "turnout"), "spec.minReplicas")).isGreaterThanOrEqualTo(2);
        assertThat((Object) at(one(docs, "PodDisruptionBudget", "turnout"), "spec.minAvailable")).isEqualTo(1);

        Map<String, Map<String, Object>> env = env(container(docs));
        for (String db : List.of("MAIN", "MESSAGES")) {
            assertThat((Object) at(env.get("TURNOUT_DATABASES_" + db + "_URL"), "valueFrom.secretKeyRef.name")).as(db).isEqualTo("turnout");
        }
        Map<String, Object> config = (Map<String, Object>) one(docs, "ConfigMap", "turnout-config").get("data");
        assertThat(config).containsEntry("QUARKUS_PROFILE", "prod").containsEntry("TURNOUT_AUTH_MODE", "oidc")
                .containsEntry("TURNOUT_CONTROL_PORT", "management").containsKey("TURNOUT_FLAGS_UNLEASH_URL");

        // the Unleash backup file is on a volume that outlives the pod
        String backup = (String) config.get("TURNOUT_FLAGS_UNLEASH_BACKUP_FILE");
        Map<String, Object> volume = volumeHolding(docs, backup);
        assertThat(volume).doesNotContainKey("emptyDir");
        String claim = at(volume, "persistentVolumeClaim.claimName");
        one(docs, "PersistentVolumeClaim", Objects.requireNonNull(claim));

        // Prometheus scrapes the management port, and the rules are those promtool tests
        Map<String, Object> monitor = one(docs, "ServiceMonitor", "turnout");
        assertThat((Object) at(monitor, "spec.endpoints.0.port")).isEqualTo("management");
        assertThat((Object) at(monitor, "spec.endpoints.0.path")).isEqualTo("/q/metrics");
        Map<String, String> selects = at(monitor, "spec.selector.matchLabels");
        Map<String, String> managementLabels = at(one(docs, "Service", "turnout-management"), "metadata.labels");
        Map<String, String> dataLabels = at(one(docs, "Service", "turnout"), "metadata.labels");
        assertThat(managementLabels).containsAllEntriesOf(selects);
        assertThat(dataLabels.entrySet().containsAll(selects.entrySet())).as("the data Service is not scraped").isFalse();
        assertThat((Object) one(docs, "PrometheusRule", "turnout").get("spec")).isEqualTo(AlertRulesTest.spec());
    }

    @Test
    @SuppressWarnings("unchecked")
    void theEmbeddedDemoRunsOneReplicaOnItsOwnPostgresqlKeptOnAVolume() throws Exception {
        List<Map<String, Object>> docs = build("embedded-demo");
        runsSafelyWithProbes(docs);
        Map<String, Object> deployment = one(docs, "Deployment", "turnout");
        assertThat((Integer) at(deployment, "spec.replicas")).isEqualTo(1);
        assertThat((Object) at(deployment, "spec.strategy.type")).as("never two servers on one data directory").isEqualTo("Recreate");
        assertThat(docs).noneMatch(d -> d.get("kind").equals("HorizontalPodAutoscaler"));

        Map<String, Map<String, Object>> env = env(container(docs));
        assertThat(env.keySet()).noneMatch(n -> n.startsWith("TURNOUT_DATABASES_"));
        Map<String, Object> config = (Map<String, Object>) one(docs, "ConfigMap", "turnout-config").get("data");
        assertThat(config.get("QUARKUS_PROFILE")).as("not prod: the embedded-database alert is for production").isNotEqualTo("prod");
        String dataDir = (String) config.get("TURNOUT_EMBEDDED_DATA_DIRECTORY");
        Map<String, Object> volume = volumeHolding(docs, dataDir);
        one(docs, "PersistentVolumeClaim", Objects.requireNonNull(at(volume, "persistentVolumeClaim.claimName")));
        assertThat(volumeHolding(docs, (String) config.get("TURNOUT_FLAGS_FILE"))).as("the flag file's volume").isEqualTo(volume);
        assertThat((Object) at(env.get("TURNOUT_AUTH_KEYS_DEMO_HASH"), "valueFrom.secretKeyRef.name")).isEqualTo("turnout-demo");
    }
}
