package io.turnout.routing;

import static io.turnout.db.Pipelined.inOrder;

import io.turnout.db.Database;
import io.turnout.db.Pipelined;
import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.flags.StageFlags;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.turnout.TurnoutConfig;
import io.turnout.fleet.Replicas;
import io.turnout.fleet.StoreFence;
import io.turnout.store.Companion;
import io.turnout.store.Guard;
import io.turnout.store.MirrorNote;
import io.turnout.search.SearchFailure;
import io.turnout.store.Origin;
import io.turnout.store.OutboxNote;
import io.turnout.store.Owned;
import io.turnout.store.Query;
import io.turnout.store.Store;
import io.turnout.store.StoreException;
import io.turnout.store.TableStore;
import io.turnout.sync.MirrorBatcher;
import io.turnout.sync.Outbox;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import jakarta.enterprise.event.Event;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.jboss.logging.Logger;

/**
 * Sends each read and write of a domain where its stage says. Writes go to the authoritative store
 * first. When both stores share a database, one statement writes both; when they do not, one
 * statement writes the first store and its outbox entry, and the second store follows in batches.
 * A failed second write never fails the request: its key stays in the outbox until the relay has
 * mirrored it.
 */
@Singleton
public class DataRouter {
    private static final Logger LOG = Logger.getLogger(DataRouter.class);
    /** How long the relay leaves a fresh cross-database entry to the request that wrote it. */
    private static final Duration INLINE_GRACE = Duration.ofSeconds(5);
    /** Pause before a write the fence refused runs again. */
    private static final Duration REFUSED_RETRY = Duration.ofMillis(25);

    /** A result, where it came from, and whether that was a fallback from the origin the stage names. */
    public record Served<T>(T value, Side origin, Stage stage, boolean fallback) {
        Served(T value, Side origin, Stage stage) {
            this(value, origin, stage, false);
        }

        /** The value of {@code X-Turnout-Origin}. */
        public String originLabel() {
            return fallback ? origin.label() + "-fallback" : origin.label();
        }
    }

    /** What a write did to one key: its state afterwards (null when gone) and whether anything changed. */
    private record Outcome(Object key, Record state, boolean changed, Long outboxId) {
        Outcome withOutbox(long id) {
            return new Outcome(key, state, changed, id);
        }
    }

    /** A write to run on the authoritative store, with or without an outbox note. */
    private interface Op {
        Future<Outcome> apply(Store store, SqlClient client, Guard guard, Companion companion);
    }

    private final StageFlags flags;
    private final AppliedStages stages;
    private final WriteFence fence;
    private final Outbox outbox;
    private final MirrorBatcher batcher;
    private final Idempotency idempotency;
    private final ShadowReads shadow;
    private final Map<String, Map<Stage, Map<String, Kept>>> plans = new ConcurrentHashMap<>();
    private final Map<String, Counter> refused = new ConcurrentHashMap<>();
    private final Event<StageStale> stale;
    private final Vertx vertx;
    private final MeterRegistry registry;
    /** How long a write the fence refuses keeps trying by the stage applied then. */
    private final Duration refusedWait;
    private final Replicas replicas;
    private final Duration staleAfter;

    public DataRouter(StageFlags flags, AppliedStages stages, WriteFence fence, Outbox outbox, MirrorBatcher batcher,
            Idempotency idempotency, ShadowReads shadow, Event<StageStale> stale, Vertx vertx, MeterRegistry registry,
            TurnoutConfig config, Replicas replicas) {
        this.stale = stale;
        this.vertx = vertx;
        this.registry = registry;
        this.replicas = replicas;
        this.staleAfter = config.fleet().staleAfter();
        this.refusedWait = config.stages().fenceTimeout().plus(config.flags().refreshInterval()).plusSeconds(1);
        this.idempotency = idempotency;
        this.flags = flags;
        this.stages = stages;
        this.fence = fence;
        this.outbox = outbox;
        this.batcher = batcher;
        this.shadow = shadow;
    }

    /** The stage the domain is routed by (its applied stage). */
    public Stage stage(Domain domain) {
        return stages.get(domain.name());
    }

    /** Why the domain's flag names no stage, while it does not (the stage then holds). */
    public Optional<String> flagProblem(Domain domain) {
        return flags.flagProblem(domain.name());
    }

    public Future<Served<Record>> get(Domain domain, Object key) {
        Stage stage = stage(domain);
        return read(domain, stage, origin -> origin.get(key))
                .onSuccess(served -> stage.comparedWith()
                        .filter(other -> !served.fallback() && ThreadLocalRandom.current().nextDouble() < domain.shadowSampleRate())
                        .ifPresent(other -> shadow.compare(domain, key, served.value(), domain.origin(other), domain.origin(served.origin()))));
    }

