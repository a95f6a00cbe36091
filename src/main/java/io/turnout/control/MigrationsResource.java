package io.turnout.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.api.Problems;
import io.turnout.domain.Domain;
import io.turnout.fleet.Replicas;
import io.turnout.db.Databases;
import io.turnout.domain.Domains;
import io.turnout.flags.FlagWriter;
import io.turnout.flags.StageFlags;
import io.turnout.routing.ShadowStats;
import io.turnout.routing.Stage;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.Map;
import java.util.Optional;
import io.turnout.routing.DataRouter;
import io.turnout.store.Origin;
import io.turnout.store.Store;
import io.turnout.sync.Backfill;
import io.turnout.sync.Direction;
import io.turnout.sync.OutboxRelay;
import io.turnout.sync.Preflight;
import io.turnout.sync.Verification;
import io.vertx.core.Future;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/** The control API for release managers and SREs. See docs/release-managers.md. */
@Path("/admin/migrations")
public class MigrationsResource {
    private static final String STAGES = "legacy, dual_write, shadow, live, rampdown or complete";
    private final Domains domains;
    private final DataRouter router;
    private final OutboxRelay relay;
    private final Backfill backfill;
    private final Verification verification;
    private final Preflight preflight;
    private final io.turnout.sync.Pilot pilot;
    private final StageControl control;
    private final StageFlags flags;
    private final FlagWriter flagWriter;
    private final Audit audit;
    private final Replicas replicas;
    private final Databases databases;
    private final ObjectMapper json;
    private final io.quarkus.vertx.http.runtime.CurrentVertxRequest request;

    public MigrationsResource(Domains domains, DataRouter router, OutboxRelay relay, Backfill backfill,
            Verification verification, Preflight preflight, StageControl control, StageFlags flags, FlagWriter flagWriter,
            Audit audit, Databases databases, Replicas replicas, ObjectMapper json, io.turnout.sync.Pilot pilot,
            io.quarkus.vertx.http.runtime.CurrentVertxRequest request) {
        this.request = request;
        this.pilot = pilot;
        this.replicas = replicas;
        this.control = control;
        this.flags = flags;
        this.flagWriter = flagWriter;
        this.audit = audit;
        this.databases = databases;
        this.domains = domains;
        this.router = router;
        this.relay = relay;
        this.backfill = backfill;
        this.verification = verification;
        this.preflight = preflight;
        this.json = json;
    }

    /**
     * Who makes the request being handled, for the audit. Read it on the request's own thread, before
     * any asynchronous step: the request context is not active in later callbacks.
     */
    private String actor() {
        return io.turnout.auth.Gatekeeper.of(request.getCurrent()).name();
    }

    @GET
    public CompletionStage<Response> list() {
        List<Future<ObjectNode>> all = new ArrayList<>();
        for (Domain d : domains.all()) all.add(describe(d));
        return Future.all(all).map(v -> {
            ObjectNode body = json.createObjectNode();
            ArrayNode items = body.putArray("domains");
            all.forEach(f -> items.add(f.result()));
            return ok(body);
        }).otherwise(Problems::fromFailure).toCompletionStage();
    }

    @GET
    @Path("/{domain}")
    public CompletionStage<Response> get(@PathParam("domain") String name) {
        return with(name, d -> describe(d).map(this::ok));
    }

    /**
     * Sets the domain's desired stage ({@code {"target": "...", "reason": "..."}}) in its flag;
     * stage control then moves the applied stage toward it step by step as the gates pass. Answers
     * 202 with the migration as it stands, including the gates of the next step.
     */
    @POST
    @Path("/{domain}/stage")
    public CompletionStage<Response> requestStage(@PathParam("domain") String name, @HeaderParam("Content-Type") String type, byte[] body) {
        return with(name, d -> {
            JsonNode req = Problems.jsonObject(json, body, type);
            JsonNode t = req.get("target");
            if (t == null || !t.isTextual()) throw Problems.invalid("target", "'target' must name a stage: " + STAGES);
            Stage target = Stage.ofLabel(t.asText()).orElseThrow(() -> Problems.invalid("target", "'target' must name a stage: " + STAGES));
            if (target == Stage.RETIRED) {
                throw Problems.invalid("target", "'target' retired is reached through POST /admin/migrations/" + d.name()
                        + "/retirement and its approval, not by a stage request");
            }
            JsonNode r = req.get("reason");
            if (r == null || !r.isTextual() || r.asText().isBlank()) {
                throw Problems.invalid("reason", "'reason' must say why, for the audit (1 to 500 characters)");
            }
            if (r.asText().length() > 500) throw Problems.invalid("reason", "'reason' must be at most 500 characters");
            String reason = r.asText().strip();
            String actor = actor();
            Stage applied = router.stage(d);
            // the desired stage is what the flag says: it is recorded (action "desired") once the flag is read back
            return Future.fromCompletionStage(flagWriter.write(d, target))
                    .compose(v -> audit.write(d.name(), "stage-requested", actor, applied.label(),
                            target.label(), reason, Map.of("flagStore", flagWriter.describe())))
                    .compose(v -> describe(d))
                    .map(view -> Response.accepted(view.toString()).type(MediaType.APPLICATION_JSON).build());
        });
    }

