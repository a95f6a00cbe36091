package io.turnout.control;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.panache.common.Parameters;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.Startup;
import io.smallrye.mutiny.Uni;
import io.turnout.TurnoutConfig;
import io.turnout.db.Database;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.flags.StageChanged;
import io.turnout.flags.StageFlags;
import io.turnout.fleet.Replicas;
import io.turnout.fleet.StoreFence;
import io.turnout.routing.AppliedStages;
import io.turnout.routing.ShadowStats;
import io.turnout.routing.Stage;
import io.turnout.routing.StageStale;
import io.turnout.routing.WriteFence;
import io.turnout.sync.OutboxRelay;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnection;
import io.vertx.pgclient.pubsub.PgSubscriber;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.ObservesAsync;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Moves each domain's applied stage toward its desired stage, one step at a time, each step only
 * when its gates pass ({@link Gates}). The applied stage lives in {@code turnout_stage} in the
 * control database and routing follows it; a restart routes by it before serving. A step that
 * moves the authoritative store runs under the write fence: writes held, the outbox drained, the
 * stage switched, writes released, all within {@code turnout.stages.fence-timeout}, or the step
 * aborts and the stage stays. A step that cannot pass is held, with its failing gates in the log,
 * the audit, {@code turnout_stage_held} and {@code GET /admin/migrations/{domain}}.
 */