    public Future<Served<List<Record>>> list(Domain domain, Query query) {
        Stage stage = stage(domain);
        return read(domain, stage, origin -> origin.list(query))
                .onSuccess(served -> stage.comparedWith()
                        .filter(other -> !served.fallback() && !served.value().isEmpty()
                                && ThreadLocalRandom.current().nextDouble() < domain.shadowSampleRate())
                        .ifPresent(other -> shadow.compareAll(domain, served.value(), domain.origin(other), domain.origin(served.origin()))));
    }

    /**
     * Reads from the origin the stage names. A search origin that cannot answer fails the read
     * (503), unless the domain opted in to serving it from the other store meanwhile.
     */
    private <T> Future<Served<T>> read(Domain domain, Stage stage, Function<Origin, Future<T>> op) {
        Side side = stage.reads();
        Origin origin = domain.origin(side);
        return op.apply(origin)
                .map(v -> new Served<>(v, side, stage))
                .recover(e -> {
                    if (e instanceof SearchFailure && origin.fallsBack()) {
                        Side other = side.other();
                        return op.apply(domain.origin(other))
                                .map(v -> new Served<>(v, other, stage, true))
                                .recover(e2 -> Future.failedFuture(StoreException.of(other, e2)));
                    }
                    return Future.failedFuture(e instanceof SearchFailure ? e : StoreException.of(side, e));
                });
    }

    /** Creates a record; with a claim, in one transaction with the claimed idempotency key and the answer. */
    public Future<Served<Record>> create(Domain domain, Record values, Idempotency.Claim claim) {
        return write(domain, values, false, claim, (store, tx, guard, note) -> store.insert(tx, guard, values, note)
                .map(w -> new Outcome(w.state().get(domain.key().name()), w.state(), true, w.outboxId())))
                .map(s -> new Served<>(s.value().state(), s.origin(), s.stage()));
    }

    /** The record's new state, or a null value when there is no record with that key. */
    public Future<Served<Record>> update(Domain domain, Object key, Record values, boolean replace) {
        return write(domain, values, replace, null, (store, tx, guard, note) -> store.update(tx, guard, key, values, replace, note)
                .map(w -> new Outcome(key, w.state(), w.changed(), w.outboxId())))
                .map(s -> new Served<>(s.value().state(), s.origin(), s.stage()));
    }

    /** Whether there was a record to delete. */
    public Future<Served<Boolean>> delete(Domain domain, Object key) {
        return write(domain, null, false, null, (store, tx, guard, note) -> store.delete(tx, guard, key, note).map(w -> new Outcome(key, null, w.changed(), w.outboxId())))
                .map(s -> new Served<>(s.value().changed(), s.origin(), s.stage()));
    }

    /**
     * Writes the authoritative store, and the other one where the stage says. {@code values} (null
     * for a delete) decides what only the second store can keep ({@link Kept#CARRIED}) and which
     * values must come back unchanged from the write ({@link Kept#CHECKED}); a write with such values
     * runs in a transaction that is rolled back, with a 400, when one does not.
     */
    private Future<Served<Outcome>> write(Domain domain, Record values, boolean replace, Idempotency.Claim claim, Op op) {
        return attempt(domain, values, replace, claim, op, System.nanoTime() + refusedWait.toNanos());
    }