    /**
     * The gates of the step from the applied stage toward {@code target}, evaluated now, so a step can
     * be judged before it is requested; nothing changes. {@code step} is null when the domain is at
     * {@code target} already.
     */
    @GET
    @Path("/{domain}/gates")
    public CompletionStage<Response> gates(@PathParam("domain") String name, @QueryParam("target") String target) {
        return with(name, d -> {
            Stage t = Stage.ofLabel(target).orElseThrow(() -> Problems.invalid("target", "'target' must name a stage: " + STAGES));
            return control.row(d).compose(row -> stepJson(d, row, t)).map(step -> {
                ObjectNode body = json.createObjectNode().put("domain", d.name()).put("applied", router.stage(d).label()).put("target", t.label());
                body.set("step", step);
                return ok(body);
            });
        });
    }

    /**
     * The last confirmed shadow mismatches (key and field names), the comparisons counted at the
     * applied stage, and the comparisons of each minute of the last hour, summed over the fleet.
     */
    @GET
    @Path("/{domain}/shadow")
    public CompletionStage<Response> shadow(@PathParam("domain") String name) {
        return with(name, d -> control.row(d).compose(row -> databases.control().work()
                .preparedQuery("SELECT minute, stage, compared, confirmed FROM turnout_shadow_history WHERE domain = $1 "
                        + "AND minute >= date_trunc('minute', now()) - interval '59 minutes' ORDER BY minute, stage")
                .execute(Tuple.of(d.name()))
                .compose(history -> databases.control().work()
                .preparedQuery("SELECT record_key, fields, stage, at FROM turnout_shadow_mismatch WHERE domain = $1 ORDER BY id DESC LIMIT $2")
                .execute(Tuple.of(d.name(), ShadowStats.KEPT))
                .map(rows -> {
                    ObjectNode body = json.createObjectNode();
                    body.set("comparisons", comparisonsJson(d, row));
                    ArrayNode h = body.putArray("history");
                    for (Row m : history) {
                        h.addObject().put("minute", m.getOffsetDateTime(0).toInstant().toString()).put("stage", m.getString(1))
                                .put("compared", m.getLong(2)).put("confirmed", m.getLong(3));
                    }
                    ArrayNode a = body.putArray("confirmedMismatches");
                    for (Row m : rows) {
                        ObjectNode o = a.addObject().put("key", m.getString(0));
                        ArrayNode f = o.putArray("fields");
                        for (String field : m.getArrayOfStrings(1)) f.add(field);
                        o.put("stage", m.getString(2)).put("at", m.getOffsetDateTime(3).toString());
                    }
                    return ok(body);
                }))));
    }

    @POST
    @Path("/{domain}/backfill")
    public CompletionStage<Response> startBackfill(@PathParam("domain") String name, @HeaderParam("Content-Type") String type, byte[] body) {
        return with(name, d -> {
            JsonNode req = Problems.jsonObject(json, body, type);
            Direction direction = direction(req.path("direction").asText("forward"));
            Integer rate = positive(req, "rowsPerSecond");
            Integer chunk = positive(req, "chunkSize");
            if (chunk != null && chunk > Backfill.MAX_CHUNK) {
                throw Problems.invalid("chunkSize", "'chunkSize' must be at most " + Backfill.MAX_CHUNK);
            }
            return backfill.start(d, direction, rate, chunk, actor())
                    .map(run -> Response.accepted(backfillJson(run).toString()).type(MediaType.APPLICATION_JSON).build());
        });
    }

