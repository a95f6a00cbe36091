package io.turnout.sync;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.turnout.TurnoutConfig;
import io.turnout.db.Database;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.routing.AppliedStages;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Retries second writes that did not happen inline: takes due outbox entries from every database,
 * mirrors each key from its source store, and backs off exponentially on failure, for as long as
 * it takes. Also publishes outbox depth and oldest age per domain.
 */
@Singleton
public class OutboxRelay {
    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);

    private final Databases databases;
    private final Domains domains;
    private final Outbox outbox;
    private final Mirror mirror;
    private final AppliedStages stages;
    private final Vertx vertx;
    private final int batchSize;
    private final long intervalMillis;
    private final Map<String, Outbox.Depth> depth = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Outbox.Depth>> depthByDatabase = new ConcurrentHashMap<>();
    private final Set<String> relaying = ConcurrentHashMap.newKeySet();
    private volatile long timerId = -1;

    public OutboxRelay(TurnoutConfig config, Databases databases, Domains domains, Outbox outbox, Mirror mirror, AppliedStages stages,
            Vertx vertx, MeterRegistry registry) {
        this.stages = stages;
        this.databases = databases;
        this.domains = domains;
        this.outbox = outbox;
        this.mirror = mirror;
        this.vertx = vertx;
        this.batchSize = config.outbox().batchSize();
        this.intervalMillis = Math.max(50, config.outbox().relayInterval().toMillis());
        for (Domain d : domains.all()) {
            Gauge.builder("turnout_outbox_depth", () -> depthOf(d.name()).count())
                    .description("Keys waiting for their second write")
                    .tag("domain", d.name()).register(registry);
            Gauge.builder("turnout_outbox_oldest_age_seconds", () -> depthOf(d.name()).oldestAgeSeconds())
                    .description("Age of the oldest key waiting for its second write")
                    .tag("domain", d.name()).register(registry);
            Gauge.builder("turnout_outbox_parked", () -> depthOf(d.name()).parked())
                    .description("Keys whose second write failed too often and is no longer retried on its own")
                    .tag("domain", d.name()).register(registry);
        }
    }

    void start(@Observes StartupEvent event) {
        timerId = vertx.setPeriodic(intervalMillis, id -> pass());
    }

    void stop(@Observes ShutdownEvent event) {
        if (timerId >= 0) vertx.cancelTimer(timerId);
    }

    public Outbox.Depth depthOf(String domain) {
        return depth.getOrDefault(domain, Outbox.Depth.NONE);
    }

    /**
     * One relay pass over every database. Each database's pass runs on its own and never overlaps
     * with its previous one, so a database that hangs holds back only its own entries. Completes
     * when the passes this call started are done.
     */
    public Future<Void> pass() {
        List<Future<Void>> work = new ArrayList<>();
        for (Database db : databases.all()) {
            if (!relaying.add(db.name())) continue;
            work.add(relay(db)
                    .compose(v -> refreshDepth(db))
                    .onComplete(ar -> relaying.remove(db.name())));
        }
        return Future.join(work).mapEmpty();
    }

    private Future<Void> relay(Database db) {
        return outbox.due(db, batchSize).compose(entries -> {
            // one key at a time, each in its own transaction: a key that keeps failing holds back no other;
            // once a store does not answer, the rest of this pass's keys for it wait for the next pass
            Set<String> away = new HashSet<>();
            Future<Void> chain = Future.succeededFuture();
            for (Outbox.Entry e : entries) {
                chain = chain.compose(v -> away.contains(storeOf(e))
                        ? Future.succeededFuture()
                        : relayOne(db, e, away));
            }
            return chain;
        }).recover(e -> {
            LOG.warnf("Outbox relay could not read database %s: %s", db.name(), e.getMessage());
            return Future.succeededFuture();
        });
    }

    /** The store an entry is waiting for: its domain's target side. */
    private static String storeOf(Outbox.Entry entry) {
        return entry.domain() + "/" + entry.target().label();
    }

    private Future<Void> relayOne(Database db, Outbox.Entry entry, Set<String> away) {
        Domain domain = domains.find(entry.domain()).orElse(null);
        if (domain == null) {
            LOG.warnf("Outbox entry %d names unknown domain %s; left in place", entry.id(), entry.domain());
            return Future.succeededFuture();
        }
        Object key;
        try {
            key = domain.key().type().fromText(entry.key());
        } catch (IllegalArgumentException e) {
            return outbox.failed(db, entry.id(), entry.attempts(), new IllegalArgumentException("key does not parse: " + e.getMessage())).mapEmpty();
        }
        // an entry says the stores may differ for this key; the store authoritative now is the one to copy from
        io.turnout.domain.Side into = stages.get(domain.name()).authoritative() == entry.target() ? entry.source() : entry.target();
        return mirror.sync(domain, key, into.other(), into)
                .compose(v -> outbox.doneAll(db, List.of(entry.id())))
                .onSuccess(v -> {
                    if (entry.attempts() > 0) {
                        LOG.infof("Domain %s: key %s mirrored to the %s store after %d retries",
                                domain.name(), entry.key(), entry.target().label(), entry.attempts());
                    }
                })
                .recover(e -> {
                    // a copy the fence refused (a switch under way, or this replica behind the fleet) is not a failed
                    // attempt: the entry stays as it is and the next pass copies by the stage applied then
                    if (io.turnout.fleet.StoreFence.refusedCopy(e)) {
                        return Future.<Void>succeededFuture();
                    }
                    if (!Outbox.rejected(e)) away.add(storeOf(entry));
                    String error = e.getClass().getSimpleName() + ": " + e.getMessage();
                    LOG.debugf("Domain %s: key %s still not mirrored to the %s store (attempt %d): %s",
                            domain.name(), entry.key(), entry.target().label(), entry.attempts() + 1, error);
                    return outbox.failed(db, entry.id(), entry.attempts(), e)
                            .onSuccess(parked -> {
                                if (parked) {
                                    LOG.errorf("Domain %s: key %s parked after %d failed attempts to bring the %s store up to date: %s. "
                                                    + "It blocks any step that moves authority; a backfill, a repair or "
                                                    + "POST /admin/migrations/%s/outbox/retry tries it again",
                                            domain.name(), entry.key(), entry.attempts() + 1, entry.target().label(), error, domain.name());
                                }
                            })
                            .<Void>mapEmpty().otherwiseEmpty();
                });
    }

    /**
     * Brings over every outbox entry of the domain now, due or not, for the write fence: each key
     * from the store authoritative at {@code stage}, the one the switch starts from, into the other.
     * Fails at once when a key is parked, and when the work is not done by {@code deadlineNanos}
     * ({@link System#nanoTime()}). Returns how many keys it brought over.
     */
    public Future<Integer> drain(Domain domain, io.turnout.routing.Stage stage, long deadlineNanos) {
        Future<Integer> total = Future.succeededFuture(0);
        for (Database db : databasesOf(domain)) {
            total = total.compose(n -> drain(db, domain, stage, deadlineNanos).map(m -> n + m));
        }
        return total;
    }

    private Future<Integer> drain(Database db, Domain domain, io.turnout.routing.Stage stage, long deadlineNanos) {
        if (System.nanoTime() > deadlineNanos) {
            return Future.failedFuture(new IllegalStateException("outbox of domain " + domain.name() + " in database " + db.name()
                    + " not drained in time"));
        }
        return outbox.pending(db, domain.name(), batchSize).compose(entries -> {
            if (entries.isEmpty()) return Future.succeededFuture(0);
            Map<List<io.turnout.domain.Side>, List<Outbox.Entry>> byRoute = new HashMap<>();
            io.turnout.domain.Side authoritative = stage.authoritative();
            for (Outbox.Entry e : entries) {
                io.turnout.domain.Side into = authoritative == e.target() ? e.source() : e.target();
                byRoute.computeIfAbsent(List.of(into.other(), into), r -> new ArrayList<>()).add(e);
            }
            Future<Integer> chain = Future.succeededFuture(0);
            for (Map.Entry<List<io.turnout.domain.Side>, List<Outbox.Entry>> route : byRoute.entrySet()) {
                List<Outbox.Entry> group = route.getValue();
                List<Object> keys = group.stream().map(e -> (Object) domain.key().type().fromText(e.key())).distinct().toList();
                List<Long> ids = group.stream().map(Outbox.Entry::id).toList();
                // by the route, as the relay copies: an entry written before authority last moved names the old direction
                chain = chain.compose(n -> mirror.syncFenced(domain, stage, keys, route.getKey().get(0), route.getKey().get(1))
                        .compose(v -> outbox.doneAll(db, ids)).map(v -> n + keys.size()));
            }
            return chain.compose(n -> drain(db, domain, stage, deadlineNanos).map(m -> n + m));
        });
    }

    /** The databases a domain's outbox entries can be in: those of its table stores. */
    public List<Database> databasesOf(Domain domain) {
        List<Database> out = new ArrayList<>();
        for (var side : io.turnout.domain.Side.values()) {
            if (domain.writable(side) && !out.contains(domain.store(side).database())) out.add(domain.store(side).database());
        }
        return out;
    }

    /** The domain's parked keys, oldest first, from every database that can hold them. */
    public Future<List<Outbox.Parked>> parked(Domain domain, int limit) {
        List<Future<List<Outbox.Parked>>> all = databasesOf(domain).stream().map(db -> outbox.parked(db, domain.name(), limit)).toList();
        return Future.all(all).map(v -> {
            List<Outbox.Parked> out = new ArrayList<>();
            all.forEach(f -> out.addAll(f.result()));
            out.sort(java.util.Comparator.comparing(Outbox.Parked::parkedAt));
            return out.size() > limit ? out.subList(0, limit) : out;
        });
    }

    /**
     * Puts the domain's parked keys (all, or those given) back in line and runs a relay pass;
     * returns how many were parked. Called after a backfill or repair, and by release managers.
     */
    public Future<Integer> retryParked(Domain domain, List<String> keys) {
        List<Future<Integer>> all = databasesOf(domain).stream().map(db -> outbox.unpark(db, domain.name(), keys)).toList();
        return Future.all(all).map(v -> all.stream().mapToInt(Future::result).sum())
                .onSuccess(n -> {
                    if (n > 0) {
                        LOG.infof("Domain %s: %d parked keys put back in line for the outbox relay", domain.name(), n);
                        pass();
                    }
                });
    }

    /** Re-counts one database's outbox; a database that does not answer keeps its last counts. */
    private Future<Void> refreshDepth(Database db) {
        return outbox.depth(db).onSuccess(counts -> depthByDatabase.put(db.name(), counts)).<Void>mapEmpty()
                .transform(ar -> {
                    Map<String, Outbox.Depth> merged = new HashMap<>();
                    depthByDatabase.values().forEach(counts -> counts.forEach((domain, d) -> merged.merge(domain, d, Outbox.Depth::plus)));
                    for (Domain d : domains.all()) {
                        depth.put(d.name(), merged.getOrDefault(d.name(), Outbox.Depth.NONE));
                    }
                    return Future.succeededFuture();
                });
    }
}
