package io.turnout.sync;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.turnout.TurnoutConfig;
import io.turnout.TurnoutConfig.BackfillConfig;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.routing.Stage;
import io.turnout.domain.Side;
import io.turnout.domain.Domains;
import io.turnout.flags.StageChanged;
import io.turnout.store.Store;
import io.turnout.store.TableStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Copies a domain's existing rows from one store to the other, online, in key-ordered chunks that
 * go through the domain's own mappings. Each chunk is leased by one worker at a time (any replica's)
 * and checkpointed when done; a dead worker's lease expires and another takes the chunk over. The
 * copy of a chunk makes the target equal to the source for that key range, under the same per-key
 * discipline as live dual writes, so concurrent client writes are never overwritten by older data
 * and deleted rows do not come back.
 */
@Singleton
public class Backfill {
    private static final Logger LOG = Logger.getLogger(Backfill.class);

    /** A backfill run as stored in the control database. */
    public record Run(long id, String domain, Direction direction, String state, String reason, int chunkSize,
            Integer rowsPerSecond, boolean exhausted, long rowsCopied, long estimatedRows, OffsetDateTime startedAt,
            OffsetDateTime updatedAt, OffsetDateTime finishedAt) {

        /** Rows per second since the run started. */
        public double rate() {
            OffsetDateTime end = finishedAt != null ? finishedAt : updatedAt;
            double seconds = Math.max(0.001, Duration.between(startedAt, end).toMillis() / 1000.0);
            return rowsCopied / seconds;
        }

        /** Estimated time left, or null when unknown or finished. */
        public Duration eta() {
            double rate = rate();
            if (finishedAt != null || rate <= 0) return null;
            return Duration.ofSeconds((long) Math.ceil(Math.max(0, estimatedRows - rowsCopied) / rate));
        }

        boolean active() {
            return copying() || state.equals("paused");
        }

        /** Whether the run is copying (running or throttled), so its rows are expected to grow. */
        boolean copying() {
            return state.equals("running") || state.equals("throttled");
        }
    }

    /** A run cannot start or change as asked; the message says why. */
    public static final class Refused extends RuntimeException {
        public final boolean conflict;

        public Refused(String message, boolean conflict) {
            super(message, null, false, false);
            this.conflict = conflict;
        }

        /** A domain whose new side is a search origin: the search service fills its index itself. */
        public static Refused readOnly(Domain domain, String what) {
            return new Refused("Domain " + domain.name() + " reads its new side from the " + domain.target().describe()
                    + ", which is read-only and indexed by the search service itself; Turnout cannot " + what + " it", true);
        }
    }

    /** Largest chunk a run may ask for; larger ones make long transactions and key lists. */
    public static final int MAX_CHUNK = 10_000;
    /** Most workers a replica may run; with {@link Mirror#LOCK_BATCH} it bounds the advisory locks a replica holds. */
    public static final int MAX_WORKERS = 4;
    /** How long a chunk that refers to rows of an earlier chunk in flight waits before trying again. */
    private static final long REFERENCE_WAIT_MILLIS = 200;

    /** The statistics target of the analyses a run makes of its target as it grows (see analyzeIfGrown). */
    static final int ANALYZE_STATISTICS_TARGET = 10;

    /** A leased chunk; {@code lastError} is why its previous attempt failed, if one did. */
    private record Chunk(long runId, int number, String after, String upTo, int attempts, String lastError) {}

    private final BackfillConfig config;
    private final Databases databases;
    private final Domains domains;
    private final Mirror mirror;
    private final CopyGuard guard;
    private final OutboxRelay relay;
    private final Preflight preflight;
    private final Pilot pilot;
    private final io.turnout.routing.AppliedStages stages;
    private final io.turnout.control.Audit audit;
    private final LatencyWatch latency;
    private final Vertx vertx;
    private final MeterRegistry registry;
    private final Map<String, Run> latest = new ConcurrentHashMap<>();
    /** Rows a run must have copied before this replica analyzes its target again, by run id. */
    private final Map<Long, Long> analyzeAt = new ConcurrentHashMap<>();
    private final List<Worker> workers = new ArrayList<>();

    public Backfill(TurnoutConfig config, Databases databases, Domains domains, Mirror mirror, CopyGuard guard, OutboxRelay relay, Preflight preflight, Pilot pilot, io.turnout.routing.AppliedStages stages, io.turnout.control.Audit audit,
            LatencyWatch latency, Vertx vertx, MeterRegistry registry) {
        this.config = config.backfill();
        this.databases = databases;
        this.domains = domains;
        this.mirror = mirror;
        this.guard = guard;
        this.relay = relay;
        this.preflight = preflight;
        this.pilot = pilot;
        this.stages = stages;
        this.audit = audit;
        this.latency = latency;
        this.vertx = vertx;
        this.registry = registry;
    }

