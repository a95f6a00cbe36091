package io.turnout.routing;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.turnout.TurnoutConfig;
import io.turnout.domain.Domain;
import io.turnout.domain.Normalization;
import io.turnout.domain.Record;
import io.turnout.store.Origin;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import jakarta.inject.Singleton;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Compares sampled reads with the other store in the background. A difference is read again from
 * both stores after {@code turnout.stages.shadow-confirm-delay}: if the served store changed
 * meanwhile, or the stores now agree, a write was in flight and the result is {@code transient};
 * otherwise the mismatch is {@code confirmed}, counted against the domain's mismatch limit, and
 * kept (key and field names, never values). The response never waits, and at most
 * {@value #MAX_IN_FLIGHT} samples wait or are compared at once: a sample beyond that is dropped and
 * counted.
 *
 * <p>The other store is read like a group commit: per domain, one read is under way at a time;
 * the samples taken while it runs, or in the {@value #GATHER_MILLIS} ms after the first of them,
 * are read together in the next one (one statement for up to {@value #MAX_BATCH_KEYS} keys; it
 * starts at once when {@value #EARLY_KEYS} keys wait). A busy domain costs the other store a
 * statement per batch rather than per sample: at the default 10 % sampling, a statement for every
 * few hundred reads instead of nearly one for every ten.
 */
@Singleton
public class ShadowReads {
    private static final Logger LOG = Logger.getLogger(ShadowReads.class);
    /**
     * Samples waiting for or in a comparison, at most. They wait as a record each and are read a
     * batch at a time over one connection per database, apart from client reads; with a hung store
     * a batch fails after 100 ms (its lock bound) or 1 s (its statement bound), so they drain
     * within a few seconds.
     */
    static final int MAX_IN_FLIGHT = 256;
    /** Records of one sampled list read compared at most. */
    static final int MAX_LIST_RECORDS = 50;
    /** Keys read from the other store in one statement at most. */
    static final int MAX_BATCH_KEYS = 256;
    /** How long the first sample of a batch waits for others before the batch is read, at most. */
    static final long GATHER_MILLIS = 10;
    /** Keys waiting that start a batch's read without waiting out {@link #GATHER_MILLIS}. */
    static final int EARLY_KEYS = 64;

    private final MeterRegistry registry;
    private final ShadowStats stats;
    private final Vertx vertx;
    private final long confirmDelayMillis;
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Each domain's comparison rules, worked out once (they depend on configuration only). */
    private final Map<String, Normalization> rules = new ConcurrentHashMap<>();
    /** turnout_shadow_reads by domain, then result, registered once each. */
    private final Map<String, Map<String, Counter>> counters = new ConcurrentHashMap<>();
    /** One lane per domain and pair of origins (served, other). */
    private final Map<LaneKey, Lane> lanes = new ConcurrentHashMap<>();

    private record LaneKey(String domain, Origin other, Origin servedBy) {}

    /** A sampled read waiting for, or in, a comparison: its keys and what the client was served (absent: not found). */
    private record Sample(List<Object> keys, Map<Object, Record> served, Stage stage) {}

    /** The samples of one domain compared with one other origin, a batch at a time. */
    private final class Lane {
        final Domain domain;
        final Origin other;
        final Origin servedBy;
        final Deque<Sample> waiting = new ArrayDeque<>();
        /** Keys of the samples waiting. */
        int waitingKeys;
        /** A batch is being read or gathering. */
        boolean reading;
        /** The gathering batch's timer, or -1. */
        long gathering = -1;

        Lane(Domain domain, Origin other, Origin servedBy) {
            this.domain = domain;
            this.other = other;
            this.servedBy = servedBy;
        }

        void add(Sample sample) {
            synchronized (this) {
                waiting.add(sample);
                waitingKeys += sample.keys().size();
                if (!reading) {
                    reading = true;
                    if (waitingKeys < EARLY_KEYS) {
                        gathering = vertx.setTimer(GATHER_MILLIS, this::gathered);
                        return;
                    }
                } else if (gathering < 0 || waitingKeys < EARLY_KEYS) {
                    return; // a read is under way, or the batch is still gathering
                } else {
                    vertx.cancelTimer(gathering);
                    gathering = -1;
                }
            }
            read();
        }

        /** The gathering time of the batch this timer was set for is up (a batch that started early has cleared it). */
        private void gathered(long timer) {
            synchronized (this) {
                if (gathering != timer) return;
                gathering = -1;
            }
            read();
        }

        /** Reads the samples waiting, up to {@value #MAX_BATCH_KEYS} keys. */
        private void read() {
            List<Sample> batch = new ArrayList<>();
            synchronized (this) {
                int keys = 0;
                while (!waiting.isEmpty() && (batch.isEmpty() || keys + waiting.peekFirst().keys().size() <= MAX_BATCH_KEYS)) {
                    Sample s = waiting.pollFirst();
                    keys += s.keys().size();
                    batch.add(s);
                }
                waitingKeys -= keys;
                if (batch.isEmpty()) {
                    reading = false;
                    return;
                }
            }
            compareBatch(this, batch).onComplete(ar -> afterRead());
        }

        /** Reads what came meanwhile at once when it is enough keys; gathers more first when it is not. */
        private void afterRead() {
            synchronized (this) {
                if (waiting.isEmpty()) {
                    reading = false;
                    return;
                }
                if (waitingKeys < EARLY_KEYS) {
                    gathering = vertx.setTimer(GATHER_MILLIS, this::gathered);
                    return;
                }
            }
            read();
        }
    }

    /** Samples waiting for or in a comparison now (a read, and its confirming re-read after a delay). */
    public int inFlight() {
        return inFlight.get();
    }

    public ShadowReads(MeterRegistry registry, ShadowStats stats, Vertx vertx, TurnoutConfig config) {
        this.registry = registry;
        this.stats = stats;
        this.vertx = vertx;
        this.confirmDelayMillis = Math.max(1, config.stages().shadowConfirmDelay().toMillis());
    }

    /** Compares one record read by key (null: not found) with the other store. */
    void compare(Domain domain, Object key, Record served, Origin other, Origin servedBy) {
        compareAll(domain, List.of(key), served == null ? Map.of() : Map.of(key, served), other, servedBy);
    }

    /** Compares the records of a sampled list read with the other store, by key. */
    void compareAll(Domain domain, List<Record> served, Origin other, Origin servedBy) {
        Map<Object, Record> byKey = new HashMap<>();
        List<Object> keys = new ArrayList<>();
        for (Record r : served.subList(0, Math.min(served.size(), MAX_LIST_RECORDS))) {
            Object key = r.get(domain.key().name());
            keys.add(key);
            byKey.put(key, r);
        }
        compareAll(domain, keys, byKey, other, servedBy);
    }

    private void compareAll(Domain domain, List<Object> keys, Map<Object, Record> served, Origin other, Origin servedBy) {
        Stage stage = stats.stageOf(domain);
        if (inFlight.incrementAndGet() > MAX_IN_FLIGHT) {
            inFlight.decrementAndGet();
            keys.forEach(k -> count(domain, stage, "dropped"));
            return;
        }
        lanes.computeIfAbsent(new LaneKey(domain.name(), other, servedBy), k -> new Lane(domain, other, servedBy))
                .add(new Sample(keys, served, stage));
    }

    /**
     * Reads a batch's keys from the other store in one statement and classifies each sample's;
     * completes once they are read (a difference's confirmation goes on in the background).
     */
    private Future<Void> compareBatch(Lane lane, List<Sample> batch) {
        Domain domain = lane.domain;
        Normalization compare = rules.computeIfAbsent(domain.name(), n -> normalization(domain));
        Set<Object> keys = new LinkedHashSet<>();
        batch.forEach(s -> keys.addAll(s.keys()));
        Future<Map<Object, Record>> read;
        try {
            read = read(lane.other, new ArrayList<>(keys), domain);
        } catch (RuntimeException e) {
            read = Future.failedFuture(e);
        }
        return read.andThen(ar -> {
            for (Sample s : batch) {
                if (ar.failed()) {
                    settle(domain, s, "error");
                    continue;
                }
                List<Object> differing = new ArrayList<>();
                try {
                    for (Object key : s.keys()) {
                        if (!differs(domain, compare, s.served().get(key), ar.result().get(key)).isEmpty()) differing.add(key);
                    }
                } catch (RuntimeException e) {
                    LOG.debugf(e, "Domain %s: a shadow comparison could not compare its records", domain.name());
                    settle(domain, s, "error");
                    continue;
                }
                if (differing.isEmpty()) {
                    settle(domain, s, "match");
                    continue;
                }
                int matched = s.keys().size() - differing.size();
                for (int i = 0; i < matched; i++) count(domain, s.stage(), "match");
                confirm(domain, s.stage(), compare, differing, s.served(), lane.other, lane.servedBy)
                        .onFailure(e -> differing.forEach(k -> count(domain, s.stage(), "error")))
                        .onComplete(x -> inFlight.decrementAndGet());
            }
        }).mapEmpty();
    }

    /** Counts each of a sample's keys with one result, and the sample as done. */
    private void settle(Domain domain, Sample s, String result) {
        s.keys().forEach(k -> count(domain, s.stage(), result));
        inFlight.decrementAndGet();
    }

    /** Reads the differing keys again from both stores after a pause, and classifies each. */
    private Future<Void> confirm(Domain domain, Stage stage, Normalization compare, List<Object> keys, Map<Object, Record> first,
            Origin other, Origin servedBy) {
        Promise<Void> later = Promise.promise();
        vertx.setTimer(confirmDelayMillis, id -> later.complete());
        return later.future().compose(v -> {
            Future<Map<Object, Record>> ours = read(servedBy, keys, domain);
            Future<Map<Object, Record>> theirs = read(other, keys, domain);
            return Future.all(ours, theirs).map(all -> {
                for (Object key : keys) {
                    Record again = ours.result().get(key);
                    List<String> fields = differs(domain, compare, again, theirs.result().get(key));
                    boolean changed = !differs(domain, compare, first.get(key), again).isEmpty();
                    if (changed || fields.isEmpty()) {
                        count(domain, stage, "transient");
                        continue;
                    }
                    count(domain, stage, "mismatch");
                    stats.confirmed(domain, stage, domain.keyText(key), fields);
                    fields.forEach(f -> Counter.builder("turnout_shadow_mismatch_fields")
                            .description("Fields that differed in confirmed shadow mismatches")
                            .tag("domain", domain.name()).tag("field", f).register(registry).increment());
                    LOG.debugf("Domain %s: shadow read of key %s differs in the %s, fields %s", domain.name(), key, other.describe(), fields);
                }
                return (Void) null;
            });
        });
    }

    private static Future<Map<Object, Record>> read(Origin origin, List<Object> keys, Domain domain) {
        return origin.compareAll(keys).map(records -> {
            Map<Object, Record> out = new HashMap<>();
            for (Record r : records) out.put(r.get(domain.key().name()), r);
            return out;
        });
    }

    /** The fields that differ; none when both records are absent. */
    private static List<String> differs(Domain domain, Normalization compare, Record a, Record b) {
        if (a == null && b == null) return List.of();
        return compare.differingFields(domain.fields(), a, b);
    }

    /** The domain's comparison rules, plus the fields only one store holds (a stand-in on the other side, not a value to agree with). */
    private static Normalization normalization(Domain domain) {
        Set<String> ignored = new LinkedHashSet<>(domain.heldByOneOnly());
        Normalization n = domain.normalization() == null ? Normalization.NONE : domain.normalization();
        ignored.addAll(n.ignoredFields());
        return new Normalization(ignored, n.timestampPrecision());
    }

    private void count(Domain domain, Stage stage, String result) {
        stats.count(domain, stage, result);
        counters.computeIfAbsent(domain.name(), d -> new ConcurrentHashMap<>())
                .computeIfAbsent(result, r -> Counter.builder("turnout_shadow_reads")
                        .description("Sampled reads compared with the other store, by result: match, mismatch (confirmed), transient, error, dropped")
                        .tag("domain", domain.name())
                        .tag("result", r)
                        .register(registry))
                .increment();
    }
}
