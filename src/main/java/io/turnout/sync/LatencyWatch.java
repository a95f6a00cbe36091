package io.turnout.sync;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The recent p99 of a domain's data API requests, from the request timers: what backfill throttling watches. */
@Singleton
public class LatencyWatch {
    private final MeterRegistry registry;

    public LatencyWatch(MeterRegistry registry) {
        this.registry = registry;
    }

    /** The highest p99 over the domain's operations in the timers' recent window; zero when there is no traffic. */
    public Duration p99(String domain) {
        double worst = 0;
        for (Timer t : registry.find("turnout_requests").tag("domain", domain).timers()) {
            for (ValueAtPercentile v : t.takeSnapshot().percentileValues()) {
                if (v.percentile() == 0.99) worst = Math.max(worst, v.value(TimeUnit.NANOSECONDS));
            }
        }
        return Duration.ofNanos((long) worst);
    }
}
