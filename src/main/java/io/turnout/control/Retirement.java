package io.turnout.control;

import static io.turnout.control.StageControl.await;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.Startup;
import io.turnout.TurnoutConfig;
import io.turnout.api.ApiException;
import io.turnout.api.Problems;
import io.turnout.db.Database;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.domain.Side;
import io.turnout.flags.FlagWriter;
import io.turnout.flags.StageChanged;
import io.turnout.fleet.Replicas;
import io.turnout.routing.Stage;
import io.turnout.store.Store;
import io.turnout.store.TableStore;
import io.turnout.sync.OutboxRelay;
import io.turnout.sync.Verification;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The end of a migration (docs/release-managers.md, "Retirement"): a release manager requests it,
 * an approver who is not the requester approves it once its gates pass (the domain at
 * {@code complete} for the safety window, a clean verification since, the outbox empty, no stale
 * replica, no write into the legacy tables since {@code complete}); then, each step recorded in
 * {@code turnout_retirement} before the next begins, so a restart resumes where it stopped:
 * archive each legacy table and verify the copy by row count and checksum; drop each legacy table
 * (or rename it with the domain's {@code rename-suffix}, dropped later by a second approved
 * request); record the applied stage {@code retired}.
 */
@Startup
@Singleton
public class Retirement {
    private static final Logger LOG = Logger.getLogger(Retirement.class);
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);
    /** Longest the copy of one legacy table into its archive, or a checksum of one table, may take. */
    private static final Duration COPY_TIMEOUT = Duration.ofHours(1);
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyyMMdd").withZone(ZoneOffset.UTC);
    private static final List<String> OPEN = List.of("requested", "approved", "archived", "removed");
    static final String RETIRE = "retire";
    static final String DROP_RENAMED = "drop-renamed";

    /** One request and how far it got. */
    public record Request(long id, String domain, String kind, String state, String reason, String requestedBy, OffsetDateTime requestedAt,
            OffsetDateTime expiresAt, String approvedBy, OffsetDateTime approvedAt, Map<String, String> archives, Map<String, String> renamed,
            int attempts, String failure) {}

    /** One computed check of the removal checklist, with its evidence. */
    public record Check(String name, boolean pass, String evidence) {}

    /** What a request would run, without running it: the statements in order and the checklist now. */
    public record Plan(String kind, List<String> statements, List<Check> checklist) {}

    /** A table's row count and order-independent checksum. */
    record Fingerprint(long rows, String checksum) {}

    private final TurnoutConfig config;
    private final Domains domains;
    private final Databases databases;
    private final StageControl control;
    private final Verification verification;
    private final OutboxRelay relay;
    private final Replicas replicas;
    private final Audit audit;
    private final FlagWriter flags;
    private final TurnoutClock clock;
    private final io.turnout.routing.AppliedStages stages;
    private final ObjectMapper json = new ObjectMapper();
    /** Longest the fingerprint at complete waits for every live replica to route by it. */
    private static final Duration SETTLE = Duration.ofMinutes(2);

    /** Runs the steps, one at a time. */
    private final ScheduledExecutorService steps = Executors.newSingleThreadScheduledExecutor(r -> thread(r, "turnout-retirement"));
    /** Answers the control API's requests, whose reads wait on the databases. */
    private final ExecutorService api = Executors.newFixedThreadPool(2, r -> thread(r, "turnout-retirement-api"));

    public Retirement(TurnoutConfig config, Domains domains, Databases databases, StageControl control, Verification verification,
            OutboxRelay relay, Replicas replicas, Audit audit, FlagWriter flags, TurnoutClock clock, io.turnout.routing.AppliedStages stages) {
        this.stages = stages;
        this.config = config;
        this.domains = domains;
        this.databases = databases;
        this.control = control;
        this.verification = verification;
        this.relay = relay;
        this.replicas = replicas;
        this.audit = audit;
        this.flags = flags;
        this.clock = clock;
        // a retirement a stopped process left half-way goes on from its last recorded step
        List<Request> open = await(control().preparedQuery(SELECT + " WHERE state IN ('approved', 'archived', 'removed')").execute()
                .map(rows -> { List<Request> out = new ArrayList<>(); rows.forEach(r -> out.add(request(r))); return out; }),
                READ_TIMEOUT, "read the retirements in progress");
        for (Request r : open) {
            LOG.infof("Domain %s: resuming retirement %d at state %s", r.domain(), r.id(), r.state());
            schedule(r.id(), Duration.ZERO);
        }
    }

    private static Thread thread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private io.vertx.sqlclient.Pool control() {
        return databases.control().work();
    }

    private static final String SELECT = "SELECT id, domain, kind, state, reason, requested_by, requested_at, expires_at, approved_by, "
            + "approved_at, archives::text, renamed::text, attempts, failure FROM turnout_retirement";

    private Request request(Row r) {
        try {
            TypeReference<Map<String, String>> map = new TypeReference<>() {};
            return new Request(r.getLong(0), r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5),
                    r.getOffsetDateTime(6), r.getOffsetDateTime(7), r.getString(8), r.getOffsetDateTime(9),
                    json.readValue(r.getString(10), map), json.readValue(r.getString(11), map), r.getInteger(12), r.getString(13));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs blocking work for the control API off the event loop. */
    public <T> CompletableFuture<T> offLoop(java.util.function.Supplier<T> work) {
        return CompletableFuture.supplyAsync(work, api);
    }

    /** The domain's newest request, an open one whose time ran out marked expired first; null when there is none. */
    public Request latest(Domain d) {
        await(control().preparedQuery("UPDATE turnout_retirement SET state = 'expired', updated_at = now() "
                + "WHERE domain = $1 AND state = 'requested' AND expires_at < $2").execute(Tuple.of(d.name(), at(clock.now()))),
                READ_TIMEOUT, "expire old retirement requests");
        return await(control().preparedQuery(SELECT + " WHERE domain = $1 ORDER BY id DESC LIMIT 1").execute(Tuple.of(d.name()))
                .map(rows -> rows.size() == 0 ? null : request(rows.iterator().next())), READ_TIMEOUT, "read the retirement of " + d.name());
    }

    /** Records a request by {@code actor}; refused while another is open, or when the domain is not where this kind of request starts. */
    public Request request(Domain d, String actor, String reason) {
        List<String> tables = legacyTables(d);
        Stage applied = stages.get(d.name());
        Request last = latest(d);
        if (last != null && OPEN.contains(last.state())) {
            throw conflict("retirement " + last.id() + " of " + d.name() + " is already " + last.state());
        }
        String kind;
        if (applied == Stage.COMPLETE) {
            kind = RETIRE;
        } else if (applied == Stage.RETIRED && !renamedLeft(d).isEmpty()) {
            kind = DROP_RENAMED;
        } else if (applied == Stage.RETIRED) {
            throw conflict("domain " + d.name() + " is retired and has no renamed legacy table left to drop");
        } else {
            throw conflict("domain " + d.name() + " is at " + applied.label() + ": retirement starts at complete");
        }
        if (kind.equals(RETIRE)) fingerprintIfMissing(d, tables);
        Instant now = clock.now();
        Request r = await(control().preparedQuery("INSERT INTO turnout_retirement (domain, kind, state, reason, requested_by, requested_at, "
                        + "expires_at) VALUES ($1, $2, 'requested', $3, $4, $5, $6) RETURNING id").execute(Tuple.of(d.name(), kind, reason, actor,
                        at(now), at(now.plus(config.retirement().requestExpiresAfter()))))
                .compose(rows -> control().preparedQuery(SELECT + " WHERE id = $1").execute(Tuple.of(rows.iterator().next().getLong(0))))
                .map(rows -> request(rows.iterator().next())), READ_TIMEOUT, "record the retirement request of " + d.name());
        await(audit.write(d.name(), "retirement-requested", actor, applied.label(), kind.equals(RETIRE) ? "retired" : applied.label(), reason,
                Map.of("request", r.id(), "kind", kind, "expiresAt", r.expiresAt().toString())), READ_TIMEOUT, "audit the request");
        return r;
    }

    /**
     * Approves the open request by {@code actor}, who must not be its requester, once every gate
     * passes; the steps then run in the background.
     */
    public Request approve(Domain d, String actor) {
        Request r = latest(d);
        if (r == null || (!r.state().equals("requested") && !r.state().equals("expired"))) {
            throw Problems.problem(404, "not-found", "Not found", "No retirement request of " + d.name() + " waits for approval"
                    + (r == null ? "" : " (the newest, " + r.id() + ", is " + r.state() + ")"), null);
        }
        if (r.state().equals("expired")) {
            throw conflict("retirement request " + r.id() + " expired at " + r.expiresAt() + "; request it again");
        }
        if (r.requestedBy().equals(actor)) {
            throw Problems.problem(403, "two-person-rule", "Forbidden", "Two-person rule: " + actor + " requested retirement " + r.id()
                    + " and may not approve it; another approver must", null);
        }
        List<Check> gates = r.kind().equals(RETIRE) ? checks(d, r, false) : dropRenamedChecks(d);
        List<Check> failing = gates.stream().filter(c -> !c.pass()).toList();
        if (!failing.isEmpty()) {
            throw conflict("retirement " + r.id() + " cannot be approved yet: " + String.join("; ",
                    failing.stream().map(c -> c.name() + ": " + c.evidence()).toList()));
        }
        Instant now = clock.now();
        Map<String, String> archives = new LinkedHashMap<>();
        if (r.kind().equals(RETIRE)) {
            for (String t : legacyTables(d)) archives.put(t, archiveName(d, t, now));
        }
        Request approved = await(control().preparedQuery("UPDATE turnout_retirement SET state = 'approved', approved_by = $2, approved_at = $3, "
                        + "archives = $4, updated_at = now() WHERE id = $1 AND state = 'requested' RETURNING id")
                .execute(Tuple.of(r.id(), actor, at(now), jsonb(archives)))
                .compose(rows -> {
                    if (rows.size() == 0) return Future.failedFuture(conflict("retirement " + r.id() + " changed meanwhile"));
                    return control().preparedQuery(SELECT + " WHERE id = $1").execute(Tuple.of(r.id())).map(x -> request(x.iterator().next()));
                }), READ_TIMEOUT, "record the approval");
        Map<String, Object> evidence = new LinkedHashMap<>();
        gates.forEach(c -> evidence.put(c.name(), c.evidence()));
        evidence.put("request", r.id());
        evidence.put("archives", archives);
        await(audit.write(d.name(), "retirement-approved", actor, null, null, r.reason(), evidence), READ_TIMEOUT, "audit the approval");
        schedule(r.id(), Duration.ZERO);
        return approved;
    }

    /** The statements the domain's retirement would run and the checklist now; runs nothing. */
    public Plan plan(Domain d) {
        Request r = latest(d);
        boolean dropRenamed = stages.get(d.name()) == Stage.RETIRED;
        List<String> statements = new ArrayList<>();
        Instant now = clock.now();
        if (dropRenamed) {
            for (String renamed : renamedLeft(d).values()) statements.add(dropSql(renamed));
        } else {
            for (String t : legacyTables(d)) {
                String archive = r != null && r.archives().containsKey(t) ? r.archives().get(t) : archiveName(d, t, now);
                statements.add(createArchiveSql(t, archive));
                statements.add(copySql(t, archive));
            }
            for (String t : legacyTables(d)) statements.add(lockSql(t));
            for (String t : legacyTables(d)) statements.add(removeSql(d, t));
        }
        return new Plan(dropRenamed ? DROP_RENAMED : RETIRE, statements, checklist(d, r));
    }

    /** The removal checklist as it stands, each check with its evidence. */
    public List<Check> checklist(Domain d, Request r) {
        if (r != null && r.kind().equals(DROP_RENAMED)) {
            List<Check> out = new ArrayList<>(dropRenamedChecks(d));
            out.add(approvals(r));
            return out;
        }
        return checks(d, r, true);
    }

    /** The approval gates of a request to drop renamed tables. */
    private List<Check> dropRenamedChecks(Domain d) {
        List<Check> out = new ArrayList<>(List.of(renamedTablesLeft(d)));
        Check related = children(d, true);
        if (related != null) out.add(related);
        return out;
    }

    /** The approval gates, and with {@code all} the archive and approval checks too. */
    private List<Check> checks(Domain d, Request r, boolean all) {
        StageRow row = await(control.row(d), READ_TIMEOUT, "read the stage of " + d.name());
        List<Check> out = new ArrayList<>();
        boolean atComplete = row.applied() == Stage.COMPLETE || row.applied() == Stage.RETIRED;
        Instant since = row.changedAt().toInstant();
        Duration window = window(d);
        Instant now = clock.now();
        String clockNote = clock.offset().isZero() ? "" : " (clock offset " + clock.offset() + ")";
        out.add(new Check("safety_window", atComplete && !now.isBefore(since.plus(window)), atComplete
                ? "complete since " + since + "; window " + window + " ends " + since.plus(window) + "; now " + now + clockNote
                : "applied stage is " + row.applied().label() + ", not complete"));
        out.add(verified(d, since));
        var depth = relay.depthOf(d.name());
        out.add(new Check("outbox_empty", depth.count() == 0, depth.count() + " keys waiting, " + depth.parked() + " parked"));
        List<Replicas.Replica> fleet = await(replicas.all(), READ_TIMEOUT, "read the replicas");
        List<String> stale = fleet.stream().filter(x -> x.state().equals("stale")).map(x -> x.id() + " (" + x.host() + ")").toList();
        out.add(new Check("replicas", stale.isEmpty(), stale.isEmpty() ? fleet.stream().filter(x -> x.state().equals("live")).count()
                + " live replicas, none stale" : "stale: " + String.join(", ", stale)));
        List<String> behind = fleet.stream().filter(x -> x.state().equals("live"))
                .filter(x -> !List.of("complete", "retired").contains(String.valueOf(x.stages().get(d.name()))))
                .map(x -> x.id() + " at " + x.stages().get(d.name())).toList();
        out.add(new Check("no_legacy_reads", atComplete && behind.isEmpty(), atComplete
                ? "applied stage " + row.applied().label() + " since " + since + ", which routes no read to legacy"
                        + (behind.isEmpty() ? "; every live replica routes by it" : "; replicas still routing otherwise: " + behind)
                : "applied stage is " + row.applied().label() + ", which reads or writes legacy"));
        out.add(noLegacyWrites(d, since));
        Check related = children(d, d.declared().retirement().renameSuffix() == null);
        if (related != null) out.add(related);
        if (all) {
            out.add(archived(d, r));
            out.add(approvals(r));
        }
        return out;
    }

    /**
     * The last verification is clean and started after the domain last entered {@code rampdown}.
     * From then until {@code complete} both stores received every write, and since {@code complete}
     * the legacy tables are unchanged ({@code no_legacy_writes}); so the legacy holds nothing the new
     * store did not have. A verification at {@code complete} itself can only be clean while no client
     * writes, since the legacy no longer receives writes there, so one at {@code rampdown} counts too.
     */
    private Check verified(Domain d, Instant complete) {
        Verification.Run run = await(verification.latest(d), READ_TIMEOUT, "read the last verification of " + d.name());
        Instant rampdown = await(control().preparedQuery("SELECT max(at) FROM turnout_audit WHERE domain = $1 AND action = 'applied' "
                + "AND to_stage = $2").execute(Tuple.of(d.name(), Stage.RAMPDOWN.label())).map(rows -> {
                    OffsetDateTime at = rows.iterator().next().getOffsetDateTime(0);
                    return at == null ? null : at.toInstant();
                }), READ_TIMEOUT, "read when " + d.name() + " entered rampdown");
        Instant after = rampdown == null || rampdown.isAfter(complete) ? complete : rampdown;
        String since = rampdown == null ? "complete (" + complete + ")" : "rampdown (" + after + ")";
        if (run == null) return new Check("verification", false, "no verification has run; run one at rampdown or complete");
        boolean recent = run.startedAt().toInstant().isAfter(after);
        boolean verified = run.clean() && recent;
        return new Check("verification", verified, "run " + run.id() + " " + run.state() + " started " + run.startedAt() + ": "
                + run.missing() + " missing, " + run.extra() + " extra, " + run.different() + " different"
                + (recent ? "; after the move to " + since : "; it started before the move to " + since + ": verify again"));
    }

    private Check noLegacyWrites(Domain d, Instant since) {
        Map<String, Fingerprint> then = fingerprints(d);
        if (then.isEmpty()) {
            return new Check("no_legacy_writes", false, "no fingerprint of the legacy tables was taken at complete (" + since
                    + "); a retirement request takes one");
        }
        List<String> evidence = new ArrayList<>();
        boolean same = true;
        for (var e : then.entrySet()) {
            Fingerprint now = fingerprintIfPresent(d, e.getKey());
            if (now == null) {
                evidence.add(e.getKey() + " removed");
                continue;
            }
            boolean equal = now.equals(e.getValue());
            same &= equal;
            evidence.add(e.getKey() + ": " + (equal ? "unchanged, " + now.rows() + " rows"
                    : "changed: " + e.getValue().rows() + " rows then, " + now.rows() + " now, checksums " + (e.getValue().checksum()
                            .equals(now.checksum()) ? "equal" : "differ")));
        }
        return new Check("no_legacy_writes", same, "fingerprints taken at complete compared with now: " + String.join("; ", evidence));
    }

    private Check archived(Domain d, Request r) {
        if (r == null || List.of("requested", "approved", "expired").contains(r.state()) || r.archives().isEmpty()) {
            return new Check("archive_verified", false, "not archived yet");
        }
        Map<String, Fingerprint> then = fingerprints(d);
        List<String> evidence = new ArrayList<>();
        boolean ok = true;
        for (var e : r.archives().entrySet()) {
            Fingerprint a = fingerprintIfPresent(d, e.getValue());
            if (a == null) {
                ok = false;
                evidence.add(e.getValue() + " is missing");
                continue;
            }
            Fingerprint t = then.get(e.getKey());
            boolean equal = a.equals(t);
            ok &= equal;
            evidence.add(e.getValue() + " " + a.rows() + " rows, checksum " + (equal ? "equal to " : "differs from ") + e.getKey()
                    + " at complete");
        }
        return new Check("archive_verified", ok, String.join("; ", evidence));
    }

    private static Check approvals(Request r) {
        if (r == null) return new Check("approvals", false, "no retirement requested");
        if (r.approvedBy() == null) return new Check("approvals", false, "requested by " + r.requestedBy() + "; not approved");
        return new Check("approvals", !r.approvedBy().equals(r.requestedBy()), "requested by " + r.requestedBy() + " at " + r.requestedAt()
                + ", approved by " + r.approvedBy() + " at " + r.approvedAt());
    }

    private Check renamedTablesLeft(Domain d) {
        Map<String, String> left = renamedLeft(d);
        return new Check("renamed_tables", !left.isEmpty(), left.isEmpty() ? "no renamed legacy table left" : "to drop: " + left.values());
    }

    /** Legacy table -> its renamed name, for those the last retirement renamed and that still exist. */
    /**
     * The domains whose legacy rows refer to this one's by key (seed 003's import tables) go first:
     * before a rename each is complete or retired, so none writes a legacy row that refers to the
     * renamed table; before a drop each is retired with its renamed tables dropped, since their
     * foreign keys would hold the drop. Null when no domain names this one as its parent.
     */
    private Check children(Domain d, boolean drops) {
        List<Domain> children = domains.all().stream().filter(c -> c.declared().parents().contains(d.name())).toList();
        if (children.isEmpty()) return null;
        List<String> evidence = new ArrayList<>();
        boolean ok = true;
        for (Domain c : children) {
            Stage at = await(control.row(c), READ_TIMEOUT, "read the stage of " + c.name()).applied();
            Map<String, String> left = at == Stage.RETIRED ? renamedLeft(c) : Map.of();
            boolean first = drops ? at == Stage.RETIRED && left.isEmpty() : at == Stage.COMPLETE || at == Stage.RETIRED;
            ok &= first;
            evidence.add(c.name() + " at " + at.label() + (left.isEmpty() ? "" : " with renamed tables " + left.values() + " left"));
        }
        return new Check("related_domains", ok, (drops ? "before a drop every child domain is retired with its renamed tables dropped"
                : "before a rename every child domain is complete or retired") + ": " + String.join(", ", evidence));
    }

    private Map<String, String> renamedLeft(Domain d) {
        Map<String, String> out = new LinkedHashMap<>();
        Request done = await(control().preparedQuery(SELECT + " WHERE domain = $1 AND kind = 'retire' AND state = 'done' ORDER BY id DESC LIMIT 1")
                .execute(Tuple.of(d.name())).map(rows -> rows.size() == 0 ? null : request(rows.iterator().next())), READ_TIMEOUT,
                "read the last retirement of " + d.name());
        if (done == null) return out;
        done.renamed().forEach((t, renamed) -> {
            if (exists(d, renamed)) out.put(t, renamed);
        });
        return out;
    }

    // ---- the steps ----

    private void schedule(long id, Duration after) {
        try {
            steps.schedule(() -> step(id), after.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debugf("retirement %d not scheduled: shutting down", id);
        }
    }

    /** Takes the request's next step; schedules the one after, or a retry of this one. */
    private void step(long id) {
        Request r;
        try {
            r = await(control().preparedQuery(SELECT + " WHERE id = $1").execute(Tuple.of(id)).map(rows -> request(rows.iterator().next())),
                    READ_TIMEOUT, "read retirement " + id);
        } catch (RuntimeException e) {
            LOG.warnf("Retirement %d: could not read it (%s); tried again in 5 s", id, e.getMessage());
            schedule(id, Duration.ofSeconds(5));
            return;
        }
        Domain d = domains.find(r.domain()).orElse(null);
        if (d == null || !List.of("approved", "archived", "removed").contains(r.state())) return;
        try {
            switch (r.state()) {
                case "approved" -> {
                    if (r.kind().equals(DROP_RENAMED)) {
                        dropRenamed(d, r);
                    } else {
                        archive(d, r);
                    }
                }
                case "archived" -> remove(d, r);
                case "removed" -> retire(d, r);
                default -> {
                    return;
                }
            }
            schedule(id, Duration.ZERO);
        } catch (Final e) {
            fail(d, r, e.getMessage());
        } catch (RuntimeException e) {
            int attempts = r.attempts() + 1;
            String why = e.getMessage();
            if (attempts >= config.retirement().maxAttempts()) {
                fail(d, r, "step after " + r.state() + " failed " + attempts + " times in a row, last: " + why);
                return;
            }
            await(control().preparedQuery("UPDATE turnout_retirement SET attempts = $2, failure = $3, updated_at = now() WHERE id = $1")
                    .execute(Tuple.of(id, attempts, why)), READ_TIMEOUT, "record a failed attempt");
            Duration backoff = Duration.ofSeconds(Math.min(30, 1L << Math.min(attempts, 5)));
            LOG.warnf("Domain %s: retirement %d step after %s failed (%s); attempt %d of %d in %d s", d.name(), id, r.state(), why,
                    attempts + 1, config.retirement().maxAttempts(), backoff.toSeconds());
            schedule(id, backoff);
        }
    }

    /** A failure that retrying cannot mend. */
    static final class Final extends RuntimeException {
        Final(String message) {
            super(message);
        }
    }

    private void fail(Domain d, Request r, String why) {
        LOG.errorf("Domain %s: retirement %d stopped as failed at %s: %s", d.name(), r.id(), r.state(), why);
        await(control().preparedQuery("UPDATE turnout_retirement SET state = 'failed', failure = $2, updated_at = now() WHERE id = $1")
                .execute(Tuple.of(r.id(), why)), READ_TIMEOUT, "record the failure");
        audit.record(d.name(), "retirement-failed", Audit.TURNOUT, null, null, why, Map.of("request", r.id(), "at", r.state()));
    }

    private void advance(Request r, String from, String to, String column, Map<String, String> value) {
        String set = column == null ? "" : ", " + column + " = $4";
        Tuple args = column == null ? Tuple.of(r.id(), from, to) : Tuple.of(r.id(), from, to, jsonb(value));
        await(control().preparedQuery("UPDATE turnout_retirement SET state = $3, attempts = 0, failure = NULL, updated_at = now()" + set
                + " WHERE id = $1 AND state = $2").execute(args), READ_TIMEOUT, "record retirement step " + to);
    }

    /** Copies each legacy table into its archive (once: an archive already there is kept) and verifies it equals the table at complete. */
    private void archive(Domain d, Request r) {
        Map<String, Fingerprint> then = fingerprints(d);
        Map<String, Object> evidence = new LinkedHashMap<>();
        for (var e : r.archives().entrySet()) {
            String table = e.getKey();
            String archive = e.getValue();
            if (!exists(d, archive)) {
                if (!exists(d, table)) throw new Final("legacy table " + table + " is gone and has no archive " + archive);
                await(legacy(d).work().withTransaction(tx -> timeouts(tx, COPY_TIMEOUT)
                        .compose(v -> tx.query(createArchiveSql(table, archive)).execute())
                        .compose(v -> tx.query(copySql(table, archive)).execute())), COPY_TIMEOUT.plusSeconds(5), "archive " + table);
                LOG.infof("Domain %s: archived %s into %s", d.name(), table, archive);
            }
            Fingerprint a = fingerprint(d, archive);
            Fingerprint t = then.get(table);
            if (!a.equals(t)) {
                throw new Final("archive " + archive + " (" + a.rows() + " rows) does not equal " + table + " at complete ("
                        + (t == null ? "no fingerprint" : t.rows() + " rows") + "); drop the archive by hand and request again");
            }
            evidence.put(table, Map.of("archive", archive, "rows", a.rows(), "checksum", a.checksum()));
        }
        advance(r, "approved", "archived", null, null);
        audit.record(d.name(), "retirement-archived", Audit.TURNOUT, null, null, "archives equal the legacy tables at complete", evidence);
    }

    /** Drops or renames each legacy table, in one transaction that first checks it still equals its archive. */
    private void remove(Domain d, Request r) {
        Map<String, String> renamed = new LinkedHashMap<>(r.renamed());
        Map<String, Object> evidence = new LinkedHashMap<>();
        List<String> left = r.archives().keySet().stream().filter(t -> exists(d, t)).toList();
        if (!left.isEmpty()) {
            Duration lock = config.retirement().lockTimeout();
            await(legacy(d).work().withTransaction(tx -> {
                Future<Void> chain = timeouts(tx, lock).compose(v -> timeoutStatements(tx, COPY_TIMEOUT));
                for (String t : left) chain = chain.compose(v -> tx.query(lockSql(t)).execute()).mapEmpty();
                for (String t : left) {
                    String archive = r.archives().get(t);
                    chain = chain.compose(v -> fingerprint(tx, t)).compose(ft -> fingerprint(tx, archive).compose(fa -> ft.equals(fa)
                            ? Future.succeededFuture()
                            : Future.failedFuture(new Final(t + " (" + ft.rows() + " rows) no longer equals its archive " + archive + " ("
                                    + fa.rows() + " rows): something wrote it after the archive was taken"))));
                }
                for (String t : left) chain = chain.compose(v -> tx.query(removeSql(d, t)).execute()).mapEmpty();
                return chain;
            }), lock.plus(COPY_TIMEOUT).plusSeconds(5), "remove the legacy tables " + left);
        }
        String suffix = d.declared().retirement().renameSuffix();
        for (String t : r.archives().keySet()) {
            if (suffix != null) renamed.put(t, renamedName(t, suffix));
            evidence.put(t, suffix != null ? "renamed to " + renamedName(t, suffix) : "dropped");
        }
        advance(r, "archived", "removed", "renamed", renamed);
        audit.record(d.name(), "retirement-removed", Audit.TURNOUT, null, null, suffix != null ? "legacy tables renamed" : "legacy tables dropped",
                evidence);
        LOG.infof("Domain %s: legacy tables %s", d.name(), evidence);
    }

    /** Records the applied stage retired, and the flag too where Turnout writes it. */
    private void retire(Domain d, Request r) {
        Map<String, Object> evidence = new LinkedHashMap<>();
        evidence.put("request", r.id());
        evidence.put("requestedBy", r.requestedBy());
        evidence.put("approvedBy", r.approvedBy());
        evidence.put("archives", r.archives());
        if (!control.retire(d, r.approvedBy(), evidence)) throw new IllegalStateException("another replica holds the stage lock");
        try {
            flags.write(d, Stage.RETIRED).toCompletableFuture().get(READ_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.warnf("Domain %s: retired, but its flag could not be set to retired (%s); set it by hand", d.name(), e.getMessage());
        }
        advance(r, "removed", "done", null, null);
        audit.record(d.name(), "retirement-done", Audit.TURNOUT, "complete", "retired", r.reason(), evidence);
        LOG.infof("Domain %s: retired (request %d)", d.name(), r.id());
    }

    private void dropRenamed(Domain d, Request r) {
        Map<String, String> left = renamedLeft(d);
        Duration lock = config.retirement().lockTimeout();
        if (!left.isEmpty()) {
            await(legacy(d).work().withTransaction(tx -> {
                Future<Void> chain = timeouts(tx, lock);
                for (String t : left.values()) chain = chain.compose(v -> tx.query(dropSql(t)).execute()).mapEmpty();
                return chain;
            }), lock.plusSeconds(5), "drop the renamed tables " + left.values());
        }
        advance(r, "approved", "done", null, null);
        audit.record(d.name(), "retirement-done", Audit.TURNOUT, null, null, r.reason(), Map.of("request", r.id(), "dropped", List.copyOf(left.values())));
    }

    // ---- fingerprints ----

    /**
     * Takes the legacy tables' fingerprints once the domain has settled at complete: every live
     * replica routes by it and the writes any of them began at rampdown have ended (they last at most
     * the request timeout). From then on no client write reaches the legacy tables.
     */
    void onChanged(@Observes StageChanged changed) {
        if (changed.to() != Stage.COMPLETE) return;
        domains.find(changed.domain()).filter(d -> d.origin(Side.LEGACY) instanceof Store)
                .ifPresent(d -> schedule(() -> fingerprintWhenSettled(d, Instant.now().plus(SETTLE))));
    }

    private void fingerprintWhenSettled(Domain d, Instant deadline) {
        try {
            if (await(control.row(d), READ_TIMEOUT, "read the stage of " + d.name()).applied() != Stage.COMPLETE) return;
            List<String> behind = await(replicas.all(), READ_TIMEOUT, "read the replicas").stream().filter(x -> x.state().equals("live"))
                    .filter(x -> !Stage.COMPLETE.label().equals(x.stages().get(d.name()))).map(Replicas.Replica::id).toList();
            if (!behind.isEmpty() && Instant.now().isBefore(deadline)) {
                steps.schedule(() -> fingerprintWhenSettled(d, deadline), 1, TimeUnit.SECONDS);
                return;
            }
            if (!behind.isEmpty()) {
                LOG.warnf("Domain %s: replicas %s still do not route by complete after %s; legacy tables fingerprinted now, and "
                        + "no_legacy_writes will show any write they make", d.name(), behind, SETTLE);
            }
            steps.schedule(() -> {
                try {
                    fingerprintIfMissing(d, legacyTables(d));
                } catch (RuntimeException e) {
                    notFingerprinted(d, e);
                }
            }, config.timeouts().request().toMillis(), TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            notFingerprinted(d, e);
        }
    }

    private static void notFingerprinted(Domain d, RuntimeException e) {
        LOG.warnf("Domain %s: legacy tables not fingerprinted at complete (%s); a retirement request takes it", d.name(), e.getMessage());
    }

    private void schedule(Runnable r) {
        try {
            steps.execute(r);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debug("not scheduled: shutting down");
        }
    }

    /** Records the fingerprint of each legacy table for the domain's current time at complete, unless one is recorded for it. */
    private void fingerprintIfMissing(Domain d, List<String> tables) {
        StageRow row = await(control.row(d), READ_TIMEOUT, "read the stage of " + d.name());
        if (row.applied() != Stage.COMPLETE) return;
        OffsetDateTime since = row.changedAt();
        for (String t : tables) {
            boolean have = await(control().preparedQuery("SELECT 1 FROM turnout_legacy_fingerprint WHERE domain = $1 AND table_name = $2 "
                    + "AND since = $3").execute(Tuple.of(d.name(), t, since)).map(rows -> rows.size() > 0), READ_TIMEOUT, "read a fingerprint");
            if (have || !exists(d, t)) continue;
            Fingerprint f = fingerprint(d, t);
            await(control().preparedQuery("INSERT INTO turnout_legacy_fingerprint (domain, table_name, since, row_count, checksum) "
                    + "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (domain, table_name) DO UPDATE SET since = EXCLUDED.since, "
                    + "row_count = EXCLUDED.row_count, checksum = EXCLUDED.checksum, taken_at = now() "
                    + "WHERE turnout_legacy_fingerprint.since < EXCLUDED.since")
                    .execute(Tuple.of(d.name(), t, since, f.rows(), f.checksum())), READ_TIMEOUT, "record a fingerprint");
            LOG.infof("Domain %s: %s fingerprinted at complete (%d rows)", d.name(), t, f.rows());
        }
    }

    private Map<String, Fingerprint> fingerprints(Domain d) {
        StageRow row = await(control.row(d), READ_TIMEOUT, "read the stage of " + d.name());
        OffsetDateTime since = row.applied() == Stage.RETIRED ? null : row.changedAt();
        return await(control().preparedQuery("SELECT table_name, row_count, checksum FROM turnout_legacy_fingerprint WHERE domain = $1"
                        + (since == null ? "" : " AND since = $2")).execute(since == null ? Tuple.of(d.name()) : Tuple.of(d.name(), since))
                .map(rows -> {
                    Map<String, Fingerprint> out = new LinkedHashMap<>();
                    rows.forEach(x -> out.put(x.getString(0), new Fingerprint(x.getLong(1), x.getString(2))));
                    return out;
                }), READ_TIMEOUT, "read the fingerprints of " + d.name());
    }

    /**
     * The fingerprint of a table, or null when it does not exist: before the checksum, or since,
     * as when the checklist is read while this retirement renames or drops it.
     */
    private Fingerprint fingerprintIfPresent(Domain d, String table) {
        if (!exists(d, table)) return null;
        try {
            return fingerprint(d, table);
        } catch (RuntimeException e) {
            if (!exists(d, table)) return null;
            throw e;
        }
    }

    private Fingerprint fingerprint(Domain d, String table) {
        return await(legacy(d).work().withTransaction(tx -> timeoutStatements(tx, COPY_TIMEOUT).compose(v -> fingerprint(tx, table))),
                COPY_TIMEOUT.plusSeconds(5), "checksum " + table);
    }

    /** Row count and the sum of every row's 64-bit hash: equal for two tables holding the same rows, whatever their order. */
    private static Future<Fingerprint> fingerprint(SqlClient client, String table) {
        return client.query("SELECT count(*), coalesce(sum(hashtextextended(x::text, 0)), 0)::text FROM "
                + TableStore.quoteQualified(table) + " AS x").execute().map(rows -> {
                    Row r = rows.iterator().next();
                    return new Fingerprint(r.getLong(0), r.getString(1));
                });
    }

    private boolean exists(Domain d, String table) {
        return await(legacy(d).work().preparedQuery("SELECT to_regclass($1) IS NOT NULL").execute(Tuple.of(table))
                .map(rows -> rows.iterator().next().getBoolean(0)), READ_TIMEOUT, "look up table " + table);
    }

    private static Future<Void> timeouts(SqlClient tx, Duration lock) {
        return tx.preparedQuery("SELECT set_config('lock_timeout', $1, true)").execute(Tuple.of(Long.toString(Math.max(1, lock.toMillis()))))
                .compose(v -> timeoutStatements(tx, COPY_TIMEOUT));
    }

    private static Future<Void> timeoutStatements(SqlClient tx, Duration limit) {
        return tx.preparedQuery("SELECT set_config('statement_timeout', $1, true)").execute(Tuple.of(Long.toString(limit.toMillis()))).mapEmpty();
    }

    // ---- names and statements ----

    private List<String> legacyTables(Domain d) {
        if (!(d.origin(Side.LEGACY) instanceof Store s)) {
            throw Problems.invalid("domain", "domain " + d.name() + " has no legacy tables to retire");
        }
        return s.tables();
    }

    private Database legacy(Domain d) {
        return d.store(Side.LEGACY).database();
    }

    private Duration window(Domain d) {
        Duration own = d.declared().retirement().safetyWindow();
        return own != null ? own : config.retirement().safetyWindow();
    }

    private static String archiveName(Domain d, String table, Instant now) {
        String configured = d.declared().retirement().archiveNames().get(table);
        return configured != null ? configured : table + "_archive_" + DAY.format(now);
    }

    private static String renamedName(String table, String suffix) {
        return table + suffix;
    }

    private static String createArchiveSql(String table, String archive) {
        return "CREATE TABLE " + TableStore.quoteQualified(archive) + " (LIKE " + TableStore.quoteQualified(table) + ")";
    }

    private static String copySql(String table, String archive) {
        return "INSERT INTO " + TableStore.quoteQualified(archive) + " SELECT * FROM " + TableStore.quoteQualified(table);
    }

    private static String lockSql(String table) {
        return "LOCK TABLE " + TableStore.quoteQualified(table) + " IN ACCESS EXCLUSIVE MODE";
    }

    private static String removeSql(Domain d, String table) {
        String suffix = d.declared().retirement().renameSuffix();
        if (suffix == null) return dropSql(table);
        String bare = table.contains(".") ? table.substring(table.indexOf('.') + 1) : table;
        return "ALTER TABLE " + TableStore.quoteQualified(table) + " RENAME TO " + TableStore.quote(bare + suffix);
    }

    private static String dropSql(String table) {
        return "DROP TABLE " + TableStore.quoteQualified(table);
    }

    private static OffsetDateTime at(Instant i) {
        return i.atOffset(ZoneOffset.UTC);
    }

    /** A map as a jsonb parameter (a Java string would be bound as a JSON string, not an object). */
    private static io.vertx.core.json.JsonObject jsonb(Map<String, String> map) {
        return new io.vertx.core.json.JsonObject(new LinkedHashMap<>(map));
    }

    private static ApiException conflict(String detail) {
        return Problems.problem(409, "conflict", "Conflict", detail, null);
    }

    void stop(@Observes ShutdownEvent event) {
        steps.shutdownNow();
        api.shutdownNow();
    }
}