    /** The newest backfill run of the domain, in the direction asked for or, without one, in either. */
    @GET
    @Path("/{domain}/backfill")
    public CompletionStage<Response> backfill(@PathParam("domain") String name, @QueryParam("direction") String dir) {
        return with(name, d -> backfill.latest(d, dir == null ? null : direction(dir)).map(run -> run == null
                ? Problems.notFound("No " + (dir == null ? "" : dir + " ") + "backfill of " + d.name() + " has run")
                : ok(backfillJson(run))));
    }

    /** Pauses the newest running run (of the direction asked for, if given). */
    @POST
    @Path("/{domain}/backfill/pause")
    public CompletionStage<Response> pause(@PathParam("domain") String name, @QueryParam("direction") String dir) {
        String actor = actor();
        return with(name, d -> backfill.pause(d, dir == null ? null : direction(dir))
                .compose(run -> audited(d, "backfill-paused", actor, Map.of("run", run.id())).map(v -> ok(backfillJson(run)))));
    }

    /** Resumes the newest paused or stopped run (of the direction asked for, if given). */
    @POST
    @Path("/{domain}/backfill/resume")
    public CompletionStage<Response> resume(@PathParam("domain") String name, @QueryParam("direction") String dir) {
        String actor = actor();
        return with(name, d -> backfill.resume(d, dir == null ? null : direction(dir))
                .compose(run -> audited(d, "backfill-resumed", actor, Map.of("run", run.id())).map(v -> ok(backfillJson(run)))));
    }

    @GET
    @Path("/{domain}/preflight")
    public CompletionStage<Response> preflightResults(@PathParam("domain") String name) {
        return with(name, d -> preflight.latest(d).map(r -> ok(preflightJson(r))));
    }

    @POST
    @Path("/{domain}/preflight")
    public CompletionStage<Response> runPreflight(@PathParam("domain") String name) {
        String actor = actor();
        return with(name, d -> preflight.run(d).compose(r -> audited(d, "preflight-run", actor, Map.of("checks", r.size()))
                .map(v -> ok(preflightJson(r)))));
    }

    /**
     * The records the new store held before the migration (pilot rows): how many only it held, and
     * each key both held with different values, with the fields that differed.
     */
    @GET
    @Path("/{domain}/pilot")
    public CompletionStage<Response> pilotRows(@PathParam("domain") String name) {
        return with(name, d -> {
            if (d.declared().pilot() == null) {
                throw Problems.problem(404, "no-pilot", "No pilot rows declared", "Domain " + d.name() + " declares no pilot rows", null);
            }
            return pilot.snapshot(d).map(snap -> {
                ObjectNode n = json.createObjectNode().put("domain", d.name()).put("takenAt", snap.takenAt().toString())
                        .put("stage", snap.stage()).put("extras", snap.extras().size()).put("collisions", snap.collisions().size())
                        .put("acceptExtra", d.declared().pilot().acceptExtra())
                        .put("collisionsWin", d.declared().pilot().legacyWins() ? "legacy" : "none (held)");
                ArrayNode c = n.putArray("collisionKeys");
                snap.collisions().entrySet().stream().limit(1000)
                        .forEach(e -> c.addObject().put("key", d.keyText(e.getKey())).set("fields", json.valueToTree(e.getValue())));
                ArrayNode x = n.putArray("extraKeys");
                snap.extras().stream().map(d::keyText).sorted().limit(1000).forEach(x::add);
                return ok(n);
            });
        });
    }

    @POST
    @Path("/{domain}/verification")
    public CompletionStage<Response> verify(@PathParam("domain") String name) {
        return with(name, d -> verification.start(d, actor())
                .map(run -> Response.accepted(verificationJson(run, null).toString()).type(MediaType.APPLICATION_JSON).build()));
    }

    @GET
    @Path("/{domain}/verification")
    public CompletionStage<Response> lastVerification(@PathParam("domain") String name) {
        return with(name, d -> verification.latest(d).compose(run -> run == null
                ? Future.succeededFuture(Problems.notFound("No verification of " + d.name() + " has run"))
                : verification.differences(run.id(), 1000).map(diffs -> ok(verificationJson(run, diffs)))));
    }

