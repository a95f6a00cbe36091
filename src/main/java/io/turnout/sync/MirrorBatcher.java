package io.turnout.sync;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.turnout.TurnoutConfig;
import io.turnout.db.Database;
import io.turnout.domain.Domain;
import io.turnout.domain.Side;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Mirrors freshly written keys to the other database in batches, like a group commit: while one
 * batch is in flight, the keys written meanwhile gather and go together in the next. Requests do
 * not wait for their batch unless the lane falls behind, and then for {@code turnout.timeouts.mirror-wait}
 * at most. One batch costs one transaction per {@link Mirror#LOCK_BATCH} keys on the target and one
 * outbox clean-up, however many requests it serves. Every key already has its outbox entry, so a
 * key the lane does not take (queue full) or does not finish (the target failed) is left to the
 * outbox relay, counted in {@code turnout_mirror_deferred_total}; the requests have succeeded either way.
 */
@Singleton
public class MirrorBatcher {
    private static final Logger LOG = Logger.getLogger(MirrorBatcher.class);
    private static final int MAX_BATCH = 500;
    /** Keys a lane holds at most; past it new keys go straight to the outbox relay. */
    private static final int MAX_QUEUE = 10 * MAX_BATCH;

    private record Pending(Object key, long outboxId, Promise<Void> done) {}

    private record Route(String domain, Side source, Side target) {}

    private final class Lane {
        final Domain domain;
        final Route route;
        final Database outboxDb;
        final List<Pending> waiting = new ArrayList<>();
        boolean inFlight;

        Lane(Domain domain, Route route) {
            this.domain = domain;
            this.route = route;
            this.outboxDb = domain.store(route.source()).database();
        }

        /** Null when the lane is full: the key is left to the outbox relay. */
        Future<Void> submit(Object key, long outboxId) {
            Promise<Void> done = Promise.promise();
            boolean start;
            synchronized (this) {
                if (waiting.size() >= MAX_QUEUE) return null;
                waiting.add(new Pending(key, outboxId, done));
                start = !inFlight;
                if (start) inFlight = true;
            }
            if (start) flush();
            return done.future();
        }

        /**
         * After a failed batch: each key on its own, so one key the target refuses holds back no
         * other. A key that fails again counts an attempt and is left to the outbox relay.
         */
        private Future<Void> oneByOne(List<Pending> batch) {
            Map<Object, List<Long>> byKey = new java.util.LinkedHashMap<>();
            batch.forEach(p -> byKey.computeIfAbsent(p.key(), k -> new ArrayList<>()).add(p.outboxId()));
            Future<Void> chain = Future.succeededFuture();
            for (Map.Entry<Object, List<Long>> e : byKey.entrySet()) {
                chain = chain.compose(v -> mirror.sync(domain, e.getKey(), route.source(), route.target())
                        .compose(x -> outbox.doneAll(outboxDb, e.getValue()))
                        .recover(err -> {
                            String error = err.getClass().getSimpleName() + ": " + err.getMessage();
                            LOG.warnf("Domain %s: key %s not mirrored to the %s store (%s); the outbox relay will retry it",
                                    domain.name(), domain.keyText(e.getKey()), route.target().label(), error);
                            Future<Void> counted = Future.succeededFuture();
                            for (long id : e.getValue()) counted = counted.compose(y -> outbox.failed(outboxDb, id, 0, err).mapEmpty());
                            return counted.otherwiseEmpty();
                        }));
            }
            return chain;
        }

        synchronized int backlog() {
            return waiting.size();
        }

        private void flush() {
            List<Pending> batch;
            synchronized (this) {
                if (waiting.isEmpty()) {
                    inFlight = false;
                    return;
                }
                int n = Math.min(MAX_BATCH, waiting.size());
                batch = new ArrayList<>(waiting.subList(0, n));
                waiting.subList(0, n).clear();
            }
            List<Object> keys = batch.stream().map(Pending::key).distinct().toList();
            List<Long> ids = batch.stream().map(Pending::outboxId).toList();
            mirror.syncAll(domain, keys, route.source(), route.target())
                    .compose(copied -> outbox.doneAll(outboxDb, ids))
                    .recover(e -> {
                        if (io.turnout.fleet.StoreFence.refusedCopy(e)) {
                            // a stage change is under way: not a failure of the target; the relay copies them by the stage applied next
                            LOG.debugf("Domain %s: mirroring %d keys to the %s store waits for a stage change (%s)",
                                    domain.name(), keys.size(), route.target().label(), e.getMessage());
                            deferred(domain).increment(keys.size());
                            return Future.succeededFuture();
                        }
                        if (!Outbox.rejected(e)) {
                            // the target is slow or away: key by key would wait as long once per key
                            LOG.warnf("Domain %s: mirroring %d keys to the %s store failed (%s); the outbox relay retries them",
                                    domain.name(), keys.size(), route.target().label(), e.getMessage());
                            deferred(domain).increment(keys.size());
                            return Future.succeededFuture();
                        }
                        LOG.warnf("Domain %s: mirroring %d keys to the %s store failed (%s); mirroring them one by one",
                                domain.name(), keys.size(), route.target().label(), e.getMessage());
                        return oneByOne(batch);
                    })
                    .onComplete(ar -> {
                        batch.forEach(p -> p.done().complete());
                        flush();
                    });
        }
    }

    private final Mirror mirror;
    private final Outbox outbox;
    private final Vertx vertx;
    private final MeterRegistry registry;
    private final long waitMillis;
    private final Map<Route, Lane> lanes = new ConcurrentHashMap<>();
    private final Map<String, Counter> deferred = new ConcurrentHashMap<>();

    public MirrorBatcher(Mirror mirror, Outbox outbox, Vertx vertx, MeterRegistry registry, TurnoutConfig config) {
        this.mirror = mirror;
        this.outbox = outbox;
        this.vertx = vertx;
        this.registry = registry;
        this.waitMillis = Math.max(1, config.timeouts().mirrorWait().toMillis());
    }

    /**
     * Mirrors one committed write. The returned future completes at once while the lane keeps up
     * (the outbox entry already makes the write durable); once more than {@value #MAX_BATCH} keys
     * wait, when the key's batch is done or after {@code turnout.timeouts.mirror-wait}, whichever
     * comes first: back-pressure, bounded in time and memory.
     */
    public Future<Void> submit(Domain domain, Object key, long outboxId, Side source, Side target) {
        Route route = new Route(domain.name(), source, target);
        Lane lane = lanes.computeIfAbsent(route, r -> new Lane(domain, r));
        Future<Void> done = lane.submit(key, outboxId);
        if (done == null) {
            deferred(domain).increment();
            return Future.succeededFuture();
        }
        if (lane.backlog() <= MAX_BATCH) return Future.succeededFuture();
        Promise<Void> answer = Promise.promise();
        long timer = vertx.setTimer(waitMillis, id -> {
            if (answer.tryComplete()) deferred(domain).increment();
        });
        done.onComplete(ar -> {
            vertx.cancelTimer(timer);
            answer.tryComplete();
        });
        return answer.future();
    }

    private Counter deferred(Domain domain) {
        return deferred.computeIfAbsent(domain.name(), n -> Counter.builder("turnout_mirror_deferred")
                .description("Committed writes whose second write was left to the outbox relay because the mirror lane was behind or failing")
                .tag("domain", n).register(registry));
    }
}
