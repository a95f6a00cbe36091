package io.turnout;

import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.config.spi.ConfigSource;

/**
 * One Vert.x event loop per processor the JVM may use, rather than Quarkus' two: Turnout never
 * blocks an event loop (every store call is asynchronous, the data API runs on the loops), so a
 * second loop per core only adds thread switches. With the load generator, Turnout and PostgreSQL
 * on one 2-core machine, one loop per core served reads with a quarter less CPU per request
 * (bench/data-path). A default only: {@code quarkus.vertx.event-loops-pool-size} (or
 * QUARKUS_VERTX_EVENT_LOOPS_POOL_SIZE) set anywhere else wins.
 */
public class EventLoops implements ConfigSource {
    static final String PROPERTY = "quarkus.vertx.event-loops-pool-size";

    @Override
    public Map<String, String> getProperties() {
        return Map.of(PROPERTY, getValue(PROPERTY));
    }

    @Override
    public Set<String> getPropertyNames() {
        return Set.of(PROPERTY);
    }

    @Override
    public String getValue(String name) {
        return PROPERTY.equals(name) ? Integer.toString(Runtime.getRuntime().availableProcessors()) : null;
    }

    @Override
    public String getName() {
        return "turnout-event-loops";
    }

    /** Below application.yaml (250), system properties (400) and environment variables (300). */
    @Override
    public int getOrdinal() {
        return 50;
    }
}
