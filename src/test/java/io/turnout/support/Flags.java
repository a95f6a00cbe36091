package io.turnout.support;

import static org.awaitility.Awaitility.await;

import io.restassured.RestAssured;
import io.turnout.routing.Stage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sets domains' stages for tests. {@link #stage} puts a domain at a stage as test setup: the flag
 * names it and the control database records it as applied, the way a domain that got there earlier
 * would be, so tests about routing need not walk every gate. Tests about moving between stages
 * use {@link #variant} (the flag only) and let stage control take the steps.
 */
public final class Flags {
    public static final Path FILE = Path.of("target/test-flags.json");
    private static final Map<String, String> CURRENT = new ConcurrentHashMap<>();

    private Flags() {}

    /** Puts a domain at a stage (flag and recorded applied stage) and waits until Turnout routes by it. */
    public static void stage(String domain, Stage stage) {
        Sql sql = new Sql(io.quarkus.arc.Arc.container().instance(io.turnout.db.Databases.class).get());
        // the stage API may have rewritten the flag file since this class last did
        Map<String, Object> desired = sql.row("main", "SELECT desired FROM turnout_stage WHERE domain = $1", domain);
        if (!stage.label().equals(CURRENT.get(domain)) || desired == null || !stage.label().equals(desired.get("desired"))) {
            variant(domain, stage.label(), true);
        }
        // once stage control has read the flag it no longer steps toward an older desired stage
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> stage.label().equals(
                sql.row("main", "SELECT desired FROM turnout_stage WHERE domain = $1", domain).get("desired")));
        sql.rows("main", "UPDATE turnout_stage SET applied = $2, desired = $2, changed_at = clock_timestamp(), "
                + "mirrored_since = CASE WHEN $3 THEN clock_timestamp() END, shadow_compared = 0, shadow_confirmed = 0 WHERE domain = $1 "
                + "AND applied IS DISTINCT FROM $2", domain, stage.label(), stage.mirror().isPresent());
        // and the databases' fences, as stage control would have set them on its way there
        for (String db : List.of("main", "messages")) {
            sql.rows(db, "UPDATE turnout_fence SET stage = $2, epoch = epoch + 1 WHERE domain = $1 AND stage IS DISTINCT FROM $2",
                    domain, stage.label());
        }
        awaitStage(domain, stage);
    }

    /** Writes a raw variant (possibly not a stage) and whether the flag is enabled. */
    public static void variant(String domain, String variant, boolean enabled) {
        CURRENT.put(domain, variant + (enabled ? "" : "|off"));
        write(new HashMap<>(CURRENT));
    }

    public static void remove(String domain) {
        CURRENT.remove(domain);
        write(new HashMap<>(CURRENT));
    }

    public static void awaitStage(String domain, Stage stage) {
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> stage.label().equals(
                RestAssured.get("/data").jsonPath().getString("domains.find { it.name == '" + domain + "' }.stage")));
    }

    static void write(Map<String, String> variants) {
        try {
            Files.createDirectories(FILE.getParent());
            Path tmp = Files.createTempFile(FILE.getParent(), "flags", ".json");
            Files.writeString(tmp, json(variants));
            Files.move(tmp, FILE, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A flag file naming each domain's variant ({@code "name"}, or {@code "name|off"} for a disabled flag). */
    public static String json(Map<String, String> variants) {
        StringBuilder json = new StringBuilder("{\"version\":2,\"features\":[");
        String sep = "";
        for (Map.Entry<String, String> e : variants.entrySet()) {
            String[] parts = e.getValue().split("\\|");
            boolean enabled = parts.length == 1;
            json.append(sep).append("{\"name\":\"turnout.").append(e.getKey()).append(".stage\",\"enabled\":").append(enabled)
                    .append(",\"strategies\":[{\"name\":\"default\",\"parameters\":{},\"constraints\":[],\"variants\":[")
                    .append("{\"name\":\"").append(parts[0]).append("\",\"weight\":1000,\"weightType\":\"variable\",\"stickiness\":\"default\"}")
                    .append("]}],\"variants\":[]}");
            sep = ",";
        }
        return json.append("]}").toString();
    }

    public static List<Stage> all() {
        return List.of(Stage.values());
    }
}
