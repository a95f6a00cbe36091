package io.turnout.flags;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.TurnoutConfig;
import io.turnout.TurnoutConfig.FlagsConfig;
import io.turnout.api.Problems;
import io.turnout.domain.Domain;
import io.turnout.routing.Stage;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jboss.logging.Logger;

/**
 * Sets the desired stage of a domain where its flag lives: through Unleash's admin API when an
 * Unleash URL and an admin token are configured, otherwise by rewriting the flag file atomically
 * (a new file moved over the old one, so a reader never sees half of it).
 */
@Singleton
public class FlagWriter {
    private static final Logger LOG = Logger.getLogger(FlagWriter.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final FlagsConfig config;
    private final ObjectMapper json;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    public FlagWriter(TurnoutConfig turnout, ObjectMapper json) {
        this.config = turnout.flags();
        this.json = json;
    }

    /** Where desired stages are written, for problems and the control API. */
    public String describe() {
        if (config.unleashUrl().isEmpty()) return "flag file " + config.file().toAbsolutePath();
        return config.unleashAdminToken().isPresent() ? "Unleash admin API at " + adminUrl() : "Unleash (read only: no admin token)";
    }

    public CompletionStage<Void> write(Domain domain, Stage target) {
        if (config.unleashUrl().isEmpty()) {
            return CompletableFuture.runAsync(() -> rewriteFile(domain, target));
        }
        if (config.unleashAdminToken().isEmpty()) {
            return CompletableFuture.failedFuture(Problems.problem(409, "flags-read-only", "Flags are read only",
                    "Stage flags come from Unleash and no admin token is configured (turnout.flags.unleash-admin-token): change flag "
                            + domain.flag() + " in Unleash, or configure the token", null));
        }
        return unleash(domain, target);
    }

    private synchronized void rewriteFile(Domain domain, Stage target) {
        Path file = config.file().toAbsolutePath();
        try {
            ObjectNode root;
            if (Files.exists(file)) {
                JsonNode read;
                try {
                    read = json.readTree(Files.readString(file));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw Problems.problem(409, "flag-file-invalid", "Flag file is not valid JSON",
                            "The flag file " + file + " is not valid JSON; fix it before setting a stage", null);
                }
                if (!(read instanceof ObjectNode o)) {
                    throw Problems.problem(409, "flag-file-invalid", "Flag file is not a JSON object",
                            "The flag file " + file + " is not a JSON object; fix it before setting a stage", null);
                }
                root = o;
            } else {
                root = json.createObjectNode().put("version", 2);
            }
            ArrayNode features = root.has("features") && root.get("features").isArray() ? (ArrayNode) root.get("features") : root.putArray("features");
            ObjectNode feature = null;
            for (JsonNode f : features) {
                if (f instanceof ObjectNode o && domain.flag().equals(o.path("name").asText())) feature = o;
            }
            if (feature == null) {
                feature = features.addObject().put("name", domain.flag()).put("type", "release");
                feature.putArray("variants");
            }
            feature.put("enabled", true);
            ArrayNode strategies = feature.has("strategies") && feature.get("strategies").isArray()
                    ? (ArrayNode) feature.get("strategies") : feature.putArray("strategies");
            if (strategies.isEmpty() || !(strategies.get(0) instanceof ObjectNode)) {
                strategies.removeAll();
                ObjectNode s = strategies.addObject().put("name", "default");
                s.putObject("parameters");
                s.putArray("constraints");
            }
            ((ObjectNode) strategies.get(0)).set("variants", variants(target));
            Path dir = file.getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".turnout-flags", ".json");
            Files.writeString(tmp, json.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            LOG.infof("Domain %s: flag %s set to %s in %s", domain.name(), domain.flag(), target.label(), file);
        } catch (IOException e) {
            throw Problems.problem(503, "flag-store-unavailable", "Flag file not written",
                    "The flag file " + file + " could not be written (" + e.getClass().getSimpleName() + ")", 5);
        }
    }

    private ArrayNode variants(Stage target) {
        ArrayNode a = json.createArrayNode();
        a.addObject().put("name", target.label()).put("weight", 1000).put("weightType", "variable").put("stickiness", "default");
        return a;
    }

    /** Creates the flag if needed, sets the stage as the variant of its first strategy in the environment, and turns it on. */
    private CompletionStage<Void> unleash(Domain domain, Stage target) {
        String feature = "/projects/" + enc(config.unleashProject()) + "/features/" + enc(domain.flag());
        String strategies = feature + "/environments/" + enc(config.unleashEnvironment()) + "/strategies";
        return call("GET", feature, null, true)
                .thenCompose(found -> found != null ? CompletableFuture.completedFuture(found)
                        : call("POST", "/projects/" + enc(config.unleashProject()) + "/features",
                                json.createObjectNode().put("name", domain.flag()).put("type", "release"), false))
                .thenCompose(v -> call("GET", strategies, null, false))
                .thenCompose(list -> {
                    ObjectNode body = json.createObjectNode();
                    JsonNode first = list.isArray() && !list.isEmpty() ? list.get(0) : null;
                    if (first == null) {
                        body.put("name", "flexibleRollout");
                        body.putObject("parameters").put("rollout", "100").put("stickiness", "default").put("groupId", domain.flag());
                    } else {
                        body.put("name", first.path("name").asText());
                        body.set("parameters", first.path("parameters").isObject() ? first.get("parameters") : json.createObjectNode());
                        body.set("constraints", first.path("constraints").isArray() ? first.get("constraints") : json.createArrayNode());
                    }
                    body.set("variants", variants(target));
                    return first == null ? call("POST", strategies, body, false)
                            : call("PUT", strategies + "/" + enc(first.path("id").asText()), body, false);
                })
                .thenCompose(v -> call("POST", feature + "/environments/" + enc(config.unleashEnvironment()) + "/on", null, false))
                .thenAccept(v -> LOG.infof("Domain %s: flag %s set to %s in Unleash", domain.name(), domain.flag(), target.label()));
    }

    /** One admin API call; null for a 404 when {@code absentOk}. Failures never carry the token. */
    private CompletionStage<JsonNode> call(String method, String path, JsonNode body, boolean absentOk) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(adminUrl() + path))
                .timeout(TIMEOUT)
                .header("Authorization", config.unleashAdminToken().orElse(""))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body.toString()))
                .build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                .handle((r, e) -> {
                    if (e != null) {
                        throw Problems.problem(503, "flag-store-unavailable", "Unleash unavailable",
                                "The Unleash admin API did not answer (" + cause(e).getClass().getSimpleName() + "); retry later", 5);
                    }
                    if (absentOk && r.statusCode() == 404) return null;
                    if (r.statusCode() / 100 != 2) {
                        LOG.warnf("Unleash admin API answered %d to %s %s: %s", r.statusCode(), method, path, r.body());
                        throw Problems.problem(502, "flag-store-refused", "Unleash refused the change",
                                "The Unleash admin API answered " + r.statusCode() + " to " + method + " " + path, null);
                    }
                    try {
                        return r.body() == null || r.body().isBlank() ? json.createObjectNode() : json.readTree(r.body());
                    } catch (IOException x) {
                        return json.createObjectNode();
                    }
                });
    }

    private String adminUrl() {
        return config.unleashAdminUrl().orElseGet(() -> config.unleashUrl().map(u -> u.replaceAll("/+$", "") + "/admin").orElse(""));
    }

    private static Throwable cause(Throwable e) {
        return e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