    @GET
    @Path("/{domain}/verification/{id}")
    public CompletionStage<Response> verificationRun(@PathParam("domain") String name, @PathParam("id") long id) {
        return with(name, d -> verification.get(id).compose(run -> run == null || !run.domain().equals(d.name())
                ? Future.succeededFuture(Problems.notFound("Domain " + d.name() + " has no verification run " + id))
                : verification.differences(id, 1000).map(diffs -> ok(verificationJson(run, diffs)))));
    }

    @POST
    @Path("/{domain}/verification/{id}/repair")
    public CompletionStage<Response> repair(@PathParam("domain") String name, @PathParam("id") long id) {
        String actor = actor();
        return with(name, d -> verification.get(id).compose(run -> run == null || !run.domain().equals(d.name())
                ? Future.succeededFuture(Problems.notFound("Domain " + d.name() + " has no verification run " + id))
                : verification.repair(d, id, actor).map(n -> ok(json.createObjectNode().put("run", id).put("repairedKeys", n)
                        .put("from", router.stage(d).authoritative().label())))));
    }

    /** Rows in each table store of the domain: a quick look at how far a copy has come. */
    @GET
    @Path("/{domain}/rows")
    public CompletionStage<Response> rows(@PathParam("domain") String name) {
        return with(name, d -> {
            ObjectNode body = json.createObjectNode();
            List<Future<Long>> counts = new ArrayList<>();
            List<String> sides = new ArrayList<>();
            for (var side : io.turnout.domain.Side.values()) {
                if (!d.writable(side)) continue;
                sides.add(side.label());
                counts.add(d.store(side).count(d.store(side).database().work()));
            }
            return Future.all(counts).map(v -> {
                for (int i = 0; i < sides.size(); i++) body.put(sides.get(i), counts.get(i).result());
                return ok(body);
            });
        });
    }

    @GET
    @Path("/{domain}/outbox")
    public CompletionStage<Response> outbox(@PathParam("domain") String name, @QueryParam("limit") @DefaultValue("100") int limit) {
        return with(name, d -> {
            if (limit < 1 || limit > 1000) throw Problems.invalid("limit", "'limit' must be a whole number from 1 to 1000");
            return relay.parked(d, limit).map(parked -> {
                ObjectNode body = outboxJson(d);
                ArrayNode a = body.putArray("parkedKeys");
                for (var p : parked) {
                    ObjectNode o = a.addObject().put("key", p.key()).put("database", p.database()).put("attempts", p.attempts())
                            .put("since", p.since().toString()).put("parkedAt", p.parkedAt().toString());
                    if (p.error() != null) o.put("error", p.error());
                }
                return ok(body);
            });
        });
    }

    /** Puts parked keys back in line: all of the domain's, or those in {@code {"keys": [...]}}. */
    @POST
    @Path("/{domain}/outbox/retry")
    public CompletionStage<Response> retryParked(@PathParam("domain") String name, @HeaderParam("Content-Type") String type, byte[] body) {
        return with(name, d -> {
            JsonNode req = Problems.jsonObject(json, body, type);
            List<String> keys = null;
            if (req.has("keys")) {
                if (!req.get("keys").isArray()) throw Problems.invalid("keys", "'keys' must be an array of record keys");
                keys = new ArrayList<>();
                for (JsonNode k : req.get("keys")) {
                    if (!k.isTextual() && !k.isIntegralNumber()) throw Problems.invalid("keys", "'keys' must be an array of record keys");
                    keys.add(k.asText());
                }
            }
            String actor = actor();
            return relay.retryParked(d, keys).compose(n -> audited(d, "outbox-retried", actor, Map.of("keys", n))
                    .map(v -> ok(json.createObjectNode().put("retried", n))));
        });
    }

    /** Records a control action and who took it; a failure to record it is logged, not answered. */
    private Future<Void> audited(Domain d, String action, String actor, Map<String, Object> detail) {
        return audit.record(d.name(), action, actor, null, null, null, detail);
    }

    private ObjectNode outboxJson(Domain d) {
        var depth = relay.depthOf(d.name());
        return json.createObjectNode().put("depth", depth.count()).put("parked", depth.parked())
                .put("oldestAgeSeconds", depth.oldestAgeSeconds());
    }

