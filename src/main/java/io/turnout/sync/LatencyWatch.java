package io.turnout.sync;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The recent p99 of a domain's data API requests: what backfill throttling watches. It is read
 * from the request timers' histogram buckets (the ones Prometheus scrapes), as the difference
 * between now and a reading 15 to 30 seconds old, and placed inside its bucket by linear
 * interpolation, as Prometheus' {@code histogram_quantile} does. Recording a request costs one
 * bucket increment; no percentile is computed on the request path.
 */
@Singleton
public class LatencyWatch {
    /** How long a reading serves as the base of the window before the next one replaces it. */
    static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(15);

    private final MeterRegistry registry;
    private final Map<String, Window> windows = new ConcurrentHashMap<>();

    /** Cumulative counts per bucket upper bound (nanoseconds) at a moment. */
    private record Reading(long at, TreeMap<Double, Double> counts, double total) {}

    /** The older reading is the base; the newer one becomes the base once the older is a window old. */
    private record Window(Reading older, Reading newer) {}

    public LatencyWatch(MeterRegistry registry) {
        this.registry = registry;
    }

    /** The p99 of the domain's requests since the window's base; zero when there were none (or on a first reading). */
    public Duration p99(String domain) {
        Reading now = read(domain, System.nanoTime());
        Window w = windows.compute(domain, (d, old) -> {
            // unread for longer than a window: start again rather than average over the quiet time
            if (old == null || now.at() - old.newer().at() >= 2 * WINDOW_NANOS) return new Window(now, now);
            return now.at() - old.newer().at() >= WINDOW_NANOS ? new Window(old.newer(), now) : old;
        });
        return Duration.ofNanos((long) quantile(0.99, w.older(), now));
    }

    private Reading read(String domain, long at) {
        TreeMap<Double, Double> counts = new TreeMap<>();
        double total = 0;
        for (Timer t : registry.find("turnout_requests").tag("domain", domain).timers()) {
            var snapshot = t.takeSnapshot();
            total += snapshot.count();
            for (CountAtBucket b : snapshot.histogramCounts()) counts.merge(b.bucket(TimeUnit.NANOSECONDS), b.count(), Double::sum);
        }
        return new Reading(at, counts, total);
    }

    /**
     * The value below which {@code q} of the requests between two readings fell: the bucket that
     * holds that rank, interpolated between its bounds; past the last bound, the last bound.
     */
    static double quantile(double q, Reading base, Reading now) {
        double total = now.total() - base.total();
        if (total <= 0) return 0;
        double rank = q * total;
        double lower = 0;
        double below = 0;
        for (Map.Entry<Double, Double> b : now.counts().entrySet()) {
            if (b.getKey().isInfinite()) break;
            double upTo = b.getValue() - base.counts().getOrDefault(b.getKey(), 0.0);
            if (upTo >= rank) {
                double inBucket = upTo - below;
                return inBucket <= 0 ? b.getKey() : lower + (b.getKey() - lower) * (rank - below) / inBucket;
            }
            lower = b.getKey();
            below = upTo;
        }
        return lower;
    }
}
