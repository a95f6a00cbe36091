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

/** Moves domains between stages the way a release manager does offline: by editing the flag file. */
public final class Flags {
    public static final Path FILE = Path.of("target/test-flags.json");
    private static final Map<String, String> CURRENT = new ConcurrentHashMap<>();

    private Flags() {}

    /** Sets a domain's stage in the flag file and waits until Turnout applies it. */
    public static void stage(String domain, Stage stage) {
        if (!stage.label().equals(CURRENT.get(domain))) variant(domain, stage.label(), true);
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
        json.append("]}");
        try {
            Files.createDirectories(FILE.getParent());
            Path tmp = Files.createTempFile(FILE.getParent(), "flags", ".json");
            Files.writeString(tmp, json);
            Files.move(tmp, FILE, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<Stage> all() {
        return List.of(Stage.values());
    }
}