    /**
     * Runs the write routed by this replica's stage, read once the local write fence lets it in (a
     * write held across a switch routes by the new stage). When a database refuses it because its
     * fence names another stage (another replica switched, or a switch is under way), nothing was
     * written: stage control re-reads the recorded stage, and the write runs again, outside the
     * local fence meanwhile, by the stage then applied, until {@code deadline}; past it the write
     * fails with a 503 ({@link WriteFence.Fenced}).
     */
    private Future<Served<Outcome>> attempt(Domain domain, Record values, boolean replace, Idempotency.Claim claim, Op op, long deadline) {
        return fence.enterWrite(domain.name()).compose(entered -> {
            Stage stage = stage(domain);
            if (stage.nextToAuthorityMove() && !replicas.inContact(staleAfter)) {
                // the fleet may move authority without this replica hearing of it: refuse rather than guess
                fence.leaveWrite(domain.name());
                return Future.failedFuture(WriteFence.Fenced.because("Domain " + domain.name() + " is at " + stage.label()
                        + ", next to a switch of its authoritative store, and this replica has not reached the control database for "
                        + staleAfter.toSeconds() + " s; writes resume when it does"));
            }
            Future<Served<Outcome>> done;
            try {
                done = routed(domain, stage, values, replace, claim, op);
            } catch (RuntimeException e) {
                done = Future.failedFuture(e);
            }
            return done.onComplete(ar -> fence.leaveWrite(domain.name())).recover(e -> {
                if (!StoreFence.isFenced(e)) return Future.failedFuture(e);
                refused.computeIfAbsent(domain.name(), n -> Counter.builder("turnout_fence_refused_total")
                        .description("Writes a database refused because its fence named another stage than the one they were routed by; "
                                + "each runs again by the stage then applied")
                        .tag("domain", n).register(registry)).increment();
                stale.fireAsync(new StageStale(domain.name(), stage));
                if (System.nanoTime() >= deadline) {
                    LOG.warnf("Domain %s: a write routed by %s was refused by the fence until its wait ran out", domain.name(), stage.label());
                    return Future.failedFuture(new WriteFence.Fenced(domain.name()));
                }
                Promise<Served<Outcome>> again = Promise.promise();
                vertx.setTimer(REFUSED_RETRY.toMillis(), t -> attempt(domain, values, replace, claim, op, deadline).onComplete(again));
                return again.future();
            });
        });
    }

    private Future<Served<Outcome>> routed(Domain domain, Stage stage, Record values, boolean replace, Idempotency.Claim claim, Op op) {
        Guard guard = new Guard(domain.name(), stage.label());
        List<Side> sides = stage.writesTo(domain);
        Side first = sides.get(0);
        Optional<Side> mirror = sides.size() > 1 ? Optional.of(sides.get(1)) : Optional.empty();
        Store store = domain.store(first);
        Database db = store.database();
        Map<String, Kept> plan = plan(domain, stage);
        List<String> checked = values == null ? List.of() : values.values().keySet().stream()
                .filter(f -> !f.equals(domain.key().name()) && plan.get(f) == Kept.CHECKED).toList();
        Owned owned = values == null || mirror.isEmpty() ? Owned.NONE : owned(plan, values, replace);
        Future<Outcome> done = checked.isEmpty() && claim == null
                ? authoritative(domain, op, store, db.pool(), guard, first, mirror, owned, false)
                // BEGIN travels with the claim, and COMMIT with the answer: three round trips, not five
                : Pipelined.transaction(db.pool(), (tx, begun) -> {
                    SqlConnection c = tx.connection();
                    Future<Void> claimed = claim == null ? Future.succeededFuture() : idempotency.claim(c, domain, claim);
                    return inOrder(begun, claimed)
                            .compose(v -> authoritative(domain, op, store, c, guard, first, mirror, owned, true))
                            .compose(out -> kept(domain, stage, values, checked, out))
                            .compose(out -> {
                                Future<Void> answered = claim == null || out.state() == null ? Future.succeededFuture()
                                        : idempotency.answer(c, domain, claim, out.key(), out.state());
                                return inOrder(answered, tx.commit()).map(out);
                            });
                });
        if (mirror.isPresent() && !domain.sameDatabase()) {
            Side second = mirror.get();
            done = done.compose(out -> out.outboxId() == null ? Future.succeededFuture(out) : mirrorAcross(domain, first, second, out));
        }
        return done.recover(e -> Future.failedFuture(e instanceof Kept.Refused || e instanceof Idempotency.Replay
                        || e instanceof Idempotency.Mismatch ? e : StoreException.of(first, e)))
                .map(out -> new Served<>(out, first, stage));
    }

