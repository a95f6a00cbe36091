package io.turnout.sync;

import io.quarkus.runtime.StartupEvent;
import io.turnout.TurnoutConfig;
import io.turnout.TurnoutConfig.VerificationConfig;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.domain.Normalization;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.store.RangeSummary;
import io.turnout.store.Store;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Proves a domain's two stores agree, online: range by range in key order, each side summarised
 * (count and checksum of its records in API shape, through its own mapping), and only ranges that
 * differ drilled down to keys. Keys that differ are checked again a moment later, and only those
 * that still differ are reported (with the names of the differing fields, never values): a write
 * in flight is not a difference. The run checkpoints after every range and holds the findings of
 * two ranges in memory at most, so it resumes after a restart and scales to any table.
 */
@Singleton
public class Verification {
    private static final Logger LOG = Logger.getLogger(Verification.class);
    private static final long STALE_SECONDS = 30;

    /** A verification run as stored in the control database. */
    public record Run(long id, String domain, String state, String reason, int ranges, long rowsLegacy, long rowsNew,
            int missing, int extra, int different, int transientDifferences, OffsetDateTime startedAt, OffsetDateTime finishedAt,
            int acceptedExtra) {
        public boolean clean() {
            return state.equals("done") && missing == 0 && extra == 0 && different == 0;
        }
    }

    /** One confirmed difference. */
    public record Difference(String key, String kind, List<String> fields, boolean repaired) {}

    private final VerificationConfig config;
    private final Databases databases;
    private final Domains domains;
    private final Mirror mirror;
    private final CopyGuard guard;
    private final OutboxRelay relay;
    private final Vertx vertx;
    private final io.turnout.control.Audit audit;
    private final Pilot pilot;
    /** Runs this replica is comparing now. */
    private final Set<Long> looping = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final String owner = System.getenv().getOrDefault("HOSTNAME", "turnout") + "-" + ProcessHandle.current().pid();

    public Verification(TurnoutConfig config, Databases databases, Domains domains, Mirror mirror,
            CopyGuard guard, OutboxRelay relay, Vertx vertx, io.turnout.control.Audit audit, Pilot pilot) {
        this.audit = audit;
        this.pilot = pilot;
        this.config = config.verification();
        this.databases = databases;
        this.domains = domains;
        this.mirror = mirror;
        this.guard = guard;
        this.relay = relay;
        this.vertx = vertx;
    }

    private Pool control() {
        return databases.control().work();
    }

    /** Resumes runs whose replica stopped, every few seconds. */
    void onStart(@Observes StartupEvent event) {
        vertx.setPeriodic(5_000, id -> control()
                .preparedQuery("UPDATE turnout_verification SET owner = $1, heartbeat = now() WHERE state = 'running' "
                        + "AND heartbeat < now() - $2 * interval '1 second' RETURNING id, domain")
                .execute(Tuple.of(owner, STALE_SECONDS))
                .onSuccess(rows -> rows.forEach(r -> domains.find(r.getString(1)).ifPresent(d -> {
                    LOG.infof("Domain %s: resuming verification run %d", d.name(), r.getLong(0));
                    loop(d, r.getLong(0));
                }))));
    }

    /** Starts a run in the background and returns it. */
    public Future<Run> start(Domain domain, String actor) {
        if (!domain.copyable()) return Future.failedFuture(Backfill.Refused.readOnly(domain, "verify"));
        return control().preparedQuery("INSERT INTO turnout_verification (domain, state, owner) VALUES ($1, 'running', $2) RETURNING *")
                .execute(Tuple.of(domain.name(), owner))
                .map(rows -> run(rows.iterator().next()))
                .onSuccess(run -> {
                    LOG.infof("Domain %s: verification run %d started", domain.name(), run.id());
                    audit.record(domain.name(), "verification-started", actor, null, null, null,
                            Map.of("run", run.id()));
                    loop(domain, run.id());
                });
    }

