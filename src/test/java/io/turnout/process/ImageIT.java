package io.turnout.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.turnout.support.Ports;
import io.turnout.support.TurnoutProcess;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The README's image command builds the image k8s/base/deployment.yaml runs, without a Docker daemon: the
 * build pushes to a real registry on the loopback address, and the image found there starts
 * Turnout's packaged application as a non-root user on port 8080. The base image is a small one
 * made here (no registry outside this machine is reached); the application layers are the real
 * ones.
 */
class ImageIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MANIFEST = "application/vnd.docker.distribution.manifest.v2+json,"
            + "application/vnd.oci.image.manifest.v1+json";

    private final HttpClient http = HttpClient.newHttpClient();
    private Process registry;

    @AfterEach
    void stop() throws InterruptedException {
        if (registry != null) {
            registry.destroy();
            registry.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void theImageCommandPushesTheImageTheDeploymentRuns() throws Exception {
        Path dir = Path.of("target/image-it").toAbsolutePath();
        TurnoutProcess.in(dir, "{}", java.util.Map.of());
        String address = "127.0.0.1:" + Ports.free();
        startRegistry(dir, address);
        Path base = baseImage(dir);

        String image = k8sImage();
        assertThat(image).as("image named by k8s/base/deployment.yaml").isEqualTo("turnout:0.1.0");
        String[] nameAndTag = image.split(":");

        Process build = new ProcessBuilder("./mvnw", "-B", "-q", "-Pimage", "-Dmaven.test.skip=true",
                        "-Dturnout.build.dir=" + dir.resolve("build"), "package",
                        "-Dquarkus.container-image.registry=" + address,
                        "-Dquarkus.container-image.insecure=true",
                        "-Dquarkus.jib.base-jvm-image=tar://" + base)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("build.log").toFile())
                .start();
        assertThat(build.waitFor(10, TimeUnit.MINUTES)).as("image build finished; see %s", dir.resolve("build.log")).isTrue();
        assertThat(build.exitValue()).as("image build exit code; see %s", dir.resolve("build.log")).isZero();

        JsonNode manifest = json(get(address, "/v2/" + nameAndTag[0] + "/manifests/" + nameAndTag[1], MANIFEST));
        JsonNode config = json(get(address, "/v2/" + nameAndTag[0] + "/blobs/" + manifest.at("/config/digest").asText(), "*/*")).get("config");

        List<String> entrypoint = new ArrayList<>();
        config.get("Entrypoint").forEach(part -> entrypoint.add(part.asText()));
        assertThat(entrypoint).first().isEqualTo("java");
        assertThat(entrypoint).last().isEqualTo("quarkus-run.jar");
        assertThat(config.at("/ExposedPorts").has("8080/tcp")).isTrue();
        assertThat(config.at("/ExposedPorts").has("9000/tcp")).as("the management port").isTrue();
        assertThat(config.get("User").asText()).isEqualTo("185");

        Set<String> files = new HashSet<>();
        for (JsonNode layer : manifest.get("layers")) {
            byte[] blob = get(address, "/v2/" + nameAndTag[0] + "/blobs/" + layer.get("digest").asText(), "*/*");
            files.addAll(tarNames(new GZIPInputStream(new java.io.ByteArrayInputStream(blob))));
        }
        String workDir = config.get("WorkingDir").asText().substring(1);
        assertThat(files).contains(workDir + "/quarkus-run.jar", workDir + "/quarkus/quarkus-application.dat");
        assertThat(files).anyMatch(f -> f.startsWith(workDir + "/lib/main/") && f.contains("vertx-pg-client"));
        assertThat(files).anyMatch(f -> f.startsWith(workDir + "/app/") && f.endsWith(".jar"));
    }

    private void startRegistry(Path dir, String address) throws IOException {
        Path config = dir.resolve("registry.yml");
        Files.writeString(config, "version: 0.1\n"
                + "log:\n  level: warn\n"
                + "storage:\n  filesystem:\n    rootdirectory: " + dir.resolve("registry") + "\n"
                + "http:\n  addr: " + address + "\n");
        registry = new ProcessBuilder("docker-registry", "serve", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("registry.log").toFile())
                .start();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!registry.isAlive()) throw new IllegalStateException("registry exited; see " + dir.resolve("registry.log"));
            try {
                return http.send(HttpRequest.newBuilder(URI.create("http://" + address + "/v2/")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** A base image in `docker save` form: one layer with /etc/passwd naming user 185. */
    private static Path baseImage(Path dir) throws IOException, InterruptedException {
        Path image = dir.resolve("base");
        Files.createDirectories(image.resolve("root/etc"));
        Files.writeString(image.resolve("root/etc/passwd"), "root:x:0:0::/root:/bin/sh\njboss:x:185:0::/home/jboss:/bin/sh\n");
        run(image, "tar", "-C", "root", "-cf", "layer.tar", "etc");
        String diffId = sha256(image.resolve("layer.tar"));
        Files.writeString(image.resolve("config.json"), "{\"architecture\":\"amd64\",\"os\":\"linux\","
                + "\"config\":{\"Env\":[\"PATH=/usr/bin:/bin\"]},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" + diffId + "\"]}}");
        Files.writeString(image.resolve("manifest.json"),
                "[{\"Config\":\"config.json\",\"RepoTags\":[\"base:1\"],\"Layers\":[\"layer.tar\"]}]");
        run(image, "tar", "-cf", "base.tar", "manifest.json", "config.json", "layer.tar");
        return image.resolve("base.tar");
    }

    private static String sha256(Path file) throws IOException {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
            return java.util.HexFormat.of().formatHex(digest);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).inheritIO().start();
        assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command)).isZero();
    }

    private static String k8sImage() throws IOException {
        return Files.readAllLines(Path.of("k8s/base/deployment.yaml")).stream()
                .map(String::strip)
                .filter(line -> line.startsWith("image:"))
                .map(line -> line.substring("image:".length()).strip())
                .findFirst()
                .orElseThrow();
    }

    private byte[] get(String address, String path, String accept) throws IOException, InterruptedException {
        HttpResponse<byte[]> response = http.send(HttpRequest.newBuilder(URI.create("http://" + address + path))
                .header("Accept", accept).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(response.statusCode()).as("GET %s", path).isEqualTo(200);
        return response.body();
    }

    private static JsonNode json(byte[] body) throws IOException {
        return JSON.readTree(body);
    }

    /** The entry names of a tar stream (ustar headers: name at 0, size in octal at 124). */
    private static List<String> tarNames(InputStream in) throws IOException {
        List<String> names = new ArrayList<>();
        DataInputStream data = new DataInputStream(in);
        byte[] header = new byte[512];
        while (true) {
            data.readFully(header);
            if (header[0] == 0) return names;
            String prefix = field(header, 345, 155);
            String name = field(header, 0, 100);
            names.add(prefix.isEmpty() ? name : prefix + "/" + name);
            long size = Long.parseLong(field(header, 124, 12).strip(), 8);
            data.skipNBytes((size + 511) / 512 * 512);
        }
    }

    private static String field(byte[] header, int offset, int length) {
        int end = offset;
        while (end < offset + length && header[end] != 0) end++;
        return new String(header, offset, end - offset, StandardCharsets.UTF_8);
    }
}
