package io.turnout.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.turnout.support.TurnoutProcess;
import io.turnout.support.Writers;
import io.turnout.support.Writers.Column;
import io.turnout.support.Writers.Known;
import io.turnout.support.Writers.Target;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The embedded default is durable: at dual_write eight clients write, the embedded PostgreSQL is
 * killed with SIGKILL under them, Turnout is restarted on the same data directory, and every write
 * that was acknowledged is in both stores with the last value acknowledged for it; no acknowledged
 * delete comes back. Both topologies: one database (connections) and two (messages, through the
 * outbox).
 */
class DurabilityIT {
    private TurnoutProcess turnout;

    @AfterEach
    void stop() {
        if (turnout != null) turnout.close();
    }

    static Stream<Arguments> domains() {
        return Stream.of(
                Arguments.of(Target.connections(), new Column("main", "user_connections", "id", "status"),
                        new Column("main", "company_connections", "id", "status")),
                Arguments.of(Target.messages(), new Column("main", "direct_messages", "id", "body"),
                        new Column("messages", "messages", "id", "content")));
    }

    @ParameterizedTest
    @MethodSource("domains")
    void everyAcknowledgedWriteSurvivesAKilledDatabase(Target target, Column legacy, Column fresh) throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-durability-" + target.domain()), TurnoutProcess.flagsAt("dual_write"),
                Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000")).start();
        for (String setting : List.of("fsync", "synchronous_commit", "full_page_writes")) {
            assertThat(turnout.query("main", "SHOW " + setting)).as(setting).isEqualTo("on");
        }

        Writers writers = Writers.start(target, 8, 10_000);
        // writes flow until the database dies under them
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100)).until(() -> writers.acknowledged() >= 600);
        turnout.killPostgres();
        Map<Long, Known> known = writers.stop();
        turnout.kill();

        turnout.start();
        assertThat(known.values().stream().filter(k -> k.acknowledged != null).count()).as("acknowledged creates").isGreaterThanOrEqualTo(100);
        assertThat(known.values().stream().filter(k -> k.deleted).count()).as("acknowledged deletes").isPositive();
        // the second writes left in the outbox at the crash are finished by the relay
        await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(250)).until(() ->
                turnout.count("SELECT count(*) FROM turnout_outbox") == 0
                        && ((Number) turnout.query("messages", "SELECT count(*) FROM turnout_outbox")).longValue() == 0);
        for (Column store : List.of(legacy, fresh)) {
            try (Connection c = turnout.connect(store.database())) {
                assertThat(Writers.lost(c, store, known)).as("acknowledged writes lost or rolled back in " + store.table()).isEmpty();
            }
        }
    }
}