    private CompletionStage<Response> with(String name, Function<Domain, Future<Response>> work) {
        Domain d = domains.find(name).orElse(null);
        if (d == null) return Future.succeededFuture(Problems.notFound("There is no domain '" + name + "'")).toCompletionStage();
        try {
            return work.apply(d).otherwise(Problems::fromFailure).toCompletionStage();
        } catch (RuntimeException e) {
            return Future.succeededFuture(Problems.fromFailure(e)).toCompletionStage();
        }
    }

    private Future<ObjectNode> describe(Domain d) {
        Future<Backfill.Run> forward = backfill.latest(d, Direction.FORWARD);
        Future<Backfill.Run> reverse = backfill.latest(d, Direction.REVERSE);
        Future<Verification.Run> verified = verification.latest(d);
        Future<List<Preflight.Result>> checks = preflight.latest(d);
        Future<StageRow> row = control.row(d);
        Future<ObjectNode> step = row.compose(r -> stepJson(d, r));
        Future<List<Replicas.Replica>> fleet = replicas.all();
        Future<Map<String, Map<String, Long>>> tables = Backfill.tableCounts(d).otherwise(Map.of());
        return Future.all(List.of(forward, reverse, verified, checks, row, step, fleet, tables)).map(v -> {
            ObjectNode node = json.createObjectNode();
            node.put("domain", d.name());
            node.put("stage", router.stage(d).label());
            node.put("applied", router.stage(d).label());
            Optional<String> problem = flags.flagProblem(d.name());
            if (problem.isPresent() || row.result() == null || row.result().desired() == null) node.putNull("desired");
            else node.put("desired", row.result().desired().label());
            problem.ifPresent(p -> node.put("flagProblem", p));
            if (row.result() != null) node.put("appliedSince", row.result().changedAt().toString());
            node.set("nextStep", step.result());
            node.set("shadow", comparisonsJson(d, row.result()));
            ArrayNode routedBy = node.putArray("replicas");
            for (Replicas.Replica r : fleet.result()) {
                if (r.state().equals("stopped")) continue;
                routedBy.addObject().put("id", r.id()).put("host", r.host()).put("state", r.state()).put("self", r.id().equals(replicas.id()))
                        .put("stage", r.stages().get(d.name()));
            }
            node.put("flag", d.flag());
            node.put("legacy", describe(d.legacy()));
            node.put("new", describe(d.target()));
            node.set("outbox", outboxJson(d));
            for (var side : io.turnout.domain.Side.values()) {
                if (d.origin(side) instanceof io.turnout.search.SearchStore s) {
                    node.putObject("search").put("side", side.label()).put("origin", s.client().name())
                            .put("breaker", io.turnout.search.SearchOrigins.label(s.client().breakerState()));
                }
            }
            ObjectNode b = node.putObject("backfill");
            b.set("forward", forward.result() == null ? null : backfillJson(forward.result()));
            b.set("reverse", reverse.result() == null ? null : backfillJson(reverse.result()));
            node.set("lastVerification", verified.result() == null ? null : verificationJson(verified.result(), null));
            node.set("preflight", preflightJson(checks.result()));
            // rows in each table of both stores, as seed 003 tabulates them
            node.set("tables", json.valueToTree(tables.result()));
            if (!d.declared().parents().isEmpty()) node.set("parents", json.valueToTree(d.declared().parents()));
            return node;
        });
    }

    /** The next step toward the desired stage with each gate and its evidence, or null at the desired stage. */
    private Future<ObjectNode> stepJson(Domain d, StageRow row) {
        if (row == null || flags.flagProblem(d.name()).isPresent() || row.desired() == null) return Future.succeededFuture(null);
        return stepJson(d, row, row.desired());
    }

    /** The step from the applied stage toward {@code target} with each gate and its evidence, or null when there is none. */
    private Future<ObjectNode> stepJson(Domain d, StageRow row, Stage target) {
        return control.nextGates(d, row, target).map(gates -> {
            if (gates.isEmpty()) return null;
            Step step = Step.toward(row.applied(), target);
            ObjectNode n = json.createObjectNode().put("from", step.from().label()).put("to", step.to().label())
                    .put("direction", step.forward() ? "forward" : "backward").put("fenced", step.movesAuthority());
            ArrayNode a = n.putArray("gates");
            boolean pass = true;
            for (Gate g : gates.get()) {
                pass &= g.pass();
                a.addObject().put("name", g.name()).put("pass", g.pass()).put("why", g.why()).set("evidence", json.valueToTree(g.evidence()));
            }
            n.put("ready", pass);
            control.held(d.name()).filter(h -> h.step().equals(step)).ifPresent(h -> {
                n.put("heldSince", h.since().toString());
                ArrayNode f = n.putArray("heldBy");
                h.failing().forEach(g -> f.add(g.name()));
            });
            return n;
        });
    }