    /**
     * The authoritative write with its companion: alone; with the other store in the same statement
     * when both share a database (falling back to an outbox entry if that fails); or with an outbox
     * entry when they do not. Inside a transaction the fallback first rolls back to a savepoint.
     */
    private Future<Outcome> authoritative(Domain domain, Op op, Store store, SqlClient client, Guard guard, Side first,
            Optional<Side> mirror, Owned owned, boolean inTransaction) {
        if (mirror.isEmpty()) {
            // one statement on one store: atomic on its own, no transaction round trips needed
            return op.apply(store, client, guard, null);
        }
        Side second = mirror.get();
        if (!domain.sameDatabase()) {
            // the write and its outbox entry are one statement: atomic without a transaction block
            return op.apply(store, client, guard, new OutboxNote(domain.name(), first, second, INLINE_GRACE, owned.toJson(domain)));
        }
        OutboxNote queued = new OutboxNote(domain.name(), first, second, outbox.initialBackoff(), owned.toJson(domain));
        if (!(store instanceof TableStore) || !(domain.store(second) instanceof TableStore)) {
            // a SQL-mapped store writes in several statements: both stores in one transaction instead
            if (!inTransaction && client instanceof Pool pool) {
                return pool.withTransaction(tx -> authoritative(domain, op, store, tx, guard, first, mirror, owned, true));
            }
            // a failure of the authoritative write is the client's answer; only the second write falls back to the outbox
            return client.query("SAVEPOINT turnout_mirror").execute()
                    .compose(v -> op.apply(store, client, guard, null))
                    .compose(out -> !out.changed() ? Future.succeededFuture(out)
                            : mirrorInTransaction(domain, client, first, second, out).map(out)
                                    .recover(e -> mirrorFailed(domain, op, store, client, guard, first, queued, true, e)));
        }
        // both writes in one statement; if the second store fails it, the key goes to the outbox instead
        MirrorNote both = new MirrorNote(domain.name(), domain.store(second), domain.copiedFrom(first), owned);
        Future<Void> savepoint = inTransaction ? client.query("SAVEPOINT turnout_mirror").execute().mapEmpty() : Future.succeededFuture();
        return savepoint.compose(v -> op.apply(store, client, guard, both))
                .recover(e -> mirrorFailed(domain, op, store, client, guard, first, queued, inTransaction, e));
    }

    /**
     * The authoritative write alone, with an outbox entry, after the write to both stores failed
     * (undone back to the savepoint inside a transaction). A refusal by the fence is not a failure
     * of the second store: the whole write runs again.
     */
    private Future<Outcome> mirrorFailed(Domain domain, Op op, Store store, SqlClient client, Guard guard, Side first, OutboxNote queued,
            boolean inTransaction, Throwable e) {
        if (StoreFence.isFenced(e)) return Future.failedFuture(e);
        LOG.warnf("Domain %s: write to both stores failed (%s); writing the %s store and queueing the key",
                domain.name(), describe(e), first.label());
        Future<Void> undo = inTransaction ? client.query("ROLLBACK TO SAVEPOINT turnout_mirror").execute().mapEmpty() : Future.succeededFuture();
        return undo.compose(v -> op.apply(store, client, guard, queued));
    }

    /**
     * Brings the second store of the same database to the written state of one key, in the write's
     * transaction, under the key's lock that copies take too (see io.turnout.sync.Mirror).
     */
    private static Future<Void> mirrorInTransaction(Domain domain, SqlClient tx, Side first, Side second, Outcome out) {
        Store target = domain.store(second);
        return io.turnout.store.KeyLock.take(tx, domain.name(), out.key())
                .compose(v -> out.state() == null ? target.deleteAll(tx, List.of(out.key()))
                        : target.putAll(tx, List.of(out.state()), domain.copiedFrom(first)));
    }

    /** How the domain's fields are kept at a stage, worked out once per domain and stage (it depends on configuration only). */
    private Map<String, Kept> plan(Domain domain, Stage stage) {
        return plans.computeIfAbsent(domain.name(), n -> new ConcurrentHashMap<>()).computeIfAbsent(stage, s -> Kept.plan(domain, s));
    }

    /** What the client wrote to fields only the mirroring store holds, carried to it. */
    private static Owned owned(Map<String, Kept> plan, Record values, boolean replace) {
        Map<String, Object> set = new LinkedHashMap<>();
        Set<String> defaults = new LinkedHashSet<>();
        plan.forEach((field, how) -> {
            if (how != Kept.CARRIED) return;
            if (values.has(field)) set.put(field, values.get(field));
            else if (replace) defaults.add(field);
        });
        return set.isEmpty() && defaults.isEmpty() ? Owned.NONE : new Owned(set, defaults);
    }

    /** Fails with a 400 naming the first field whose value the write did not keep; the transaction then rolls back. */
    private static Future<Outcome> kept(Domain domain, Stage stage, Record values, List<String> checked, Outcome out) {
        if (out.state() == null) return Future.succeededFuture(out);
        for (String f : checked) {
            if (!Objects.equals(values.get(f), out.state().get(f))) return Future.failedFuture(Kept.Refused.of(domain, stage, f));
        }
        return Future.succeededFuture(out);
    }

    /** Stores in two databases: the authoritative write has committed with its outbox entry; mirror now. */
    private Future<Outcome> mirrorAcross(Domain domain, Side first, Side second, Outcome out) {
        return batcher.submit(domain, out.key(), Objects.requireNonNull(out.outboxId()), first, second).map(out);
    }

    static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
}
