package io.turnout.control;

import io.turnout.TurnoutConfig;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;

/**
 * The clock the retirement safety window and request expiry are measured by: the system clock
 * plus {@code turnout.clock.offset}, so a rehearsal (or a test) can stand past the window. Every
 * retirement check shows the offset in its evidence.
 */
@Singleton
public class TurnoutClock {
    private volatile Duration offset;

    public TurnoutClock(TurnoutConfig config) {
        this.offset = config.clock().offset();
    }

    public Instant now() {
        return Instant.now().plus(offset);
    }

    public Duration offset() {
        return offset;
    }

    /** Moves this process's clock forward (tests in the same process as Turnout). */
    public void advance(Duration by) {
        offset = offset.plus(by);
    }
}
