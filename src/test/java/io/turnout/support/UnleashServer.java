package io.turnout.support;

import static org.awaitility.Awaitility.await;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.Map;

/**
 * A real Unleash server (the npm package, installed by the build) on its own embedded PostgreSQL.
 * Turnout under test points its Unleash client at it.
 */
public class UnleashServer implements QuarkusTestResourceLifecycleManager {
    private static final Path DIR = Path.of("src/test/unleash");
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static String base;

    private EmbeddedPostgres postgres;
    private Process node;

    @Override
    public Map<String, String> start() {
        if (!Files.isDirectory(DIR.resolve("node_modules/unleash-server"))) {
            throw new IllegalStateException("The Unleash server is not installed in " + DIR
                    + ": run the build without -DskipUnleashServer once (it runs npm ci there)");
        }
        try {
            postgres = EmbeddedPostgres.builder().setCleanDataDirectory(true).start();
            try (Connection c = postgres.getPostgresDatabase().getConnection()) {
                c.createStatement().execute("CREATE DATABASE unleash");
            }
            int port = Ports.free();
            ProcessBuilder pb = new ProcessBuilder("node", "server.js").directory(DIR.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(Path.of("target/unleash-server.log").toFile());
            pb.environment().put("PGPORT", Integer.toString(postgres.getPort()));
            pb.environment().put("UNLEASH_PORT", Integer.toString(port));
            node = pb.start();
            base = "http://localhost:" + port;
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250))
                    .until(() -> !node.isAlive() || health());
            if (!node.isAlive()) {
                throw new IllegalStateException("Unleash server exited; see target/unleash-server.log");
            }
        } catch (IOException | java.sql.SQLException e) {
            throw new IllegalStateException("Could not start the Unleash test server: " + e.getMessage(), e);
        }
        Path backup = Path.of("target/unleash-backup.json");
        try {
            Files.deleteIfExists(backup);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return Map.of("turnout.flags.unleash-url", base + "/api",
                // the test server runs without authentication; the token shows it is sent where configured
                "turnout.flags.unleash-admin-token", "turnout-test-admin-token",
                "turnout.flags.unleash-poll-interval", "1s",
                "turnout.flags.unleash-backup-file", backup.toString());
    }

    private static boolean health() {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).body().contains("GOOD");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Calls the admin API; fails on any non-2xx answer. */
    public static String admin(String method, String path, String json) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/api/admin" + path))
                .header("Content-Type", "application/json")
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        try {
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2) {
                throw new IllegalStateException(method + " " + path + " answered " + r.statusCode() + ": " + r.body());
            }
            return r.body();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stop() {
        if (node != null) {
            node.descendants().forEach(ProcessHandle::destroy);
            node.destroy();
            node.onExit().join();
        }
        if (postgres != null) {
            try {
                postgres.close();
            } catch (IOException ignored) {
                // the data directory is temporary
            }
        }
    }
}
