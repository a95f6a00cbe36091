package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.turnout.support.TurnoutProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

    /**
     * The JVM writes the archive as it exits; a first start killed while it writes leaves nothing
     * in place (a half-written archive would be mapped, or refused, by every later start), and the
     * next start records the archive again.
     */
    @Test
    void anArchiveIsPutInPlaceOnlyByARecorderThatStoppedAndLaterStartsMapTurnoutsClassesFromIt() throws Exception {
        Path dir = Path.of("target/it-launcher").toAbsolutePath();
        Path cds = dir.resolve("cds");
        turnout = TurnoutProcess.in(dir, TurnoutProcess.flagsAt("legacy"), Map.of("TURNOUT_CDS_DIR", cds.toString()))
                .launchedBy("bin/turnout").start();
        assertThat(given().get("/data/connections/1").jsonPath().getLong("id")).isEqualTo(1L);
        assertThat(Files.exists(cds) ? archives(cds) : List.<Path>of()).as("nothing recorded before the first stop").isEmpty();

        // stopped, then killed as soon as the JVM has begun to write the archive
        ProcessHandle java = turnout.java();
        turnout.terminate();
        await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(1)).until(() -> writing(cds));
        java.destroyForcibly();
        assertThat(turnout.exitStatus()).as("the launcher's status is Java's: killed").isEqualTo(137);
        assertThat(archives(cds)).as("no archive from a recorder killed while it wrote").isEmpty();
        assertThat(turnout.log()).contains("the next start records it again");

        turnout.start();
        assertThat(given().get("/data/connections/1").jsonPath().getLong("id")).isEqualTo(1L);
        turnout.stop();
        assertThat(archives(cds)).as("the archive the second start recorded as it stopped").hasSize(1);

        int before = turnout.log().length();
        turnout.with("JAVA_OPTS", "-Xlog:class+load=info").start();
        String third = turnout.log().substring(before);
        assertThat(third).as("Turnout's own classes come from the archive")
                .containsPattern("io\\.turnout\\.\\S+ source: shared objects file \\(top\\)");
        assertThat(given().get("/data/connections/1").jsonPath().getLong("id")).isEqualTo(1L);
        assertThat(archives(cds)).as("the same archive, not a new one").hasSize(1);
    }

    /** Whether a file with content has appeared in the archive's directory. */
    private static boolean writing(Path cds) throws Exception {
        if (!Files.isDirectory(cds)) return false;
        try (Stream<Path> files = Files.list(cds)) {
            return files.anyMatch(f -> f.toFile().length() > 0);
        }
    }
}
