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
        return Map.of("turnout.embedded.data-directory", DATA.toString(),
                "turnout.flags.file", Flags.FILE.toString(),
                "turnout.search.connectra.url", SearchService.url());
    }

    @Override
    public void stop() {
        // the data directory stays for inspection after a failed run
    }
}