@Startup
@Singleton
public class StageControl {
    private static final Logger LOG = Logger.getLogger(StageControl.class);
    /** Longest a stage change waits for copies in flight (they hold the stage row FOR SHARE) outside a fence. */
    private static final Duration APPLY_TIMEOUT = Duration.ofSeconds(30);
    /** Longest one read of the control database may take before this pass gives up and the next one tries again. */
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);
    /** How often a domain's fences are compared with its recorded stage when nothing suggests they differ. */
    private static final Duration RECONCILE_EVERY = Duration.ofSeconds(10);
    /** Longest a pass waits to read a domain's fences: a database that hangs must not hold up the others. */
    private static final Duration FENCE_READ_TIMEOUT = Duration.ofSeconds(2);
    /** Channel on which a recorded stage change is announced to every replica; the payload is the domain. */
    static final String CHANNEL = "turnout_stage";
    /** Class id of the coordinator locks ('TRNG'): one replica at a time changes a domain's stage and fences. */
    private static final int COORDINATOR = 0x54524e47;
    /** Adds comparisons to the current minute of the domain's shadow history and forgets minutes older than a day. */
    private static final String SHADOW_HISTORY = "WITH added AS (INSERT INTO turnout_shadow_history (domain, stage, minute, compared, confirmed) "
            + "VALUES ($1, $2, date_trunc('minute', now()), $3, $4) ON CONFLICT (domain, minute, stage) DO UPDATE SET "
            + "compared = turnout_shadow_history.compared + EXCLUDED.compared, confirmed = turnout_shadow_history.confirmed + EXCLUDED.confirmed) "
            + "DELETE FROM turnout_shadow_history WHERE domain = $1 AND minute < now() - interval '1 day'";

    /** A step that cannot be taken now: its failing gates, and since when it waits. */
    public record Held(Step step, List<Gate> failing, Instant since) {}

    private final TurnoutConfig config;
    private final Domains domains;
    private final ControlRecords records;
    private final Databases databases;
    private final Replicas replicas;
    private final Vertx vertx;
    /** Set while a follow of the recorded stages is queued on the stage thread. */
    private final java.util.concurrent.atomic.AtomicBoolean followPending = new java.util.concurrent.atomic.AtomicBoolean();
    private PgSubscriber subscriber;
    /** Domains whose fences are compared with the recorded stage at the next pass; every one of them every {@link #RECONCILE_EVERY}. */
    private final java.util.Set<String> reconcileDue = ConcurrentHashMap.newKeySet();
    private final Map<String, Long> nextReconcile = new ConcurrentHashMap<>();
    /** What this replica's flag named at its last read, per domain. */
    private final Map<String, Stage> lastRead = new ConcurrentHashMap<>();
    private long heartbeat;
    private final StageFlags flags;
    private final AppliedStages stages;
    private final WriteFence fence;
    private final OutboxRelay relay;
    private final ShadowStats shadow;
    private final Gates gates;
    private final Audit audit;
    private final Event<StageChanged> changed;
    private final MeterRegistry registry;
    private final Map<String, Held> held = new ConcurrentHashMap<>();
    private final Map<String, Long> nextAttempt = new ConcurrentHashMap<>();
    /** The (domain, gate) pairs with a {@code turnout_stage_held} gauge. */
    private final java.util.Set<List<String>> heldGauges = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "turnout-stages");
        t.setDaemon(true);
        return t;
    });

    public StageControl(TurnoutConfig config, Domains domains, ControlRecords records, StageFlags flags, AppliedStages stages,
            WriteFence fence, OutboxRelay relay, ShadowStats shadow, Gates gates, Audit audit, Event<StageChanged> changed,
            MeterRegistry registry, Databases databases, Replicas replicas, Vertx vertx) {
        this.databases = databases;
        this.replicas = replicas;
        this.vertx = vertx;
        this.config = config;
        this.domains = domains;
        this.records = records;
        this.flags = flags;
        this.stages = stages;
        this.fence = fence;
        this.relay = relay;
        this.shadow = shadow;
        this.gates = gates;
        this.audit = audit;
        this.changed = changed;
        this.registry = registry;
        for (Domain d : domains.all()) {
            Gauge.builder("turnout_stage_applied", () -> stages.get(d.name()).ordinal())
                    .description("Stage the domain is routed by: 0 legacy, 1 dual_write, 2 shadow, 3 live, 4 rampdown, 5 complete, 6 retired")
                    .tag("domain", d.name())
                    .register(registry);
        }
        // route by what the control database recorded before serving anything
        Map<String, StageRow> rows = await(load(), READ_TIMEOUT, "read the applied stages from the control database");
        for (Domain d : domains.all()) {
            StageRow row = rows.get(d.name());
            if (row == null) {
                // another replica may record it at the same moment: the first one wins, and both route by legacy
                await(records.transaction(READ_TIMEOUT, "record the stage of " + d.name(), () -> Panache.getSession()
                                .chain(session -> session.createNativeQuery("INSERT INTO turnout_stage (domain, applied) VALUES (:domain, 'legacy') "
                                        + "ON CONFLICT (domain) DO NOTHING").setParameter("domain", d.name()).executeUpdate())),
                        READ_TIMEOUT, "record the stage of " + d.name());
                stages.set(d.name(), Stage.LEGACY);
            } else if (row.applied() != null) {
                stages.set(d.name(), row.applied());
                LOG.infof("Domain %s: routed by its recorded stage %s", d.name(), row.applied().label());
            }
            // the databases' fences name the recorded stage before this replica writes anything
            reconcile(d, stages.get(d.name()));
        }
        await(replicas.heartbeat(), READ_TIMEOUT, "record this replica in the control database");
        LOG.infof("Replica %s joined the fleet", replicas.id());
        subscriber = PgSubscriber.subscriber(vertx, databases.controlSession("turnout-notify")).reconnectPolicy(retries -> 1000L);
        subscriber.channel(CHANNEL).handler(domain -> followSoon());
        subscriber.connect().onFailure(e -> LOG.warnf("Listening for stage changes failed (%s); the %d ms poll still follows them",
                e.getMessage(), config.flags().refreshInterval().toMillis()));
        // each heartbeat also reads the fleet, so turnout_replicas stays current
        heartbeat = vertx.setPeriodic(config.fleet().heartbeatInterval().toMillis(), id -> replicas.heartbeat()
                .compose(v -> replicas.all())
                .onFailure(e -> LOG.warnf("Replica %s: heartbeat not recorded (%s)", replicas.id(), e.getMessage())));
        long every = Math.max(100, config.flags().refreshInterval().toMillis());
        timer.scheduleWithFixedDelay(this::tick, every, every, TimeUnit.MILLISECONDS);
    }

    /** A database refused a write routed by an old stage: follow the recorded one at once. */
    void onStale(@ObservesAsync StageStale stale) {
        reconcileDue.add(stale.domain());
        followSoon();
    }

    /** Follows the recorded stages on the stage thread, once however many ask before it runs. */
    private void followSoon() {
        if (!followPending.compareAndSet(false, true)) return;
        try {
            timer.execute(() -> {
                followPending.set(false);
                try {
                    Map<String, StageRow> rows = await(load(), READ_TIMEOUT, "read the applied stages");
                    for (Domain d : domains.all()) {
                        StageRow row = rows.get(d.name());
                        if (row != null && row.applied() != null) follow(d, row.applied(), "the control database records it");
                    }
                } catch (RuntimeException e) {
                    LOG.warnf("Following the recorded stages failed (%s); the next pass tries again", e.getMessage());
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            followPending.set(false);
        }
    }

    /**
     * Sets the domain's fence in each of its databases to the recorded stage where it names another
     * (a switch that stopped half-way, a new domain), unless a replica is switching it right now.
     */
    private void reconcile(Domain d, Stage recorded) {
        Map<String, String> fences = await(StoreFence.read(d), FENCE_READ_TIMEOUT, "read the fences of " + d.name());
        if (StoreFence.databases(d).stream().allMatch(db -> recorded.label().equals(fences.get(db.name())))) return;
        coordinated(d, () -> {
            StageRow now = await(row(d), READ_TIMEOUT, "re-read the stage of " + d.name());
            if (now == null || now.applied() == null) return false;
            Duration limit = config.stages().fenceTimeout();
            await(StoreFence.setAll(d, now.applied(), limit), limit.plusSeconds(1), "set the fences of " + d.name());
            LOG.infof("Domain %s: fence set to %s in %s (it named %s)", d.name(), now.applied().label(),
                    StoreFence.databases(d).stream().map(Database::name).toList(), fences.isEmpty() ? "nothing yet" : fences);
            return true;
        });
    }

    /**
     * Runs {@code work} while this replica holds the domain's coordinator lock in the control database,
     * on a connection of its own: one replica at a time changes a domain's stage and fences, and a
     * replica that dies mid-way releases the lock with its connection. Empty when another holds it.
     */
    private <T> Optional<T> coordinated(Domain d, java.util.function.Supplier<T> work) {
        SqlConnection session = await(PgConnection.connect(vertx, databases.controlSession("turnout-coordinator-" + replicas.id())).map(c -> (SqlConnection) c),
                READ_TIMEOUT, "connect to the control database");
        try {
            boolean mine = await(session.preparedQuery("SELECT pg_try_advisory_lock($1, hashtext($2))").execute(Tuple.of(COORDINATOR, d.name()))
                    .map(rows -> rows.iterator().next().getBoolean(0)), READ_TIMEOUT, "take the coordinator lock of " + d.name());
            if (!mine) return Optional.empty();
            return Optional.ofNullable(work.get());
        } finally {
            // closing the session releases its lock
            session.close();
        }
    }

    /**
     * The last step of a retirement, once its legacy tables are archived and removed: the fences,
     * then the recorded applied and desired stage, move from {@code complete} to {@code retired},
     * under the coordinator lock, with {@code evidence} in the audit entry. Returns whether the
     * domain is now recorded at {@code retired} (false when another replica holds the lock now).
     */
    boolean retire(Domain d, String actor, Map<String, Object> evidence) {
        Step step = new Step(Stage.COMPLETE, Stage.RETIRED);
        Optional<Boolean> done = coordinated(d, () -> {
            StageRow row = await(row(d), READ_TIMEOUT, "re-read the stage of " + d.name());
            if (row.applied() == Stage.RETIRED) return true;
            if (row.applied() != Stage.COMPLETE) {
                throw new IllegalStateException("domain " + d.name() + " is at " + row.applied().label() + ", not complete");
            }
            boolean taken = false;
            try {
                Duration limit = config.stages().fenceTimeout();
                await(StoreFence.setAll(d, Stage.RETIRED, limit), limit.plusSeconds(1), "set the fences of " + d.name());
                await(records.transaction(READ_TIMEOUT, "record the desired stage of " + d.name(), () -> StageRecord
                        .update("desired = 'retired' where domain = :domain", Parameters.with("domain", d.name()))), READ_TIMEOUT,
                        "record the desired stage of " + d.name());
                taken = apply(d, row, step, List.of(Gate.pass("retirement", "approved retirement by " + actor, evidence)), APPLY_TIMEOUT,
                        Map.of());
            } finally {
                if (!taken) reopen(d, Stage.COMPLETE);
            }
            return taken;
        });
        return done.orElse(false);
    }

    /** The step a domain waits for, while it is held. */
    public Optional<Held> held(String domain) {
        return Optional.ofNullable(held.get(domain));
    }

    /** The domain's stage row as recorded now. */
    public Future<StageRow> row(Domain d) {
        return records.transaction(READ_TIMEOUT, "read the stage of " + d.name(),
                () -> StageRecord.<StageRecord>findById(d.name()).map(r -> r == null ? null : StageRow.of(r)));
    }

    /** The gates of the domain's next step toward {@code desired}, evaluated now; empty when there is no step to take. */
    public Future<Optional<List<Gate>>> nextGates(Domain d, StageRow row, Stage desired) {
        Step step = desired == null || row == null || row.applied() == null ? null : Step.toward(row.applied(), desired);
        if (step == null) return Future.succeededFuture(Optional.empty());
        return gates.evaluate(d, row, step).map(Optional::of);
    }

    private void tick() {
        try {
            Map<String, StageRow> rows = await(load(), READ_TIMEOUT, "read the applied stages");
            for (Domain d : domains.all()) {
                try {
                    control(d, rows.get(d.name()));
                } catch (RuntimeException e) {
                    LOG.warnf("Domain %s: stage control pass failed (%s); the stage stays and the next pass tries again", d.name(),
                            e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            LOG.warnf("Stage control pass failed (%s); stages stay as they were", e.getMessage());
        }
    }

    private void control(Domain d, StageRow row) {
        if (row == null || row.applied() == null) return;
        follow(d, row.applied(), "the control database records it");
        long passAt = System.nanoTime();
        Long reconcileAt = nextReconcile.get(d.name());
        if (reconcileDue.remove(d.name()) || reconcileAt == null || passAt >= reconcileAt) {
            nextReconcile.put(d.name(), passAt + RECONCILE_EVERY.toNanos());
            reconcile(d, row.applied());
        }
        flushShadow(d);
        StageFlags.Desired desired = flags.read(d);
        if (desired.stage() == null) {
            held.remove(d.name());
            return;
        }
        // The fleet steps toward the desired stage recorded in the control database. A replica records
        // what its flag names when that changes (or on its first read), not at every pass: replicas
        // read the flag at different moments, and one still reading the old value must not undo the change.
        Stage read = desired.stage();
        Stage target = row.desired();
        if (read != lastRead.get(d.name())) {
            if (read != row.desired()) {
                recordDesired(d, row, read);
                target = read;
            }
            lastRead.put(d.name(), read);
        }
        if (target == null) return;
        Step step = Step.toward(row.applied(), target);
        if (step == null) {
            if (held.remove(d.name()) != null) LOG.infof("Domain %s: at its desired stage %s", d.name(), row.applied().label());
            return;
        }
        long now = System.nanoTime();
        Long due = nextAttempt.get(d.name());
        if (due != null && now < due) return;
        nextAttempt.put(d.name(), now + config.stages().gateInterval().toNanos());
        List<Gate> all = await(gates.evaluate(d, row, step), READ_TIMEOUT, "evaluate the gates of " + step);
        List<Gate> failing = all.stream().filter(g -> !g.pass()).toList();
        if (!failing.isEmpty()) {
            hold(d, step, failing);
            return;
        }
        take(d, row, step, all);
    }

    /**
     * Takes a step whose gates passed, under the domain's coordinator lock; returns whether it was
     * taken. The row was read before the lock: another replica may have taken this very step (or
     * another) and released the lock in between, so the stage is read again under the lock first,
     * and a step that no longer starts from it is not taken. Taking it from the stale row would
     * drain by the old authority, copying the store that was authoritative over the one that is,
     * and then set the fences back to a stage the fleet has left.
     */
    boolean take(Domain d, StageRow row, Step step, List<Gate> passed) {
        if (step.movesAuthority()) return coordinated(d, () -> unchanged(d, row, step) && fenced(d, row, step, passed)).orElse(false);
        // the databases' fences move first: a replica still routing by the old stage is refused there from now on
        return coordinated(d, () -> {
            if (!unchanged(d, row, step)) return false;
            boolean taken = false;
            try {
                Duration limit = config.stages().fenceTimeout();
                await(StoreFence.setAll(d, step.to(), limit), limit.plusSeconds(1), "set the fences of " + d.name());
                taken = apply(d, row, step, passed, APPLY_TIMEOUT, Map.of());
            } finally {
                if (!taken) reopenAtRecorded(d);
            }
            return taken;
        }).orElse(false);
    }

    /**
     * Whether the stage, read again under the coordinator lock, is still the one {@code row} was
     * read at: the step's starting stage, applied at the same moment. A stage left and applied again
     * meanwhile is another stay there, which the gates (comparisons, time mirrored) did not judge.
     * This replica routes by what it reads either way.
     */
    private boolean unchanged(Domain d, StageRow row, Step step) {
        StageRow now = await(row(d), READ_TIMEOUT, "re-read the stage of " + d.name());
        if (now == null || now.applied() == null) return false;
        follow(d, now.applied(), "the control database records it");
        if (now.applied() != step.from()) {
            LOG.infof("Domain %s: step %s not taken: the recorded stage is %s already", d.name(), step, now.applied().label());
            return false;
        }
        if (row.changedAt() != null && now.changedAt() != null && !row.changedAt().isEqual(now.changedAt())) {
            LOG.infof("Domain %s: step %s not taken now: %s was applied again since its gates were read; the next pass reads them again",
                    d.name(), step, step.from().label());
            return false;
        }
        return true;
    }

    /** Runs {@code work} on the stage thread, where every stage change of this replica happens, and waits for it (tests). */
    <T> T onStageThread(java.util.concurrent.Callable<T> work) throws Exception {
        return timer.submit(work).get(2 * APPLY_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    /**
     * After a step that was not taken: the fences name the stage that stays. Bounded by the fence
     * timeout, since writes queue behind a fence change; what is left is repaired by a later pass.
     */
    private void reopen(Domain d, Stage stage) {
        if (stage == null) return;
        try {
            Duration limit = config.stages().fenceTimeout();
            await(StoreFence.setAll(d, stage, limit), limit.plusSeconds(1), "reopen the fences of " + d.name());
        } catch (RuntimeException e) {
            LOG.errorf("Domain %s: fences not reset to %s (%s); writes are refused until the next pass sets them", d.name(),
                    stage.label(), e.getMessage());
        }
    }

    /**
     * After a step not taken for a reason other than a failure of its own: the recorded stage
     * changed without the coordinator lock, so the fences are set to what it records now (left as
     * they are when it cannot be read: a later pass reconciles them).
     */
    private void reopenAtRecorded(Domain d) {
        Stage recorded;
        try {
            StageRow now = await(row(d), READ_TIMEOUT, "re-read the stage of " + d.name());
            recorded = now == null ? null : now.applied();
        } catch (RuntimeException e) {
            LOG.errorf("Domain %s: recorded stage unreadable after a step not taken (%s); the fences stay as they are until a pass "
                    + "reconciles them", d.name(), e.getMessage());
            return;
        }
        if (recorded != null) follow(d, recorded, "the control database records it");
        reopen(d, recorded);
    }

    /** Routes by the stage the control database records when it differs from this process's (set by another replica or an operator). */
    private void follow(Domain d, Stage recorded, String why) {
        Stage before = stages.set(d.name(), recorded);
        if (before != recorded) {
            LOG.infof("Domain %s: stage %s -> %s (%s)", d.name(), before.label(), recorded.label(), why);
            held.remove(d.name());
            reconcileDue.add(d.name());
            changed.fire(new StageChanged(d.name(), before, recorded));
            replicas.heartbeat().onFailure(e -> LOG.debugf("heartbeat after a stage change failed: %s", e.getMessage()));
        }
    }

    private void recordDesired(Domain d, StageRow row, Stage desired) {
        await(records.transaction(READ_TIMEOUT, "record the desired stage of " + d.name(), () -> StageRecord
                        .update("desired = :desired where domain = :domain and (desired is null or desired <> :desired)",
                                Parameters.with("domain", d.name()).and("desired", desired.label()))
                        .chain(n -> n == 0 ? Uni.createFrom().voidItem()
                                : audit.append(d.name(), "desired", Audit.FLAG, row.applied().label(), desired.label(),
                                        "flag " + d.flag() + " names " + desired.label(), null))),
                READ_TIMEOUT, "record the desired stage of " + d.name());
        LOG.infof("Domain %s: desired stage %s (flag %s); applied %s", d.name(), desired.label(), d.flag(), row.applied().label());
    }

    /** Records a held step; logs and audits only when the step or its failing gates change. */
    private void hold(Domain d, Step step, List<Gate> failing) {
        Held before = held.get(d.name());
        boolean sameStep = before != null && before.step().equals(step);
        held.put(d.name(), new Held(step, failing, sameStep ? before.since() : Instant.now()));
        List<String> names = failing.stream().map(Gate::name).toList();
        if (sameStep && before.failing().stream().map(Gate::name).toList().equals(names)) return;
        names.stream().filter(g -> heldGauges.add(List.of(d.name(), g))).forEach(g -> Gauge.builder("turnout_stage_held", () -> isHeldBy(d.name(), g))
                .description("1 while the domain's next stage step is held by this gate")
                .tag("domain", d.name()).tag("gate", g).register(registry));
        String why = String.join("; ", failing.stream().map(g -> g.name() + ": " + g.why()).toList());
        LOG.warnf("Domain %s: step %s held: %s", d.name(), step, why);
        Map<String, Object> detail = new LinkedHashMap<>();
        failing.forEach(g -> detail.put(g.name(), Map.of("why", g.why(), "evidence", g.evidence())));
        audit.record(d.name(), "held", Audit.TURNOUT, step.from().label(), step.to().label(), why, detail);
    }

    private double isHeldBy(String domain, String gate) {
        Held h = held.get(domain);
        return h != null && h.failing().stream().anyMatch(g -> g.name().equals(gate)) ? 1 : 0;
    }

    /**
     * Switches the recorded stage if it is still {@code step.from()}, with its audit entry, in one
     * transaction; then routes by it. Returns whether the step was taken.
     */
    private boolean apply(Domain d, StageRow row, Step step, List<Gate> passed, Duration timeout, Map<String, Object> fenceDetail) {
        Map<String, Object> detail = new LinkedHashMap<>(fenceDetail);
        passed.forEach(g -> detail.put(g.name(), Map.of("why", g.why(), "evidence", g.evidence())));
        long ms = Math.max(50, timeout.toMillis());
        String what = "record step " + step + " of " + d.name();
        // the switch waits for copies holding the row FOR SHARE at most this long; times come from the
        // database clock, which the gates compare with the runs' start times
        Boolean taken = await(records.transaction(timeout.plusSeconds(1), what, () -> Panache.getSession().chain(session -> session
                        .createNativeQuery("SELECT set_config('lock_timeout', :ms, true), set_config('statement_timeout', :ms, true)")
                        .setParameter("ms", Long.toString(ms)).getSingleResult()
                        .chain(v -> session.createNativeQuery("UPDATE turnout_stage SET applied = :to, changed_at = clock_timestamp(), "
                                        + "mirrored_since = CASE WHEN :stopsMirroring THEN NULL WHEN :startsMirroring THEN clock_timestamp() "
                                        + "ELSE mirrored_since END, shadow_compared = 0, shadow_confirmed = 0 WHERE domain = :domain AND applied = :from")
                                .setParameter("domain", d.name()).setParameter("from", step.from().label()).setParameter("to", step.to().label())
                                .setParameter("stopsMirroring", step.to().mirror().isEmpty())
                                .setParameter("startsMirroring", step.from().mirror().isEmpty() && step.to().mirror().isPresent())
                                .executeUpdate()))
                        .chain(n -> n == 0 ? Uni.createFrom().item(false)
                                : Panache.getSession().chain(session -> session.createNativeQuery("SELECT pg_notify(:channel, :domain)")
                                        .setParameter("channel", CHANNEL).setParameter("domain", d.name()).getSingleResult())
                                .chain(() -> audit.append(d.name(), "applied", Audit.TURNOUT, step.from().label(), step.to().label(),
                                        (step.forward() ? "forward" : "backward") + " step toward the desired stage", detail)).replaceWith(true))),
                timeout.plusSeconds(1), what);
        if (!taken) {
            LOG.infof("Domain %s: step %s not taken: the recorded stage changed meanwhile", d.name(), step);
            return false;
        }
        held.remove(d.name());
        nextAttempt.remove(d.name());
        follow(d, step.to(), "step " + (step.forward() ? "forward" : "back") + ", gates passed");
        return true;
    }

    /**
     * The step that moves the authoritative store: hold the domain's writes and copies, drain its
     * outbox, switch, release. Aborts (the stage stays, writes resume) when that cannot finish within
     * the fence timeout; tried again after {@code turnout.stages.fence-retry}.
     */
    private boolean fenced(Domain d, StageRow row, Step step, List<Gate> passed) {
        long start = System.nanoTime();
        Duration limit = config.stages().fenceTimeout();
        long deadline = start + limit.toNanos();
        String phase = "waiting for this replica's writes in flight";
        boolean taken = false;
        boolean known = true;
        boolean touched = false;
        String failure = null;
        int drained = 0;
        try {
            await(fence.close(d.name()), remaining(deadline), phase);
            // every replica's writes and copies: the databases refuse them from here, and this waits for those inside
            phase = "closing the fence in " + StoreFence.databases(d).stream().map(Database::name).toList();
            touched = true;
            await(StoreFence.setAll(d, null, remaining(deadline)), remaining(deadline), phase);
            phase = "draining the outbox";
            drained = await(relay.drain(d, step.from(), deadline), remaining(deadline), phase);
            phase = "opening the fence at " + step.to().label();
            await(StoreFence.setAll(d, step.to(), remaining(deadline)), remaining(deadline), phase);
            phase = "recording the switch";
            Map<String, Object> detail = new LinkedHashMap<>();
            detail.put("fence", Map.of("drainedKeys", drained, "millisBeforeSwitch", (System.nanoTime() - start) / 1_000_000));
            taken = apply(d, row, step, passed, remaining(deadline), detail);
        } catch (RuntimeException e) {
            failure = phase + ": " + e.getMessage();
            if (phase.equals("recording the switch")) {
                // the outcome is unknown: route by what the control database says before writes resume
                try {
                    StageRow now = await(row(d), READ_TIMEOUT, "re-read the stage of " + d.name());
                    if (now != null && now.applied() != null) follow(d, now.applied(), "re-read after an unanswered switch");
                    taken = now != null && now.applied() == step.to();
                } catch (RuntimeException again) {
                    known = false;
                    LOG.errorf("Domain %s: stage unknown after an unanswered switch (%s); the databases' fences stay closed until a "
                            + "pass reads the recorded stage and opens them at it", d.name(), again.getMessage());
                }
            }
        } finally {
            // a switch not taken reopens the fences at the stage that stays; an unknown outcome leaves them closed
            if (!taken && known && touched) {
                // failed under the lock: the recorded stage is the one the step started from
                if (failure != null) reopen(d, step.from());
                else reopenAtRecorded(d);
            }
            int writesHeld = fence.open(d.name());
            double seconds = (System.nanoTime() - start) / 1e9;
            String outcome = taken ? "switched" : "aborted";
            Timer.builder("turnout_fence_seconds")
                    .description("How long a domain's writes were held while its authoritative store changed, by outcome")
                    .tag("domain", d.name()).tag("outcome", outcome)
                    .publishPercentiles(0.5, 0.99)
                    .register(registry).record(Duration.ofNanos(System.nanoTime() - start));
            Map<String, Object> detail = new HashMap<>();
            detail.put("seconds", seconds);
            detail.put("writesHeld", writesHeld);
            detail.put("drainedKeys", drained);
            if (failure != null) detail.put("failure", failure);
            audit.record(d.name(), "fence", Audit.TURNOUT, step.from().label(), step.to().label(), outcome, detail);
            if (taken) {
                LOG.infof("Domain %s: fence for %s held writes %.3f s (%d writes waited, %d outbox keys drained)", d.name(), step, seconds,
                        writesHeld, drained);
            } else {
                LOG.warnf("Domain %s: step %s aborted after %.3f s, the stage stays at %s: %s; tried again in %d s", d.name(), step,
                        seconds, stages.get(d.name()).label(), failure != null ? failure : "the recorded stage changed meanwhile",
                        config.stages().fenceRetry().toSeconds());
                nextAttempt.put(d.name(), System.nanoTime() + config.stages().fenceRetry().toNanos());
                if (failure != null) {
                    hold(d, step, List.of(Gate.fail("fence", "the write fence could not finish within " + limit.toMillis() + " ms ("
                            + failure + "); tried again in " + config.stages().fenceRetry().toSeconds() + " s", detail)));
                }
            }
        }
        return taken;
    }

    /** Adds the shadow comparisons counted since the last pass to the stage row they were counted at. */
    private void flushShadow(Domain d) {
        for (ShadowStats.Delta delta : shadow.drain(d.name())) {
            records.transaction(READ_TIMEOUT, "count shadow comparisons", () -> StageRecord
                            .update("shadowCompared = shadowCompared + :compared, shadowConfirmed = shadowConfirmed + :confirmed "
                                    + "where domain = :domain and applied = :stage", Parameters.with("domain", d.name())
                                    .and("stage", delta.stage().label()).and("compared", delta.compared()).and("confirmed", delta.confirmed())))
                    .onFailure(e -> LOG.warnf("Domain %s: %d shadow comparisons not counted (%s)", d.name(), delta.compared(), e.getMessage()));
            databases.control().work().preparedQuery(SHADOW_HISTORY)
                    .execute(Tuple.of(d.name(), delta.stage().label(), delta.compared(), delta.confirmed()))
                    .onFailure(e -> LOG.debugf("Domain %s: shadow history not kept (%s)", d.name(), e.getMessage()));
        }
    }


    private Future<Map<String, StageRow>> load() {
        return records.transaction(READ_TIMEOUT, "read the applied stages", () -> StageRecord.<StageRecord>listAll().map(list -> {
            Map<String, StageRow> out = new HashMap<>();
            for (StageRecord r : list) {
                if (domains.find(r.domain).isPresent()) out.put(r.domain, StageRow.of(r));
            }
            return out;
        }));
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    /** Waits for a future on this thread, at most {@code timeout}; fails with what it was for. */
    static <T> T await(Future<T> f, Duration timeout, String what) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("timed out after " + timeout.toMillis() + " ms trying to " + what);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IllegalStateException("could not " + what + ": " + cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while trying to " + what);
        }
    }

    /** Lets a pass in progress finish (each of its waits is bounded) before the container stops under it. */
    void stop(@Observes ShutdownEvent event) {
        vertx.cancelTimer(heartbeat);
        if (subscriber != null) subscriber.close();
        timer.shutdown();
        try {
            if (!timer.awaitTermination(READ_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS)) timer.shutdownNow();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            timer.shutdownNow();
        }
    }
}