    public Future<Run> get(long id) {
        return control().preparedQuery("SELECT * FROM turnout_verification WHERE id = $1").execute(Tuple.of(id))
                .map(rows -> rows.size() == 0 ? null : run(rows.iterator().next()));
    }

    public Future<Run> latest(Domain domain) {
        return control().preparedQuery("SELECT * FROM turnout_verification WHERE domain = $1 ORDER BY id DESC LIMIT 1")
                .execute(Tuple.of(domain.name()))
                .map(rows -> rows.size() == 0 ? null : run(rows.iterator().next()));
    }

    /** The newest run that has finished (done or failed), or null. */
    public Future<Run> latestFinished(Domain domain) {
        return control().preparedQuery("SELECT * FROM turnout_verification WHERE domain = $1 AND state <> 'running' ORDER BY id DESC LIMIT 1")
                .execute(Tuple.of(domain.name()))
                .map(rows -> rows.size() == 0 ? null : run(rows.iterator().next()));
    }

    public Future<List<Difference>> differences(long runId, int limit) {
        return control().preparedQuery("SELECT record_key, kind, fields, repaired FROM turnout_verification_diff WHERE run_id = $1 "
                        + "ORDER BY kind, record_key LIMIT $2")
                .execute(Tuple.of(runId, limit))
                .map(rows -> {
                    List<Difference> out = new ArrayList<>();
                    for (Row r : rows) {
                        String[] fields = r.getArrayOfStrings(2);
                        out.add(new Difference(r.getString(0), r.getString(1), fields == null ? List.of() : List.of(fields), r.getBoolean(3)));
                    }
                    return out;
                });
    }

    /**
     * Brings the other store to the authoritative one for every unrepaired key of a run; returns how
     * many keys. Each batch commits under the stage lock and only while the store it writes into is
     * not authoritative and receives every write (see {@link CopyGuard}); otherwise it is refused.
     */
    public Future<Integer> repair(Domain domain, long runId, String actor) {
        return guard.whileApplied(domain, stage -> Future.succeededFuture(stage.authoritative())).compose(from -> {
            Side into = from.other();
            return control().preparedQuery("SELECT record_key FROM turnout_verification_diff WHERE run_id = $1 AND NOT repaired")
                    .execute(Tuple.of(runId))
                    .compose(rows -> {
                        List<Object> keys = new ArrayList<>();
                        for (Row r : rows) keys.add(domain.key().type().fromText(r.getString(0)));
                        Future<Void> chain = guard.whileAllowed(domain, into, "A repair", stage -> Future.succeededFuture());
                        for (int i = 0; i < keys.size(); i += 500) {
                            List<Object> batch = keys.subList(i, Math.min(keys.size(), i + 500));
                            chain = chain.compose(v -> guard.whileAllowed(domain, into, "A repair",
                                    stage -> mirror.syncAll(domain, batch, from, into)).mapEmpty());
                        }
                        return chain.compose(v -> control().preparedQuery("UPDATE turnout_verification_diff SET repaired = true "
                                        + "WHERE run_id = $1 AND NOT repaired").execute(Tuple.of(runId)))
                                .map(keys.size());
                    })
                    .onSuccess(n -> {
                        LOG.infof("Domain %s: repaired %d keys of verification run %d from the %s store",
                                domain.name(), n, runId, from.label());
                        audit.record(domain.name(), "repair", actor, null, null, null,
                                Map.of("run", runId, "repairedKeys", n, "from", from.label()));
                        Future.succeededFuture().compose(v -> relay.retryParked(domain, null))
                                .onFailure(e -> LOG.warnf("Domain %s: parked keys not put back in line: %s", domain.name(), e.getMessage()));
                    });
        });
    }

