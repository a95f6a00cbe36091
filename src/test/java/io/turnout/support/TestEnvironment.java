package io.turnout.support;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Gives each test run a fresh embedded PostgreSQL data directory and a flag file with every domain
 * at legacy, and points the search origin at WireMock. Turnout itself starts the embedded server, exactly as on a user's first run.
 */
public class TestEnvironment implements QuarkusTestResourceLifecycleManager {
    public static final Path DATA = Path.of("target/pgdata-test");

    @Override
    public Map<String, String> start() {
        try {
            if (Files.exists(DATA)) {
                try (Stream<Path> files = Files.walk(DATA)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
            Flags.write(Map.of());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Map<String, String> config = new java.util.HashMap<>(TestKeys.config());
        config.put("turnout.embedded.data-directory", DATA.toString());
        config.put("turnout.flags.file", Flags.FILE.toString());
        config.put("turnout.search.connectra.url", SearchService.url());
        try {
            int management = Ports.free();
            System.setProperty(Management.PORT, Integer.toString(management));
            config.put("quarkus.management.test-port", Integer.toString(management));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return config;
    }

    @Override
    public void stop() {
        // the data directory stays for inspection after a failed run
    }
}
