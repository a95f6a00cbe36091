package io.turnout.routing;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.turnout.store.Store;
import java.util.Objects;
import org.jboss.logging.Logger;

/** Compares a sampled read with the other store in the background and counts the result. */
final class ShadowReads {
    private static final Logger LOG = Logger.getLogger(ShadowReads.class);

    private final MeterRegistry registry;

    ShadowReads(MeterRegistry registry) {
        this.registry = registry;
    }

    void compare(Domain domain, Object key, Record served, Store other) {
        other.get(other.database().pool(), key).onComplete(ar -> {
            String result;
            if (ar.failed()) {
                result = "error";
            } else if (Objects.equals(served, ar.result())) {
                result = "match";
            } else {
                result = "mismatch";
                LOG.debugf("Domain %s: shadow read of key %s differs in the %s store", domain.name(), key, other.side().label());
            }
            Counter.builder("turnout_shadow_reads")
                    .description("Sampled reads compared with the other store, by result")
                    .tag("domain", domain.name())
                    .tag("result", result)
                    .register(registry)
                    .increment();
        });
    }
}