    private void loop(Domain domain, long id) {
        // a range slower than the heartbeat's limit makes the run look stale here too: one loop per run
        if (!looping.add(id)) return;
        resume(domain, id).onComplete(ar -> {
            looping.remove(id);
            if (ar.failed()) {
                String reason = ar.cause().getClass().getSimpleName() + ": " + ar.cause().getMessage();
                LOG.warnf("Domain %s: verification run %d failed: %s", domain.name(), id, reason);
                control().preparedQuery("UPDATE turnout_verification SET state = 'failed', reason = $2, finished_at = now() "
                                + "WHERE id = $1 AND state = 'running' AND owner = $3")
                        .execute(Tuple.of(id, reason, owner)).onComplete(x -> finished(id));
            } else {
                finished(id);
            }
        });
    }

    private void finished(long id) {
        get(id).onSuccess(run -> {
            if (run != null && run.state().equals("running")) {
                LOG.infof("Domain %s: verification run %d was taken over by another replica; this one stops comparing it", run.domain(), id);
                return;
            }
            if (run != null && run.state().equals("done")) {
                LOG.infof("Domain %s: verification run %d done: %d ranges, %d legacy rows, %d new rows, %d missing, %d extra, "
                                + "%d different, %d transient", run.domain(), id, run.ranges(), run.rowsLegacy(), run.rowsNew(),
                        run.missing(), run.extra(), run.different(), run.transientDifferences());
            }
            if (run != null) {
                audit.record(run.domain(), "verification-" + run.state(), io.turnout.control.Audit.TURNOUT, null, null, run.reason(),
                        Map.of("run", run.id(), "clean", run.clean(), "missing", run.missing(), "extra", run.extra(),
                                "different", run.different()));
            }
        });
    }

    /** Compares the run's ranges from its cursor to the end, unless it has stopped; completes when it is done, stopped or failed. */
    private Future<Void> resume(Domain domain, long id) {
        return control().preparedQuery("SELECT cursor_key, exhausted, state FROM turnout_verification WHERE id = $1").execute(Tuple.of(id))
                .compose(rows -> {
                    Row r = rows.iterator().next();
                    if (!r.getString(2).equals("running")) return Future.succeededFuture();
                    if (r.getBoolean(1)) return done(id);
                    Object after = r.getString(0) == null ? null : domain.key().type().fromText(r.getString(0));
                    Store legacy = domain.store(Side.LEGACY);
                    return legacy.boundary(legacy.database().work(), after, config.chunkSize()).compose(upTo -> {
                        Promise<Void> end = Promise.promise();
                        ranges(domain, id, after, upTo, Future.succeededFuture(true), end);
                        return end.future();
                    });
                });
    }

    /**
     * Compares {@code (after, upTo]} and finds where the range after it ends; once that end is known
     * and the range before this one is recorded ({@code previous}: true when the run is still running
     * and this replica's), goes on with the range after it, while this one is still being compared.
     * So two ranges are compared at a time, and neither store waits for the other side of a range
     * or for the control database: a side that finishes its summary first starts on the next range.
     * Ranges are still recorded one after another in key order, each in its own transaction: the
     * cursor only passes ranges whose findings are stored, and a resumed run starts after the last
     * range recorded. Completes {@code end} after the last range, once the run has stopped or another
     * replica has taken it over, or with the first failure.
     */
    private void ranges(Domain domain, long id, Object after, Object upTo, Future<Boolean> previous, Promise<Void> end) {
        Store legacy = domain.store(Side.LEGACY);
        Future<Compared> compared = compare(domain, after, upTo);
        Future<Boolean> recorded = Future.join(compared, previous)
                .compose(v -> previous.result() ? record(domain, id, upTo, compared.result()) : Future.succeededFuture(false));
        if (upTo == null) {
            recorded.compose(ours -> ours ? done(id) : Future.succeededFuture()).onComplete(end);
            return;
        }
        Future<Object> next = legacy.boundary(legacy.database().work(), upTo, config.chunkSize());
        Future.join(next, previous).onComplete(ar -> {
            if (ar.failed()) {
                end.fail(ar.cause());
            } else if (!previous.result()) {
                end.complete();
            } else {
                ranges(domain, id, upTo, next.result(), recorded, end);
            }
        });
    }

