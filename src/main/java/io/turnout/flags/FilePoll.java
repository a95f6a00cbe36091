package io.turnout.flags;

import io.getunleash.util.UnleashScheduledExecutor;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Runs the Unleash client's poll of the flag file every {@code turnout.flags.refresh-interval}
 * (at least every 100 ms, as stage control's own re-evaluation).
 * The client's own executor counts whole seconds, so an edited file would wait up to a second
 * before stage control could see it; a poll of the file is one {@code stat} while it is unchanged.
 * Only the file's poll is scheduled here (the offline client sends no metrics). A poll that fails
 * is logged and the next one runs: a periodic task that threw would otherwise never run again.
 */
final class FilePoll implements UnleashScheduledExecutor {
    private static final Logger LOG = Logger.getLogger(FilePoll.class);

    private final Duration every;
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "turnout-flag-file");
        t.setDaemon(true);
        return t;
    });

    FilePoll(Duration every) {
        this.every = every;
    }

    @Override
    public void setInterval(Runnable command, long initialDelaySeconds, long periodSeconds) {
        long millis = Math.max(100, every.toMillis());
        executor.scheduleAtFixedRate(() -> {
            try {
                command.run();
            } catch (RuntimeException e) {
                LOG.warnf("Reading the flag file failed (%s); the flags loaded before stay in force", e.toString());
            }
        }, millis, millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public Future<Void> scheduleOnce(Runnable command) {
        return executor.submit(command, null);
    }

    @Override
    public void shutdown() {
        executor.shutdown();
    }

    @Override
    public void shutdownNow() {
        executor.shutdownNow();
    }
}