    void onStart(@Observes StartupEvent event) {
        if (config.workers() < 0 || config.workers() > MAX_WORKERS) {
            throw new IllegalStateException("turnout.backfill.workers is " + config.workers() + "; it must be 0 to " + MAX_WORKERS);
        }
        if (config.chunkSize() < 1 || config.chunkSize() > MAX_CHUNK) {
            throw new IllegalStateException("turnout.backfill.chunk-size is " + config.chunkSize() + "; it must be 1 to " + MAX_CHUNK);
        }
        String host = System.getenv().getOrDefault("HOSTNAME", "turnout");
        for (int i = 0; i < config.workers(); i++) {
            Worker w = newWorker(host + "-" + ProcessHandle.current().pid() + "-" + i);
            workers.add(w);
            w.start();
        }
    }

    /** Stops the workers and hands their leased chunks back at once, so another replica takes them without waiting for the lease. */
    void onStop(@Observes ShutdownEvent event) {
        workers.forEach(Worker::stop);
        String[] owners = workers.stream().map(Worker::owner).toArray(String[]::new);
        try {
            int released = control().preparedQuery("UPDATE turnout_backfill_chunk SET lease_until = now() WHERE state = 'leased' AND owner = ANY($1)")
                    .execute(Tuple.of((Object) owners)).map(rows -> rows.rowCount())
                    .toCompletionStage().toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS);
            if (released > 0) LOG.infof("Backfill: %d leased chunks handed back at shutdown", released);
        } catch (Exception e) {
            LOG.warnf("Backfill: leased chunks not handed back at shutdown (%s); they pass to another replica when their lease ends",
                    e.getMessage());
        }
    }

    private Pool control() {
        return databases.control().work();
    }

    /** Starts a run, after the domain's pre-flight checks; refused while one is active or a blocking check finds problems. */
    public Future<Run> start(Domain domain, Direction direction, Integer rowsPerSecond, Integer chunkSize, String actor) {
        if (!domain.copyable()) return Future.failedFuture(Refused.readOnly(domain, "backfill"));
        int chunk = chunkSize == null ? config.chunkSize() : chunkSize;
        if (direction == Direction.FORWARD) {
            for (String p : domain.declared().parents()) {
                Stage at = stages.get(p);
                if (at.ordinal() < Stage.SHADOW.ordinal()) {
                    // its rows would refer to parent rows the new store may not hold yet
                    return Future.failedFuture(new Refused("Domain " + domain.name() + " refers to records of " + p + ", which is at "
                            + at.label() + ": backfill " + p + " and move it to shadow first", true));
                }
            }
        }
        return guard.whileAllowed(domain, direction.target, what(direction), stage -> latest(domain, direction)).compose(existing -> {
            if (existing != null && existing.active()) {
                return Future.failedFuture(new Refused("A " + direction.label() + " backfill of " + domain.name()
                        + " is already " + existing.state() + " (run " + existing.id() + ")", true));
            }
            return preflight.run(domain);
        }).compose(results -> {
            List<String> holding = results.stream().filter(Preflight.Result::holds).map(Preflight.Result::describe).toList();
            if (!holding.isEmpty()) {
                String reason = String.join("; ", holding);
                return insert(domain, direction, "blocked", reason, chunk, rowsPerSecond, 0)
                        .compose(run -> Future.failedFuture(new Refused("Backfill held: " + reason, true)));
            }
            // each store's rows before the run, for the audit; the source's first table holds one row per
            // record, so its count is the run's estimate, and the source is not counted twice
            Store source = domain.store(direction.source);
            return tableCounts(domain).otherwise(Map.of()).compose(before -> {
                Long records = before.getOrDefault(direction.source.label(), Map.of()).get(source.tables().get(0));
                return (records != null ? Future.succeededFuture(records) : source.count(source.database().work()))
                        .compose(total -> insert(domain, direction, "running", null, chunk, rowsPerSecond, total))
                        .map(run -> Map.entry(run, before));
            });
        }).map(started -> {
            Run run = started.getKey();
            LOG.infof("Domain %s: %s backfill started (run %d, about %d rows, chunks of %d)", domain.name(),
                    direction.label(), run.id(), run.estimatedRows(), run.chunkSize());
            audit.record(domain.name(), "backfill-started", actor, null, null, direction.label() + " backfill",
                    Map.of("run", run.id(), "direction", direction.label(), "estimatedRows", run.estimatedRows(), "chunkSize", run.chunkSize(),
                            "tablesBefore", started.getValue()));
            workers.forEach(Worker::wake);
            return run;
        });
    }

    /** Pauses the newest run in the direction, or without one the newest run of the domain. */
    public Future<Run> pause(Domain domain, Direction direction) {
        if (direction == null) return newestDirection(domain, "paused").compose(d -> pause(domain, d));
        return transition(domain, direction, "('running', 'throttled')", "paused");
    }

    /**
     * Resumes a paused run, or one a stage change stopped, if the applied stage allows it now; without
     * a direction, the newest run of the domain.
     */
    public Future<Run> resume(Domain domain, Direction direction) {
        if (direction == null) return newestDirection(domain, "running").compose(d -> resume(domain, d));
        return guard.whileAllowed(domain, direction.target, what(direction),
                        stage -> transition(domain, direction, "('paused', 'stopped')", "running"))
                .onSuccess(r -> workers.forEach(Worker::wake));
    }

    /** How problems name a backfill in one direction. */
    static String what(Direction direction) {
        return "A " + direction.label() + " backfill";
    }

    /**
     * A stage change that makes a run's target authoritative, or stops it receiving writes, stops the
     * run at once; its chunks could not commit anyway (see {@link CopyGuard}).
     */
    void onStageChanged(@Observes StageChanged change) {
        Domain domain = domains.find(change.domain()).orElse(null);
        if (domain == null || !domain.copyable()) return;
        for (Direction direction : Direction.values()) {
            String why = CopyGuard.refusal(domain, change.to(), direction.target, what(direction));
            if (why != null) stopActive(domain, direction, why);
        }
    }

    private Future<Void> stopActive(Domain domain, Direction direction, String reason) {
        return control().preparedQuery("UPDATE turnout_backfill SET state = 'stopped', reason = $3, updated_at = now() "
                        + "WHERE domain = $1 AND direction = $2 AND state IN ('running', 'throttled', 'paused') RETURNING *")
                .execute(Tuple.of(domain.name(), direction.label(), reason))
                .map(rows -> {
                    for (Row r : rows) {
                        Run run = remember(run(r));
                        LOG.warnf("Domain %s: %s backfill run %d stopped: %s", domain.name(), direction.label(), run.id(), reason);
                        audit.record(domain.name(), "backfill-stopped", io.turnout.control.Audit.TURNOUT, null, null, reason,
                                Map.of("run", run.id(), "direction", direction.label()));
                    }
                    return (Void) null;
                })
                .onFailure(e -> LOG.errorf("Domain %s: could not mark the %s backfill stopped (%s); its chunks still cannot commit",
                        domain.name(), direction.label(), e.getMessage()));
    }

    private Future<Run> transition(Domain domain, Direction direction, String from, String to) {
        return control().preparedQuery("UPDATE turnout_backfill SET state = $3, updated_at = now() WHERE id = "
                        + "(SELECT id FROM turnout_backfill WHERE domain = $1 AND direction = $2 ORDER BY id DESC LIMIT 1) "
                        + "AND state IN " + from + " RETURNING *")
                .execute(Tuple.of(domain.name(), direction.label(), to))
                .compose(rows -> rows.size() == 0
                        ? Future.failedFuture(new Refused("No " + direction.label() + " backfill of " + domain.name()
                                + " can be " + to + " now", true))
                        : Future.succeededFuture(remember(run(rows.iterator().next()))))
                .onSuccess(r -> LOG.infof("Domain %s: %s backfill %s", domain.name(), direction.label(), to));
    }

    private Future<Direction> newestDirection(Domain domain, String to) {
        return latest(domain, null).compose(run -> run == null
                ? Future.failedFuture(new Refused("No backfill of " + domain.name() + " can be " + to + " now: none has run", true))
                : Future.succeededFuture(run.direction()));
    }

    /** The newest run of a domain in one direction (null: in either), or null when there is none. */
    public Future<Run> latest(Domain domain, Direction direction) {
        return control().preparedQuery("SELECT * FROM turnout_backfill WHERE domain = $1 AND ($2::text IS NULL OR direction = $2) "
                        + "ORDER BY id DESC LIMIT 1")
                .execute(Tuple.of(domain.name(), direction == null ? null : direction.label()))
                .map(rows -> rows.size() == 0 ? null : remember(run(rows.iterator().next())));
    }

    private Future<Run> insert(Domain domain, Direction direction, String state, String reason, int chunk,
            Integer rowsPerSecond, long estimated) {
        return control().preparedQuery("INSERT INTO turnout_backfill (domain, direction, state, reason, chunk_size, "
                        + "rows_per_second, estimated_rows, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                        + "CASE WHEN $3 = 'blocked' THEN now() END) RETURNING *")
                .execute(Tuple.of(domain.name(), direction.label(), state, reason, chunk, rowsPerSecond, estimated))
                .map(rows -> remember(run(rows.iterator().next())));
    }

    private Run remember(Run run) {
        String key = run.domain() + "/" + run.direction().label();
        if (latest.put(key, run) == null) {
            Gauge.builder("turnout_backfill_rows_copied", () -> latest.get(key).rowsCopied())
                    .description("Rows copied by the newest backfill run").tag("domain", run.domain())
                    .tag("direction", run.direction().label()).register(registry);
            Gauge.builder("turnout_backfill_rows_estimated", () -> latest.get(key).estimatedRows())
                    .description("Rows the newest backfill run expects to copy").tag("domain", run.domain())
                    .tag("direction", run.direction().label()).register(registry);
            Gauge.builder("turnout_backfill_active", () -> latest.get(key).active() ? 1 : 0)
                    .description("1 while the newest backfill run is running, throttled or paused").tag("domain", run.domain())
                    .tag("direction", run.direction().label()).register(registry);
            Gauge.builder("turnout_backfill_copying", () -> latest.get(key).copying() ? 1 : 0)
                    .description("1 while the newest backfill run is running or throttled (not paused): its rows copied should grow")
                    .tag("domain", run.domain()).tag("direction", run.direction().label()).register(registry);
        }
        return run;
    }

    private static Run run(Row r) {
        return new Run(r.getLong("id"), r.getString("domain"), Direction.ofLabel(r.getString("direction")).orElseThrow(),
                r.getString("state"), r.getString("reason"), r.getInteger("chunk_size"), r.getInteger("rows_per_second"),
                r.getBoolean("exhausted"), r.getLong("rows_copied"), r.getLong("estimated_rows"),
                r.getOffsetDateTime("started_at"), r.getOffsetDateTime("updated_at"), r.getOffsetDateTime("finished_at"));
    }

    /** This replica's workers. */
    public List<Worker> workers() {
        return List.copyOf(workers);
    }

    /** A chunk copier with its own identity; each replica runs {@code turnout.backfill.workers} of them. */
    public Worker newWorker(String owner) {
        return new Worker(owner);
    }

    public final class Worker {
        /** Consecutive failures of this worker to cut the next chunk of a run, by run id. */
        private final Map<Long, Integer> cutFailures = new java.util.concurrent.ConcurrentHashMap<>();

        private final String owner;
        private volatile boolean running;
        private volatile long timer = -1;
        private boolean busy;

        Worker(String owner) {
            this.owner = owner;
        }

        public String owner() {
            return owner;
        }

        public void start() {
            running = true;
            schedule(1);
        }

        /** Stops taking chunks at once, releasing nothing: what a crash looks like to the other workers. */
        public void stop() {
            running = false;
            if (timer >= 0) vertx.cancelTimer(timer);
        }

        /**
         * Takes the next chunk of the oldest active run and then dies without copying it: what a
         * replica killed mid-chunk leaves behind. For fault drills; returns the chunk number taken.
         */
        public Future<Integer> leaseAndDie() {
            running = false;
            return control().query("SELECT * FROM turnout_backfill WHERE state IN ('running', 'throttled') ORDER BY id LIMIT 1").execute()
                    .compose(rows -> {
                        if (rows.size() == 0) return Future.succeededFuture(null);
                        Run run = run(rows.iterator().next());
                        return lease(domains.find(run.domain()).orElseThrow(), run).map(c -> c == null ? null : c.number());
                    });
        }

        void wake() {
            synchronized (this) {
                if (!running || busy) return;
            }
            if (timer >= 0) vertx.cancelTimer(timer);
            schedule(1);
        }

        private void schedule(long delayMillis) {
            if (!running) return;
            timer = vertx.setTimer(Math.max(1, delayMillis), id -> step());
        }

        private void step() {
            synchronized (this) {
                if (busy || !running) return;
                busy = true;
            }
            work().onComplete(ar -> {
                synchronized (this) {
                    busy = false;
                }
                if (ar.failed()) LOG.warnf("Backfill worker %s: %s", owner, ar.cause().getMessage());
                schedule(ar.succeeded() ? ar.result() : config.pollInterval().toMillis());
            });
        }

        /** Copies one chunk if there is one; returns how long to wait before the next. */
        private Future<Long> work() {
            return control().query("SELECT * FROM turnout_backfill WHERE state IN ('running', 'throttled') ORDER BY id").execute()
                    .compose(rows -> {
                        Future<Long> next = Future.succeededFuture(null);
                        for (Row row : rows) {
                            Run run = run(row);
                            next = next.compose(done -> done != null ? Future.succeededFuture(done) : tryRun(run));
                        }
                        return next;
                    })
                    .map(delay -> delay == null ? config.pollInterval().toMillis() : delay);
        }

        private Future<Long> tryRun(Run run) {
            Domain domain = domains.find(run.domain()).orElse(null);
            if (domain == null) return fail(run, "domain " + run.domain() + " is no longer configured").map((Long) null);
            if (config.throttleP99().isPresent()) {
                Duration p99 = latency.p99(domain.name());
                boolean slow = p99.compareTo(config.throttleP99().get()) > 0;
                if (slow != run.state().equals("throttled")) {
                    String to = slow ? "throttled" : "running";
                    LOG.infof("Domain %s: %s backfill %s (request p99 %d ms, limit %d ms)", domain.name(), run.direction().label(),
                            to, p99.toMillis(), config.throttleP99().get().toMillis());
                    return control().preparedQuery("UPDATE turnout_backfill SET state = $2, updated_at = now() WHERE id = $1 "
                                    + "AND state IN ('running', 'throttled') RETURNING *")
                            .execute(Tuple.of(run.id(), to))
                            .map(rows -> {
                                rows.forEach(r -> remember(run(r)));
                                return slow ? config.throttlePause().toMillis() : 1L;
                            });
                }
                if (slow) return Future.succeededFuture(config.throttlePause().toMillis());
            }
            return lease(domain, run).compose(chunk -> chunk == null ? Future.succeededFuture((Long) null) : copy(domain, run, chunk));
        }

        /** Takes over an expired chunk, or cuts the next one after the run's cursor. */
        private Future<Chunk> lease(Domain domain, Run run) {
            return control().preparedQuery("UPDATE turnout_backfill_chunk SET owner = $2, attempts = attempts + 1, "
                            + "lease_until = now() + $3 * interval '1 millisecond' WHERE (run_id, chunk_no) = (SELECT run_id, chunk_no "
                            + "FROM turnout_backfill_chunk WHERE run_id = $1 AND state = 'leased' AND lease_until < now() "
                            + "ORDER BY chunk_no LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING run_id, chunk_no, after_key, up_to_key, attempts, last_error")
                    .execute(Tuple.of(run.id(), owner, config.leaseDuration().toMillis()))
                    .compose(rows -> {
                        if (rows.size() > 0) {
                            Chunk c = chunk(rows.iterator().next());
                            LOG.infof("Domain %s: worker %s took over chunk %d of %s backfill run %d (attempt %d)",
                                    domain.name(), owner, c.number(), run.direction().label(), run.id(), c.attempts());
                            if (c.attempts() > config.maxAttempts()) {
                                return fail(run, "chunk " + c.number() + " failed " + (c.attempts() - 1) + " times"
                                        + (c.lastError() == null ? "" : "; the last time: " + c.lastError())).map((Chunk) null);
                            }
                            return Future.succeededFuture(c);
                        }
                        return cut(domain, run);
                    });
        }

        /**
         * Cuts the next chunk. A failure to cut (the source cannot say where the chunk ends) is
         * retried at the poll interval, at most {@code turnout.backfill.max-attempts} times in a row
         * by this worker; then the run fails with the reason, rather than retrying unseen.
         */
        private Future<Chunk> cut(Domain domain, Run run) {
            return cutOnce(domain, run).onSuccess(c -> cutFailures.remove(run.id())).recover(e -> {
                int failures = cutFailures.merge(run.id(), 1, Integer::sum);
                if (failures < config.maxAttempts()) return Future.failedFuture(e);
                cutFailures.remove(run.id());
                return fail(run, "the next chunk could not be cut " + failures + " times in a row: " + e.getMessage()).map((Chunk) null);
            });
        }

        private Future<Chunk> cutOnce(Domain domain, Run run) {
            Store source = domain.store(run.direction().source);
            return control().withTransaction(tx -> tx
                    .preparedQuery("SELECT cursor_key, exhausted, next_chunk, chunk_size FROM turnout_backfill WHERE id = $1 "
                            + "AND state IN ('running', 'throttled') FOR UPDATE")
                    .execute(Tuple.of(run.id()))
                    .compose(rows -> {
                        if (rows.size() == 0) return Future.succeededFuture((Chunk) null);
                        Row r = rows.iterator().next();
                        String cursor = r.getString(0);
                        int number = r.getInteger(2);
                        if (r.getBoolean(1)) return finishIfDone(tx, domain, run).map((Chunk) null);
                        Object after = cursor == null ? null : domain.key().type().fromText(cursor);
                        return source.boundary(source.database().work(), after, r.getInteger(3)).compose(upTo -> {
                            String upToText = upTo == null ? null : domain.keyText(upTo);
                            return tx.preparedQuery("INSERT INTO turnout_backfill_chunk (run_id, chunk_no, after_key, up_to_key, state, "
                                            + "owner, lease_until) VALUES ($1, $2, $3, $4, 'leased', $5, now() + $6 * interval '1 millisecond')")
                                    .execute(Tuple.of(run.id(), number, cursor, upToText, owner, config.leaseDuration().toMillis()))
                                    .compose(v -> tx.preparedQuery("UPDATE turnout_backfill SET cursor_key = coalesce($2, cursor_key), "
                                                    + "exhausted = $3, next_chunk = next_chunk + 1, updated_at = now() WHERE id = $1")
                                            .execute(Tuple.of(run.id(), upToText, upTo == null)))
                                    .map(new Chunk(run.id(), number, cursor, upToText, 1, null));
                        });
                    }));
        }

        /** After the last chunk is cut, the run is done once no chunk is still leased. */
        private Future<Void> finishIfDone(io.vertx.sqlclient.SqlConnection tx, Domain domain, Run run) {
            return tx.preparedQuery("UPDATE turnout_backfill SET state = 'done', finished_at = now(), updated_at = now() "
                            + "WHERE id = $1 AND state IN ('running', 'throttled') AND NOT EXISTS (SELECT 1 FROM turnout_backfill_chunk WHERE run_id = $1 AND state = 'leased') "
                            + "RETURNING *")
                    .execute(Tuple.of(run.id()))
                    .map(rows -> {
                        for (Row r : rows) {
                            Run done = remember(run(r));
                            analyzeAt.remove(done.id());
                            analyze(domain, run, null, "after");
                            tableCounts(domain).otherwise(Map.of()).onSuccess(counts -> audit.record(domain.name(), "backfill-done",
                                    io.turnout.control.Audit.TURNOUT, null, null, run.direction().label() + " backfill",
                                    Map.of("run", done.id(), "direction", done.direction().label(), "rowsCopied", done.rowsCopied(),
                                            "tablesAfter", counts)));
                            LOG.infof("Domain %s: %s backfill done: %d rows in %.1f s", domain.name(), run.direction().label(),
                                    done.rowsCopied(), Duration.between(done.startedAt(), done.finishedAt()).toMillis() / 1000.0);
                            // what failed for want of rows the backfill has now copied (a reply's parent) may pass now
                            Future.succeededFuture().compose(v -> relay.retryParked(domain, null))
                                    .onFailure(e -> LOG.warnf("Domain %s: parked keys not put back in line: %s", domain.name(), e.getMessage()));
                        }
                        return null;
                    });
        }

        private Future<Long> copy(Domain domain, Run run, Chunk chunk) {
            long started = System.nanoTime();
            Object after = chunk.after() == null ? null : domain.key().type().fromText(chunk.after());
            Object upTo = chunk.upTo() == null ? null : domain.key().type().fromText(chunk.upTo());
            Direction direction = run.direction();
            return guard.whileAllowed(domain, direction.target, what(direction), stage -> copyRange(domain, direction, after, upTo))
                    .compose(rows -> checkpoint(domain, run, chunk, rows).compose(v -> pace(run, rows, (System.nanoTime() - started) / 1_000_000)))
                    .recover(e -> e instanceof Refused refused ? release(chunk, 0).compose(v -> stopActive(domain, direction, refused.getMessage()))
                            .map(config.pollInterval().toMillis()) : referenceAhead(chunk, e).compose(waits -> waits
                            ? release(chunk, REFERENCE_WAIT_MILLIS).map(config.pollInterval().toMillis())
                            : failed(domain, run, chunk, e)));
        }

        /**
         * Whether the chunk failed on a reference to a row an earlier chunk of the run, still being
         * copied by another worker, brings over: then it waits for that chunk without counting an attempt.
         */
        private Future<Boolean> referenceAhead(Chunk chunk, Throwable e) {
            if (!(e instanceof io.vertx.pgclient.PgException pg) || !"23503".equals(pg.getSqlState())) return Future.succeededFuture(false);
            return control().preparedQuery("SELECT EXISTS (SELECT 1 FROM turnout_backfill_chunk WHERE run_id = $1 AND chunk_no < $2 "
                            + "AND state = 'leased')")
                    .execute(Tuple.of(chunk.runId(), chunk.number()))
                    .map(rows -> rows.iterator().next().getBoolean(0));
        }

        private Future<Long> failed(Domain domain, Run run, Chunk chunk, Throwable e) {
            return control().preparedQuery("UPDATE turnout_backfill_chunk SET last_error = $4, "
                                    // backs off 250 ms, 500 ms, 1 s, ... up to 30 s: a chunk that needs rows another
                                    // worker is still copying (a reference to an earlier chunk) gets its time
                                    + "lease_until = now() + least(30000, 250 * 2 ^ least(attempts - 1, 7)) * interval '1 millisecond' "
                                    + "WHERE run_id = $1 AND chunk_no = $2 AND owner = $3 AND state = 'leased'")
                            .execute(Tuple.of(chunk.runId(), chunk.number(), owner, e.getClass().getSimpleName() + ": " + e.getMessage()))
                            .map(v -> {
                                LOG.warnf("Domain %s: chunk %d of %s backfill failed (attempt %d): %s", domain.name(), chunk.number(),
                                        run.direction().label(), chunk.attempts(), e.getMessage());
                                return config.pollInterval().toMillis();
                            });
        }

        /** Gives a chunk back uncopied, without counting an attempt, to be taken again after {@code delayMillis}. */
        private Future<Void> release(Chunk chunk, long delayMillis) {
            return control().preparedQuery("UPDATE turnout_backfill_chunk SET lease_until = now() + $4 * interval '1 millisecond', "
                            + "attempts = greatest(0, attempts - 1) WHERE run_id = $1 AND chunk_no = $2 AND owner = $3 AND state = 'leased'")
                    .execute(Tuple.of(chunk.runId(), chunk.number(), owner, delayMillis)).mapEmpty();
        }

        /**
         * How long to wait before the next chunk so the run as a whole, all its workers on all
         * replicas, copies no faster than its rowsPerSecond: the run keeps one schedule in the
         * control table, and each chunk books its rows' share of it, from when the chunk started.
         */
        private Future<Long> pace(Run run, long rows, long spentMillis) {
            if (run.rowsPerSecond() == null || run.rowsPerSecond() <= 0) return Future.succeededFuture(1L);
            return control().preparedQuery("UPDATE turnout_backfill SET paced_until = greatest(paced_until, now() - $2 * interval '1 millisecond') "
                            + "+ $3 * interval '1 millisecond' WHERE id = $1 "
                            + "RETURNING greatest(1, (extract(epoch FROM paced_until - now()) * 1000)::bigint)")
                    .execute(Tuple.of(run.id(), spentMillis, rows * 1000L / run.rowsPerSecond()))
                    .map(r -> r.size() == 0 ? 1L : r.iterator().next().getLong(0));
        }

        private Future<Void> checkpoint(Domain domain, Run run, Chunk chunk, long rows) {
            return control().withTransaction(tx -> tx
                    .preparedQuery("UPDATE turnout_backfill_chunk SET state = 'done', rows_copied = $4, done_by = $3, done_at = now() "
                            + "WHERE run_id = $1 AND chunk_no = $2 AND owner = $3 AND state = 'leased'")
                    .execute(Tuple.of(chunk.runId(), chunk.number(), owner, (int) rows))
                    .compose(updated -> {
                        if (updated.rowCount() == 0) {
                            LOG.infof("Domain %s: worker %s lost chunk %d to another worker; its copy is idempotent",
                                    domain.name(), owner, chunk.number());
                            return Future.succeededFuture();
                        }
                        return tx.preparedQuery("UPDATE turnout_backfill SET rows_copied = rows_copied + $2, updated_at = now() "
                                        + "WHERE id = $1 RETURNING *")
                                .execute(Tuple.of(run.id(), rows))
                                .map(r -> {
                                    progress(domain, run(r.iterator().next()), rows);
                                    return null;
                                });
                    }));
        }
    }

    private void progress(Domain domain, Run now, long justCopied) {
        remember(now);
        analyzeIfGrown(domain, now);
        long total = Math.max(1, now.estimatedRows());
        long before = (now.rowsCopied() - justCopied) * 20 / total;
        long after = now.rowsCopied() * 20 / total;
        if (after > before) {
            Duration eta = now.eta();
            LOG.infof("Domain %s: %s backfill %d%% (%d of about %d rows, %.0f rows/s%s)", domain.name(), now.direction().label(),
                    Math.min(100, now.rowsCopied() * 100 / total), now.rowsCopied(), now.estimatedRows(), now.rate(),
                    eta == null ? "" : ", about " + eta.toSeconds() + " s left");
        }
    }

    /**
     * Analyzes the run's target once the run has copied a chunk, and again each time the rows it
     * has copied have doubled. A target that was analyzed while empty (a new table) has statistics
     * that say so, and PostgreSQL plans by them: a statement prepared then, such as the check of a
     * reference to another row of the same table, scans the whole table for each row, which turns
     * a copy that should take seconds into one that takes hours as the table grows. These
     * analyses need the table's size and the rough spread of its values, not fine histograms: they
     * sample 3,000 rows ({@link #ANALYZE_STATISTICS_TARGET}) where a default ANALYZE reads 30,000
     * (of 1,000,000 rows: 14 ms against 110 ms). The finished table is analyzed once more, at the
     * server's target, for the clients' reads that come next.
     */
    private void analyzeIfGrown(Domain domain, Run run) {
        boolean[] due = {false};
        analyzeAt.compute(run.id(), (id, at) -> {
            if (run.rowsCopied() < (at == null ? 1 : at)) return at;
            due[0] = true;
            return run.rowsCopied() * 2;
        });
        if (!due[0]) return;
        analyze(domain, run, ANALYZE_STATISTICS_TARGET, "during");
    }

    /** Analyzes the run's target at {@code statisticsTarget} (null: the server's); a failure is a warning, and the run goes on. */
    private void analyze(Domain domain, Run run, Integer statisticsTarget, String when) {
        Store target = domain.store(run.direction().target);
        target.analyze(target.database().work(), statisticsTarget)
                .onFailure(e -> LOG.warnf("Domain %s: the %s store's statistics were not brought up to date %s the backfill: %s",
                        domain.name(), run.direction().target.label(), when, e.getMessage()));
    }

    /**
     * Makes the target equal to the source for the keys in {@code (after, upTo]}: inside PostgreSQL
     * when both table stores share a database, otherwise key by key through {@link Mirror}.
     */
    public Future<Long> copyRange(Domain domain, Direction direction, Object after, Object upTo) {
        Store source = domain.store(direction.source);
        Store target = domain.store(direction.target);
        // a forward copy never deletes the records the new store held before the migration, if the domain keeps them
        Future<Set<Object>> keptKeys = direction == Direction.FORWARD ? pilot.kept(domain) : Future.succeededFuture(Set.of());
        return keptKeys.compose(keep -> {
            List<Object> kept = keep.stream().filter(k -> within(k, after, upTo)).toList();
            if (source instanceof TableStore s && target instanceof TableStore t && domain.sameDatabase()) {
                return t.copyRangeFrom(t.database().work(), s, after, upTo, kept);
            }
            if (domain.sameDatabase()) {
                return target.database().work().withTransaction(tx -> copyInTransaction(domain, direction, tx, after, upTo, keep));
            }
            Future<List<Object>> sourceKeys = source.keys(source.database().work(), after, upTo, Integer.MAX_VALUE);
            Future<List<Object>> targetKeys = target.keys(target.database().work(), after, upTo, Integer.MAX_VALUE);
            return Future.all(sourceKeys, targetKeys).compose(v -> {
                Set<Object> keys = new LinkedHashSet<>(sourceKeys.result());
                Set<Object> sourceHas = new java.util.HashSet<>(sourceKeys.result());
                targetKeys.result().stream().filter(k -> sourceHas.contains(k) || !keep.contains(k)).forEach(keys::add);
                return mirror.copyAll(domain, new ArrayList<>(keys), direction.source, direction.target,
                        new java.util.HashSet<>(targetKeys.result())).map(n -> (long) n);
            });
        });
    }

    /**
     * The copy of one range when both stores share a database but are not both single tables (a
     * SQL mapping): one transaction that share-locks the source records of the range, reads them,
     * writes them into the target in one batch, and deletes the target's records of the range that
     * the source does not hold (but not those the domain keeps, see {@link Pilot}). A client write
     * of one of these records waits for the copy, or the copy for it, so neither overwrites the other.
     */
    private static Future<Long> copyInTransaction(Domain domain, Direction direction, io.vertx.sqlclient.SqlConnection tx, Object after,
            Object upTo, Set<Object> keep) {
        Store source = domain.store(direction.source);
        Store target = domain.store(direction.target);
        List<io.turnout.store.Filter> bound = upTo == null ? List.of()
                : List.of(new io.turnout.store.Filter(domain.key(), io.turnout.store.Filter.Op.LTE, List.of(upTo)));
        boolean whole = domain.copiedFrom(direction.source).size() == domain.fields().size();
        return source.lockRange(tx, after, upTo).compose(locked -> {
            // a SQL mapping copies every field inside PostgreSQL; otherwise the records pass through here
            Future<Void> copied = target instanceof io.turnout.store.MappedStore m && whole
                    ? m.copyRangeFrom(tx, source, after, upTo)
                    : source.list(tx, new io.turnout.store.Query(bound, Integer.MAX_VALUE, after))
                            .compose(records -> target.putAll(tx, records, domain.copiedFrom(direction.source)));
            Future<List<Object>> sourceKeys = copied.compose(v -> source.keys(tx, after, upTo, Integer.MAX_VALUE));
            return sourceKeys.compose(have -> target.keys(tx, after, upTo, Integer.MAX_VALUE).compose(keys -> {
                Set<Object> held = new java.util.HashSet<>(have);
                return target.deleteAll(tx, keys.stream().filter(k -> !held.contains(k) && !keep.contains(k)).toList());
            })).map(locked);
        });
    }

    /** Rows in each table of both stores (seed 003's record counts), by side label then table. */
    public static Future<Map<String, Map<String, Long>>> tableCounts(Domain domain) {
        if (!domain.copyable()) return Future.succeededFuture(Map.of());
        Store legacy = domain.store(Side.LEGACY);
        Store target = domain.store(Side.NEW);
        Future<Map<String, Long>> l = legacy.tableCounts(legacy.database().work());
        Future<Map<String, Long>> t = target.tableCounts(target.database().work());
        return Future.all(l, t).map(v -> {
            Map<String, Map<String, Long>> out = new java.util.LinkedHashMap<>();
            out.put(Side.LEGACY.label(), l.result());
            out.put(Side.NEW.label(), t.result());
            return out;
        });
    }

    /** Whether a key lies in {@code (after, upTo]}; a null bound is open. */
    private static boolean within(Object key, Object after, Object upTo) {
        return (after == null || io.turnout.domain.FieldType.compare(key, after) > 0) && (upTo == null || io.turnout.domain.FieldType.compare(key, upTo) <= 0);
    }

    private Future<Void> fail(Run run, String reason) {
        LOG.errorf("Domain %s: %s backfill run %d failed: %s", run.domain(), run.direction().label(), run.id(), reason);
        return control().preparedQuery("UPDATE turnout_backfill SET state = 'failed', reason = $2, finished_at = now(), "
                        + "updated_at = now() WHERE id = $1 RETURNING *")
                .execute(Tuple.of(run.id(), reason))
                .map(rows -> {
                    rows.forEach(r -> remember(run(r)));
                    audit.record(run.domain(), "backfill-failed", io.turnout.control.Audit.TURNOUT, null, null, reason,
                            Map.of("run", run.id(), "direction", run.direction().label()));
                    return null;
                });
    }

    private static Chunk chunk(Row r) {
        return new Chunk(r.getLong(0), r.getInteger(1), r.getString(2), r.getString(3), r.getInteger(4), r.getString(5));
    }
}