    private Future<Void> done(long id) {
        return control().preparedQuery("UPDATE turnout_verification SET state = 'done', finished_at = now() WHERE id = $1 AND state = 'running'")
                .execute(Tuple.of(id)).mapEmpty();
    }

    /** What one range holds on each side: record counts and the differences confirmed by a second look. */
    private record Compared(long legacyRows, long newRows, Found found) {}

    private Future<Compared> compare(Domain domain, Object after, Object upTo) {
        Normalization n = domain.normalization();
        Store legacy = domain.store(Side.LEGACY);
        Store target = domain.store(Side.NEW);
        Future<RangeSummary> l = legacy.summarize(legacy.database().work(), after, upTo, n);
        Future<RangeSummary> t = target.summarize(target.database().work(), after, upTo, n);
        return Future.all(l, t).compose(v -> {
            Future<Found> found = l.result().equals(t.result())
                    ? Future.succeededFuture(new Found(Set.of(), Set.of(), Set.of(), 0, 0))
                    : pilot.kept(domain).compose(kept -> drill(domain, after, upTo, kept));
            return found.map(f -> new Compared(l.result().count(), t.result().count(), f));
        });
    }

    /** What a range holds that differs; {@code acceptedExtra}: records only the new store held before the migration, which the domain keeps. */
    private record Found(Set<Object> missing, Set<Object> extra, Set<Object> different, int transientCount, int acceptedExtra) {}

    /** Keys that differ in a range, confirmed by a second look after the re-check delay. */
    private Future<Found> drill(Domain domain, Object after, Object upTo, Set<Object> kept) {
        Normalization n = domain.normalization();
        Store legacy = domain.store(Side.LEGACY);
        Store target = domain.store(Side.NEW);
        Future<Map<Object, Long>> hl = legacy.hashes(legacy.database().work(), after, upTo, null, n);
        Future<Map<Object, Long>> ht = target.hashes(target.database().work(), after, upTo, null, n);
        return Future.all(hl, ht).compose(v -> {
            Set<Object> suspects = differing(hl.result(), ht.result());
            if (suspects.isEmpty()) return Future.succeededFuture(new Found(Set.of(), Set.of(), Set.of(), 0, 0));
            Promise<Void> later = Promise.promise();
            vertx.setTimer(Math.max(1, config.recheckDelay().toMillis()), t -> later.complete());
            List<Object> keys = new ArrayList<>(suspects);
            return later.future().compose(x -> {
                Future<Map<Object, Long>> rl = legacy.hashes(legacy.database().work(), null, null, keys, n);
                Future<Map<Object, Long>> rt = target.hashes(target.database().work(), null, null, keys, n);
                return Future.all(rl, rt).map(y -> {
                    Set<Object> missing = new HashSet<>();
                    Set<Object> extra = new HashSet<>();
                    Set<Object> different = new HashSet<>();
                    int accepted = 0;
                    for (Object k : keys) {
                        Long a = rl.result().get(k);
                        Long b = rt.result().get(k);
                        if (Objects.equals(a, b)) continue;
                        if (b == null) missing.add(k);
                        else if (a == null && kept.contains(k)) accepted++;
                        else if (a == null) extra.add(k);
                        else different.add(k);
                    }
                    int confirmed = missing.size() + extra.size() + different.size() + accepted;
                    return new Found(missing, extra, different, keys.size() - confirmed, accepted);
                });
            });
        });
    }

    private static Set<Object> differing(Map<Object, Long> a, Map<Object, Long> b) {
        Set<Object> out = new HashSet<>();
        a.forEach((k, h) -> {
            if (!h.equals(b.get(k))) out.add(k);
        });
        b.keySet().forEach(k -> {
            if (!a.containsKey(k)) out.add(k);
        });
        return out;
    }

