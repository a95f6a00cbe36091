package io.turnout.routing;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.turnout.domain.Domain;
import io.turnout.domain.Normalization;
import io.turnout.domain.Record;
import io.turnout.store.Origin;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Compares a sampled read with the other store in the background and counts the result. The
 * response never waits for it, and at most {@value #MAX_IN_FLIGHT} comparisons run at once: a
 * sample taken beyond that is dropped and counted ({@code result="dropped"}) rather than queued.
 */
final class ShadowReads {
    private static final Logger LOG = Logger.getLogger(ShadowReads.class);
    /** Few enough that comparisons stuck on a hung store leave most of the pool to client reads. */
    static final int MAX_IN_FLIGHT = 4;

    private final MeterRegistry registry;
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();

    ShadowReads(MeterRegistry registry) {
        this.registry = registry;
    }

    void compare(Domain domain, Object key, Record served, Origin other) {
        if (inFlight.incrementAndGet() > MAX_IN_FLIGHT) {
            inFlight.decrementAndGet();
            count(domain, "dropped");
            return;
        }
        other.get(key).onComplete(ar -> {
            inFlight.decrementAndGet();
            String result;
            if (ar.failed()) {
                result = "error";
            } else {
                // a field only one store holds has a stand-in on the other side, not a value to agree with
                List<String> fields = new Normalization(domain.heldByOneOnly(), null).differingFields(domain.fields(), served, ar.result());
                result = fields.isEmpty() ? "match" : "mismatch";
                fields.forEach(f -> Counter.builder("turnout_shadow_mismatch_fields")
                        .description("Fields that differed in sampled reads compared with the other store")
                        .tag("domain", domain.name())
                        .tag("field", f)
                        .register(registry)
                        .increment());
                if (!fields.isEmpty()) {
                    LOG.debugf("Domain %s: shadow read of key %s differs in the %s, fields %s", domain.name(), key, other.describe(), fields);
                }
            }
            count(domain, result);
        });
    }

    private void count(Domain domain, String result) {
        Counter.builder("turnout_shadow_reads")
                .description("Sampled reads compared with the other store, by result")
                .tag("domain", domain.name())
                .tag("result", result)
                .register(registry)
                .increment();
    }
}
