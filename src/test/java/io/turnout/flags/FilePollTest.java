package io.turnout.flags;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class FilePollTest {

    /**
     * The Unleash client asks for its poll every second, the least its own executor can do; the
     * flag file is polled at the refresh interval instead, and a poll that throws does not end the
     * polling.
     */
    @Test
    void theFileIsPolledAtTheRefreshIntervalAndAFailedPollDoesNotStopIt() {
        FilePoll poll = new FilePoll(Duration.ofMillis(100));
        try {
            AtomicInteger runs = new AtomicInteger();
            long started = System.nanoTime();
            poll.setInterval(() -> {
                if (runs.incrementAndGet() == 1) throw new IllegalStateException("unreadable");
            }, 1, 1);
            await().atMost(Duration.ofSeconds(30)).until(() -> runs.get() >= 5);
            // five polls a second apart would take four seconds at least
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(4));
        } finally {
            poll.shutdownNow();
        }
    }
}