    /**
     * Stores a range's findings and moves the run's cursor past it, in one transaction; false, with
     * nothing stored, when the run has stopped or another replica has taken it over meanwhile.
     */
    private Future<Boolean> record(Domain domain, long id, Object upTo, Compared c) {
        Found f = c.found();
        Future<Map<Object, List<String>>> fields = f.different().isEmpty()
                ? Future.succeededFuture(Map.of())
                : differingFields(domain, new ArrayList<>(f.different()));
        return fields.compose(byKey -> control().withTransaction(tx -> tx.preparedQuery("UPDATE turnout_verification SET cursor_key = $2, "
                        + "exhausted = $3, ranges = ranges + 1, rows_legacy = rows_legacy + $4, rows_new = rows_new + $5, missing = missing + $6, "
                        + "extra = extra + $7, different = different + $8, transient = transient + $9, heartbeat = now(), "
                        + "accepted_extra = accepted_extra + $11 WHERE id = $1 AND state = 'running' AND owner = $10")
                .execute(Tuple.from(new Object[] {id, upTo == null ? null : domain.keyText(upTo), upTo == null, c.legacyRows(), c.newRows(),
                    f.missing().size(), f.extra().size(), f.different().size(), f.transientCount(), owner, f.acceptedExtra()}))
                .compose(moved -> {
                    if (moved.rowCount() == 0) return Future.succeededFuture(false);
                    List<Tuple> diffs = new ArrayList<>();
                    f.missing().forEach(k -> diffs.add(Tuple.of(id, domain.keyText(k), "missing", null)));
                    f.extra().forEach(k -> diffs.add(Tuple.of(id, domain.keyText(k), "extra", null)));
                    f.different().forEach(k -> diffs.add(Tuple.of(id, domain.keyText(k), "different",
                            byKey.getOrDefault(k, List.of()).toArray(new String[0]))));
                    if (diffs.isEmpty()) return Future.succeededFuture(true);
                    // the run's row is locked by this transaction: the count cannot change before the insert
                    return tx.preparedQuery("SELECT count(*) FROM turnout_verification_diff WHERE run_id = $1").execute(Tuple.of(id))
                            .compose(stored -> {
                                long room = config.maxStoredDifferences() - stored.iterator().next().getLong(0);
                                if (room <= 0) return Future.succeededFuture(true);
                                return tx.preparedQuery("INSERT INTO turnout_verification_diff (run_id, record_key, kind, fields) "
                                                + "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                                        .executeBatch(diffs.subList(0, (int) Math.min(room, diffs.size()))).map(true);
                            });
                })));
    }

    /** Names of the fields that differ per key, compared in API shape with the domain's normalisation. */
    private Future<Map<Object, List<String>>> differingFields(Domain domain, List<Object> keys) {
        // background work: on each store's work pool, like the rest of a verification
        Store legacy = domain.store(Side.LEGACY);
        Store target = domain.store(Side.NEW);
        Future<List<Record>> l = legacy.getAll(legacy.database().work(), keys);
        Future<List<Record>> t = target.getAll(target.database().work(), keys);
        return Future.all(l, t).map(v -> {
            Map<Object, Record> byKeyNew = new HashMap<>();
            t.result().forEach(r -> byKeyNew.put(r.get(domain.key().name()), r));
            Map<Object, List<String>> out = new HashMap<>();
            for (Record a : l.result()) {
                Record b = byKeyNew.get(a.get(domain.key().name()));
                if (b == null) continue;
                out.put(a.get(domain.key().name()), domain.normalization().differingFields(domain.fields(), a, b));
            }
            return out;
        });
    }

    private static Run run(Row r) {
        return new Run(r.getLong("id"), r.getString("domain"), r.getString("state"), r.getString("reason"), r.getInteger("ranges"),
                r.getLong("rows_legacy"), r.getLong("rows_new"), r.getInteger("missing"), r.getInteger("extra"),
                r.getInteger("different"), r.getInteger("transient"), r.getOffsetDateTime("started_at"), r.getOffsetDateTime("finished_at"),
                r.getInteger("accepted_extra"));
    }
}