    private ObjectNode comparisonsJson(Domain d, StageRow row) {
        ObjectNode n = json.createObjectNode();
        if (row == null) return n;
        long compared = row.shadowCompared();
        n.put("stage", row.applied() == null ? null : row.applied().label()).put("compared", compared).put("confirmedMismatches", row.shadowConfirmed())
                .put("mismatchRate", compared == 0 ? 0.0 : (double) row.shadowConfirmed() / compared);
        return n;
    }

    private static String describe(Origin origin) {
        if (origin instanceof Store s) return "database " + s.database().name();
        return origin.describe();
    }

    private ObjectNode backfillJson(Backfill.Run run) {
        ObjectNode n = json.createObjectNode();
        n.put("run", run.id()).put("direction", run.direction().label()).put("state", run.state());
        if (run.reason() != null) n.put("reason", run.reason());
        n.put("rowsCopied", run.rowsCopied()).put("estimatedRows", run.estimatedRows())
                .put("percent", run.estimatedRows() == 0 ? (run.state().equals("done") ? 100 : 0)
                        : Math.min(100, run.rowsCopied() * 100 / run.estimatedRows()))
                .put("rowsPerSecond", Math.round(run.rate())).put("chunkSize", run.chunkSize());
        if (run.rowsPerSecond() != null) n.put("rowsPerSecondLimit", run.rowsPerSecond());
        if (run.eta() != null) n.put("etaSeconds", run.eta().toSeconds());
        n.put("startedAt", run.startedAt().toString());
        if (run.finishedAt() != null) n.put("finishedAt", run.finishedAt().toString());
        return n;
    }

    private ObjectNode verificationJson(Verification.Run run, List<Verification.Difference> diffs) {
        ObjectNode n = json.createObjectNode();
        n.put("run", run.id()).put("state", run.state());
        // unknown until the run has compared every range
        if (run.state().equals("done")) n.put("clean", run.clean());
        else n.putNull("clean");
        if (run.reason() != null) n.put("reason", run.reason());
        n.put("ranges", run.ranges()).put("legacyRows", run.rowsLegacy()).put("newRows", run.rowsNew())
                .put("missing", run.missing()).put("extra", run.extra()).put("acceptedExtra", run.acceptedExtra()).put("different", run.different())
                .put("transient", run.transientDifferences()).put("startedAt", run.startedAt().toString());
        if (run.finishedAt() != null) n.put("finishedAt", run.finishedAt().toString());
        if (diffs != null) {
            ArrayNode a = n.putArray("differences");
            for (Verification.Difference d : diffs) {
                ObjectNode o = a.addObject().put("key", d.key()).put("kind", d.kind()).put("repaired", d.repaired());
                ArrayNode f = o.putArray("fields");
                d.fields().forEach(f::add);
            }
        }
        return n;
    }

    private ArrayNode preflightJson(List<Preflight.Result> results) {
        ArrayNode a = json.createArrayNode();
        for (Preflight.Result r : results) {
            ObjectNode o = a.addObject().put("name", r.name()).put("level", r.blocking() ? "block" : "warn");
            if (r.problemRows() != null) o.put("problemRows", r.problemRows());
            if (r.error() != null) o.put("error", r.error());
            o.put("holdsBackfill", r.holds());
        }
        return a;
    }

    private static Direction direction(String label) {
        return Direction.ofLabel(label).orElseThrow(() -> Problems.invalid("direction", "'direction' must be forward or reverse"));
    }

    private static Integer positive(JsonNode req, String field) {
        JsonNode v = req.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 1) {
            throw Problems.invalid(field, "'" + field + "' must be a positive whole number");
        }
        return v.intValue();
    }

    private Response ok(Object body) {
        return Response.ok(body.toString(), MediaType.APPLICATION_JSON).build();
    }
}
