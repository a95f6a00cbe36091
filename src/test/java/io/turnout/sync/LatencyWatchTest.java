package io.turnout.sync;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The p99 backfill throttling watches, read from the request timers' Prometheus buckets. */
class LatencyWatchTest {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    private Timer timer(String domain, String operation) {
        return Timer.builder("turnout_requests").tag("domain", domain).tag("operation", operation)
                .serviceLevelObjectives(Stream.of(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000).map(Duration::ofMillis).toArray(Duration[]::new))
                .register(registry);
    }

    private static void record(Timer t, int times, long millis) {
        for (int i = 0; i < times; i++) t.record(Duration.ofMillis(millis));
    }

    @Test
    void theP99OfTheDomainsRequestsSinceTheFirstReadingIsInterpolatedInsideItsBucket() {
        LatencyWatch watch = new LatencyWatch(registry);
        Timer get = timer("connections", "get");
        Timer create = timer("connections", "create");
        record(get, 500, 300);   // before the first reading: not in the window
        assertThat(watch.p99("connections")).isEqualTo(Duration.ZERO);

        record(get, 700, 3);
        record(create, 290, 3);
        record(create, 10, 400);
        record(timer("messages", "get"), 1000, 2000);   // another domain
        // rank 990 of 1,000 is the last request of the (2 ms, 5 ms] bucket
        assertThat(watch.p99("connections")).isBetween(Duration.ofMillis(2), Duration.ofMillis(5));

        record(get, 100, 400);
        // 1,100 since the first reading: rank 1,089 lies in (250 ms, 500 ms], 99 of its 110 requests in
        assertThat(watch.p99("connections").toMillis()).isEqualTo(475);
        assertThat(watch.p99("messages")).isEqualTo(Duration.ZERO);
        assertThat(watch.p99("messages")).isEqualTo(Duration.ZERO);
    }

    @Test
    void aRankPastTheLastBucketIsTheLastBound() {
        LatencyWatch watch = new LatencyWatch(registry);
        Timer get = timer("users", "get");
        assertThat(watch.p99("users")).isEqualTo(Duration.ZERO);
        record(get, 100, 5000);
        assertThat(watch.p99("users")).isEqualTo(Duration.ofSeconds(1));
    }
}
