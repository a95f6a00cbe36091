package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.turnout.support.TurnoutProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * bin/turnout, the README's way to run Turnout: the first start records a class-data archive of
 * Turnout's start-up as Turnout stops, and the next start maps Turnout's classes from it.
 */
class LauncherIT {
    private TurnoutProcess turnout;

    @AfterEach
    void stop() {
        if (turnout != null) turnout.close();
    }

    private static List<Path> archives(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().matches("turnout-[0-9]+\\.jsa")).toList();
        }
    }

    @Test
    void theFirstStartRecordsAnArchiveAndTheNextMapsTurnoutsClassesFromIt() throws Exception {
        Path dir = Path.of("target/it-launcher").toAbsolutePath();
        Path cds = dir.resolve("cds");
        turnout = TurnoutProcess.in(dir, TurnoutProcess.flagsAt("legacy"), Map.of("TURNOUT_CDS_DIR", cds.toString()))
                .launchedBy("bin/turnout").start();
        assertThat(given().get("/data/connections/1").jsonPath().getLong("id")).isEqualTo(1L);
        assertThat(Files.exists(cds) ? archives(cds) : List.<Path>of()).as("nothing recorded before the first stop").isEmpty();
        turnout.stop();
        assertThat(archives(cds)).as("the archive the first start recorded as it stopped").hasSize(1);

        int before = turnout.log().length();
        turnout.with("JAVA_OPTS", "-Xlog:class+load=info").start();
        String second = turnout.log().substring(before);
        assertThat(second).as("Turnout's own classes come from the archive")
                .containsPattern("io\\.turnout\\.\\S+ source: shared objects file \\(top\\)");
        assertThat(given().get("/data/connections/1").jsonPath().getLong("id")).isEqualTo(1L);
        assertThat(archives(cds)).as("the same archive, not a new one").hasSize(1);
    }
}
