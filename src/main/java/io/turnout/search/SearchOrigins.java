package io.turnout.search;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.faulttolerance.api.CircuitBreakerMaintenance;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.turnout.TurnoutConfig;
import io.vertx.core.Vertx;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.net.URI;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** The search services configured under {@code turnout.search}, one guarded client each. */
@Singleton
public class SearchOrigins {
    private final Map<String, SearchClient> byName = new LinkedHashMap<>();

    public SearchOrigins(TurnoutConfig config, Vertx vertx, ObjectMapper json, CircuitBreakerMaintenance breakers, MeterRegistry registry) {
        config.search().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            SearchClient client = new SearchClient(e.getKey(), e.getValue(), vertx, json, breakers, registry);
            byName.put(e.getKey(), client);
            Gauge.builder("turnout_search_breaker_state", client, c -> level(c.breakerState()))
                    .description("Circuit breaker of a search origin: 0 closed, 1 half-open, 2 open")
                    .tag("origin", e.getKey())
                    .register(registry);
        });
    }

    /** Problems with the search origins' settings, each naming its origin; empty when all are usable. */
    public static List<String> problems(TurnoutConfig config) {
        List<String> problems = new java.util.ArrayList<>();
        config.search().forEach((name, c) -> {
            String where = "search origin '" + name + "': ";
            try {
                URI uri = URI.create(c.url());
                if (uri.getHost() == null || !List.of("http", "https").contains(String.valueOf(uri.getScheme()))) {
                    problems.add(where + "url must be an http or https URL with a host");
                }
            } catch (IllegalArgumentException ex) {
                problems.add(where + "url is not a URL");
            }
            if (c.timeout().isZero() || c.timeout().isNegative()) problems.add(where + "timeout must be positive");
            if (c.bulkhead() < 1 || c.bulkheadQueue() < 0) problems.add(where + "bulkhead must be at least 1 and bulkhead-queue at least 0");
            if (c.retries() < 0 || c.retries() > 5) problems.add(where + "retries must be between 0 and 5");
            var b = c.breaker();
            if (b.requestVolumeThreshold() < 1 || b.failureRatio() <= 0 || b.failureRatio() > 1 || b.successThreshold() < 1
                    || b.delay().isNegative()) {
                problems.add(where + "breaker needs request-volume-threshold >= 1, 0 < failure-ratio <= 1, success-threshold >= 1");
            }
        });
        return problems;
    }

    public Optional<SearchClient> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public Collection<SearchClient> all() {
        return byName.values();
    }

    /** The breaker state as health data and docs spell it: closed, half_open or open. */
    public static String label(CircuitBreakerState state) {
        return state.name().toLowerCase(Locale.ROOT);
    }

    private static int level(CircuitBreakerState state) {
        return switch (state) {
            case CLOSED -> 0;
            case HALF_OPEN -> 1;
            case OPEN -> 2;
        };
    }

    @PreDestroy
    void close() {
        byName.values().forEach(SearchClient::close);
    }
}
