package io.turnout.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The PostgreSQL server Turnout runs itself when no database is configured. Its data directory is
 * kept, so the demo data and any migration progress survive a restart.
 */
final class EmbeddedServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EmbeddedServer.class);

    /** The settings that make an acknowledged commit survive a crash of the server or the machine. */
    static final List<String> DURABILITY = List.of("fsync", "synchronous_commit", "full_page_writes");

    private final EmbeddedPostgres postgres;

    private EmbeddedServer(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    static EmbeddedServer start(Path dataDirectory, int port, boolean loseWritesOnCrash) {
        try {
            Files.createDirectories(dataDirectory);
            stopOrphan(dataDirectory);
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDirectory)
                    .setCleanDataDirectory(false)
                    // stopped by Databases when the application stops, after the last shutdown work that
                    // writes (the replica recorded as stopped, backfill chunks handed back), not by a JVM
                    // hook that would race with it
                    .setRegisterShutdownHook(false)
                    .setPGStartupWait(Duration.ofSeconds(60))
                    .setServerConfig("max_connections", "300")
                    .setServerConfig("timezone", "UTC");
            // the embedded library starts PostgreSQL with -F and synchronous_commit=off; a later -c wins
            String durable = loseWritesOnCrash ? "off" : "on";
            for (String setting : DURABILITY) {
                builder.setServerConfig(setting, durable);
            }
            if (port > 0) {
                builder.setPort(port);
            }
            EmbeddedPostgres postgres = builder.start();
            LOG.infof("Embedded PostgreSQL listening on localhost:%d, data in %s",
                    postgres.getPort(), dataDirectory.toAbsolutePath());
            if (loseWritesOnCrash) {
                LOG.warnf("Embedded PostgreSQL runs with %s off (turnout.embedded.unsafe-lose-writes-on-crash): "
                        + "a crash loses writes that were already acknowledged. Never keep data you need this way.", DURABILITY);
            }
            return new EmbeddedServer(postgres);
        } catch (IOException e) {
            throw new IllegalStateException("Embedded PostgreSQL could not start in " + dataDirectory.toAbsolutePath()
                    + ": " + e.getMessage(), e);
        }
    }

    /** A server left running by a process that was killed holds the data directory; stop it first. */
    private static void stopOrphan(Path dataDirectory) throws IOException {
        Path pidFile = dataDirectory.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile);
        Optional<ProcessHandle> orphan = lines.isEmpty()
                ? Optional.empty()
                : ProcessHandle.of(Long.parseLong(lines.get(0).trim()));
        if (orphan.isPresent() && orphan.get().isAlive()
                && orphan.get().info().command().map(c -> c.contains("postgres")).orElse(false)) {
            LOG.warnf("Stopping PostgreSQL server (pid %d) left running on %s", orphan.get().pid(), dataDirectory);
            orphan.get().destroy();
            orphan.get().onExit().join();
        }
        Files.deleteIfExists(pidFile);
    }

    int port() {
        return postgres.getPort();
    }

    @Override
    public void close() throws IOException {
        postgres.close();
    }
}
