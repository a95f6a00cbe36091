package io.turnout.control;

import io.turnout.TurnoutConfig;
import io.turnout.TurnoutConfig.GatesConfig;
import io.turnout.domain.Domain;
import io.turnout.fleet.Replicas;
import io.turnout.routing.Stage;
import io.turnout.sync.Backfill;
import io.turnout.sync.Direction;
import io.turnout.sync.Outbox;
import io.turnout.sync.OutboxRelay;
import io.turnout.sync.Preflight;
import io.turnout.sync.Verification;
import io.vertx.core.Future;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The conditions a step must meet before stage control takes it (docs/release-managers.md, "Gates").
 * Forward: {@code legacy -> dual_write} pre-flight checks; {@code dual_write -> shadow} a forward
 * backfill started since the new store receives every write, nothing stuck in the outbox;
 * {@code shadow -> live} a clean verification started after that backfill, enough shadow
 * comparisons with few confirmed mismatches, nothing stuck in the outbox; {@code live -> rampdown}
 * and {@code rampdown -> complete} nothing stuck in the outbox and the minimum dwell. Backward steps
 * need none, except {@code rampdown -> live}: a reverse backfill started since {@code rampdown} was
 * applied and a clean verification after it, because the legacy store missed the writes made at
 * {@code complete}; and a step that moves authority back needs no parked keys.
 */
@Singleton
public class Gates {
    /** An outbox key younger than this is a second write on its normal way, not a stuck one. */
    static final Duration STUCK_AFTER = Duration.ofSeconds(5);

    private final TurnoutConfig config;
    private final Preflight preflight;
    private final Backfill backfill;
    private final Verification verification;
    private final OutboxRelay relay;
    private final Replicas replicas;
    private final Map<String, Long> preflightRunAt = new ConcurrentHashMap<>();

    private final io.turnout.domain.Domains domains;
    private final io.turnout.routing.AppliedStages stages;

    public Gates(TurnoutConfig config, Preflight preflight, Backfill backfill, Verification verification, OutboxRelay relay,
            Replicas replicas, io.turnout.domain.Domains domains, io.turnout.routing.AppliedStages stages) {
        this.domains = domains;
        this.stages = stages;
        this.replicas = replicas;
        this.config = config;
        this.preflight = preflight;
        this.backfill = backfill;
        this.verification = verification;
        this.relay = relay;
    }

    /** Every gate of the step, passing or not, with its evidence. */
    public Future<List<Gate>> evaluate(Domain d, StageRow row, Step step) {
        GatesConfig limits = limits(d);
        List<Future<Gate>> gates = new ArrayList<>();
        switch (step.to()) {
            case DUAL_WRITE -> {
                if (step.forward()) gates.add(preflight(d));
            }
            case SHADOW -> {
                if (step.forward()) {
                    gates.add(forwardBackfill(d, row).map(Evidence::gate));
                    gates.add(Future.succeededFuture(outbox(d)));
                }
            }
            case LIVE -> {
                if (step.forward()) {
                    gates.add(forwardBackfill(d, row).compose(b -> verificationAfter(d, b, "forward backfill")));
                    gates.add(Future.succeededFuture(comparisons(row, limits)));
                    gates.add(Future.succeededFuture(mismatchRate(row, limits)));
                    gates.add(Future.succeededFuture(outbox(d)));
                } else {
                    Future<Evidence> reverse = reverseBackfill(d, row);
                    gates.add(reverse.map(Evidence::gate));
                    gates.add(reverse.compose(b -> verificationAfter(d, b, "reverse backfill")));
                }
            }
            case RAMPDOWN, COMPLETE -> {
                if (step.forward()) {
                    gates.add(Future.succeededFuture(outbox(d)));
                    gates.add(Future.succeededFuture(dwell(row, limits)));
                }
            }
            case RETIRED -> gates.add(Future.succeededFuture(Gate.fail("retirement",
                    "retired is reached only by an approved retirement, which archives and removes the legacy tables first "
                            + "(POST /admin/migrations/" + d.name() + "/retirement, then .../retirement/approve by another principal)", Map.of())));
            default -> {
                // legacy: a backward step with nothing to wait for
            }
        }
        if (step.from() == Stage.RETIRED) {
            gates.add(Future.succeededFuture(Gate.fail("retired", "the legacy tables were archived and removed at retirement: there is "
                    + "no legacy store to go back to; restore it from the archive by hand first (docs/release-managers.md, "
                    + "\"Restoring from the archive\")", Map.of())));
        }
        if (!step.forward() && step.movesAuthority()) gates.add(Future.succeededFuture(noParked(d)));
        Gate related = parents(d, step);
        if (related != null) gates.add(Future.succeededFuture(related));
        if (step.forward() && step.to() != Stage.RETIRED) gates.add(fleet(d, step));
        return Future.all(gates).map(v -> gates.stream().map(Future::result).toList());
    }

    /**
     * Every live replica routes by the step's starting stage, so replicas are never more than one
     * step apart. Stale replicas (no heartbeat within {@code turnout.fleet.stale-after}) are not waited for.
     */
    private Future<Gate> fleet(Domain d, Step step) {
        return replicas.all().map(all -> {
            Map<String, Object> evidence = new LinkedHashMap<>();
            List<String> behind = new ArrayList<>();
            int live = 0;
            for (Replicas.Replica r : all) {
                if (!r.state().equals("live")) continue;
                live++;
                String at = r.stages().get(d.name());
                evidence.put(r.id(), at == null ? "unknown" : at);
                if (!step.from().label().equals(at)) behind.add(r.id() + " (" + r.host() + ") at " + (at == null ? "no stage yet" : at));
            }
            if (!behind.isEmpty()) {
                return Gate.fail("replicas", "not every live replica routes by " + step.from().label() + " yet: " + String.join(", ", behind),
                        evidence);
            }
            return Gate.pass("replicas", "all " + live + " live replicas route by " + step.from().label(), evidence);
        });
    }

    /**
     * The order foreign keys between domains need (seed 003: field mappings refer to data imports),
     * or null for a domain with no parents and no children. A child writes its new store only once
     * each parent's new store holds all the parent's records (the parent at {@code shadow} or later,
     * past its backfill), and writes its legacy store again only while each parent does; a parent
     * stops writing its legacy store ({@code complete}) only after every child has, and stops writing
     * its new store ({@code legacy}) only after every child has.
     */
    private Gate parents(Domain d, Step step) {
        List<String> children = domains.all().stream().filter(c -> c.declared().parents().contains(d.name())).map(Domain::name).toList();
        if (d.declared().parents().isEmpty() && children.isEmpty()) return null;
        Map<String, Object> evidence = new LinkedHashMap<>();
        List<String> held = new ArrayList<>();
        for (String p : d.declared().parents()) {
            Stage at = stages.get(p);
            evidence.put(p, at.label());
            if (step.forward() && step.to().ordinal() >= Stage.DUAL_WRITE.ordinal() && at.ordinal() < Stage.SHADOW.ordinal()) {
                held.add("parent " + p + " is at " + at.label() + ": its new store holds all its records only from shadow on, and "
                        + d.name() + "'s new rows refer to them");
            }
            if (!step.forward() && step.from() == Stage.COMPLETE && at == Stage.COMPLETE) {
                held.add("parent " + p + " is at complete and no longer writes its legacy store, which " + d.name()
                        + "'s legacy rows refer to; move " + p + " back to rampdown first");
            }
        }
        for (String c : children) {
            Stage at = stages.get(c);
            evidence.put(c, at.label());
            if (step.forward() && step.to() == Stage.COMPLETE && at != Stage.COMPLETE) {
                held.add("child " + c + " is at " + at.label() + " and still writes its legacy store, whose rows refer to "
                        + d.name() + "'s; move " + c + " to complete first");
            }
            if (!step.forward() && step.to() == Stage.LEGACY && at != Stage.LEGACY) {
                held.add("child " + c + " is at " + at.label() + " and writes its new store, whose rows refer to " + d.name()
                        + "'s; move " + c + " back to legacy first");
            }
        }
        return held.isEmpty()
                ? Gate.pass("related_domains", "the domains whose records refer to each other by key are in an order their keys allow", evidence)
                : Gate.fail("related_domains", String.join("; ", held), evidence);
    }

    GatesConfig limits(Domain d) {
        return config.domains().get(d.name()).gates();
    }

    /** Runs the pre-flight checks again at most every {@code turnout.stages.preflight-interval} while they hold the step. */
    private Future<Gate> preflight(Domain d) {
        long now = System.nanoTime();
        Long last = preflightRunAt.get(d.name());
        boolean again = last == null || now - last > config.stages().preflightInterval().toNanos();
        Future<List<Preflight.Result>> results = again ? preflight.run(d) : preflight.latest(d);
        if (again) preflightRunAt.put(d.name(), now);
        return results.map(list -> {
            List<String> holding = list.stream().filter(Preflight.Result::holds).map(Preflight.Result::describe).toList();
            Map<String, Object> evidence = new LinkedHashMap<>();
            list.forEach(r -> evidence.put(r.name(), r.error() != null ? "error: " + r.error() : r.problemRows()));
            if (!holding.isEmpty()) {
                preflightRunAt.remove(d.name());
                return Gate.fail("preflight", String.join("; ", holding), evidence);
            }
            return Gate.pass("preflight", list.isEmpty() ? "the domain declares no pre-flight checks" : "every blocking pre-flight check passes", evidence);
        });
    }

    /** A backfill run judged for a gate, and the gate itself. */
    private record Evidence(Backfill.Run run, Gate gate) {}

    private Future<Evidence> forwardBackfill(Domain d, StageRow row) {
        if (!d.copyable()) {
            return Future.succeededFuture(new Evidence(null, Gate.pass("backfill",
                    "the new origin is a read-only search service: there is nothing to copy", Map.of())));
        }
        return backfill.latest(d, Direction.FORWARD).map(run -> backfillGate("backfill", "forward", run, row.mirrored(),
                "the new store has received every write"));
    }

    private Future<Evidence> reverseBackfill(Domain d, StageRow row) {
        if (!d.copyable()) {
            return Future.succeededFuture(new Evidence(null, Gate.pass("reverse_backfill",
                    "the new origin is a read-only search service: the legacy store kept every write", Map.of())));
        }
        return backfill.latest(d, Direction.REVERSE).map(run -> backfillGate("reverse_backfill", "reverse", run, row.changedAt(),
                "rampdown was applied"));
    }

    private static Evidence backfillGate(String name, String direction, Backfill.Run run, OffsetDateTime since, String sinceWhat) {
        Map<String, Object> evidence = new LinkedHashMap<>();
        evidence.put("needsStartAfter", since.toString());
        if (run == null) return new Evidence(null, Gate.fail(name, "no " + direction + " backfill has run; start one", evidence));
        evidence.put("run", run.id());
        evidence.put("state", run.state());
        evidence.put("rowsCopied", run.rowsCopied());
        evidence.put("startedAt", run.startedAt().toString());
        if (run.finishedAt() != null) evidence.put("finishedAt", run.finishedAt().toString());
        if (run.startedAt().isBefore(since)) {
            return new Evidence(null, Gate.fail(name, direction + " backfill run " + run.id() + " started before " + sinceWhat
                    + " (" + since + "); start a new one", evidence));
        }
        if (!run.state().equals("done")) {
            return new Evidence(null, Gate.fail(name, direction + " backfill run " + run.id() + " is " + run.state()
                    + (run.reason() == null ? "" : " (" + run.reason() + ")"), evidence));
        }
        return new Evidence(run, Gate.pass(name, direction + " backfill run " + run.id() + " copied " + run.rowsCopied()
                + " rows and finished at " + run.finishedAt(), evidence));
    }

    /** A clean verification that started after the backfill finished. */
    private Future<Gate> verificationAfter(Domain d, Evidence backfilled, String what) {
        if (!d.copyable()) {
            return Future.succeededFuture(Gate.pass("verification", "the new origin is a read-only search service: "
                    + "shadow comparisons stand in for a verification", Map.of()));
        }
        if (backfilled.run() == null) {
            return Future.succeededFuture(Gate.fail("verification", "needs a finished " + what + " first", Map.of()));
        }
        OffsetDateTime after = backfilled.run().finishedAt();
        return verification.latestFinished(d).map(run -> {
            Map<String, Object> evidence = new LinkedHashMap<>();
            evidence.put("needsStartAfter", after.toString());
            if (run == null) return Gate.fail("verification", "no verification has finished; run one", evidence);
            evidence.put("run", run.id());
            evidence.put("state", run.state());
            evidence.put("startedAt", run.startedAt().toString());
            evidence.put("missing", run.missing());
            evidence.put("extra", run.extra());
            evidence.put("different", run.different());
            if (run.startedAt().isBefore(after)) {
                return Gate.fail("verification", "verification run " + run.id() + " started before the " + what + " finished; run a new one",
                        evidence);
            }
            if (!run.clean()) {
                return Gate.fail("verification", "verification run " + run.id() + (run.state().equals("done")
                        ? " found " + run.missing() + " missing, " + run.extra() + " extra and " + run.different()
                                + " different records; repair them and verify again"
                        : " " + run.state() + (run.reason() == null ? "" : ": " + run.reason())), evidence);
            }
            return Gate.pass("verification", "verification run " + run.id() + " found both stores equal", evidence);
        });
    }

    private static Gate comparisons(StageRow row, GatesConfig limits) {
        Map<String, Object> evidence = Map.of("compared", row.shadowCompared(), "needed", limits.minShadowComparisons());
        return row.shadowCompared() >= limits.minShadowComparisons()
                ? Gate.pass("shadow_comparisons", row.shadowCompared() + " sampled reads compared at shadow", evidence)
                : Gate.fail("shadow_comparisons", "only " + row.shadowCompared() + " of " + limits.minShadowComparisons()
                        + " sampled reads compared at shadow so far; read traffic brings more", evidence);
    }

    private static Gate mismatchRate(StageRow row, GatesConfig limits) {
        double rate = row.shadowCompared() == 0 ? 0 : (double) row.shadowConfirmed() / row.shadowCompared();
        Map<String, Object> evidence = Map.of("confirmed", row.shadowConfirmed(), "compared", row.shadowCompared(), "rate", rate,
                "limit", limits.maxMismatchRate());
        return rate <= limits.maxMismatchRate()
                ? Gate.pass("shadow_mismatch_rate", "confirmed mismatch rate " + rate + " is within " + limits.maxMismatchRate(), evidence)
                : Gate.fail("shadow_mismatch_rate", row.shadowConfirmed() + " confirmed mismatches in " + row.shadowCompared()
                        + " comparisons (rate " + rate + ", limit " + limits.maxMismatchRate()
                        + "); see GET /admin/migrations/{domain}/shadow, fix, verify and repair", evidence);
    }

    /** No parked key and none waiting longer than a second write normally takes. */
    private Gate outbox(Domain d) {
        Outbox.Depth depth = relay.depthOf(d.name());
        Map<String, Object> evidence = Map.of("depth", depth.count(), "parked", depth.parked(), "oldestAgeSeconds", depth.oldestAgeSeconds());
        if (depth.parked() > 0) {
            return Gate.fail("outbox", depth.parked() + " parked keys; see GET /admin/migrations/" + d.name() + "/outbox", evidence);
        }
        if (depth.count() > 0 && depth.oldestAgeSeconds() >= STUCK_AFTER.toSeconds()) {
            return Gate.fail("outbox", depth.count() + " keys wait for their second write, the oldest for "
                    + Math.round(depth.oldestAgeSeconds()) + " s", evidence);
        }
        return Gate.pass("outbox", "no key is stuck in the outbox", evidence);
    }

    private Gate noParked(Domain d) {
        Outbox.Depth depth = relay.depthOf(d.name());
        Map<String, Object> evidence = Map.of("parked", depth.parked());
        return depth.parked() > 0
                ? Gate.fail("outbox", depth.parked() + " parked keys would be lost by moving authority back; see GET /admin/migrations/"
                        + d.name() + "/outbox", evidence)
                : Gate.pass("outbox", "no parked keys", evidence);
    }

    private static Gate dwell(StageRow row, GatesConfig limits) {
        Duration spent = Duration.between(row.changedAt(), OffsetDateTime.now());
        Map<String, Object> evidence = Map.of("since", row.changedAt().toString(), "minDwellSeconds", limits.minDwell().toSeconds());
        return spent.compareTo(limits.minDwell()) >= 0
                ? Gate.pass("dwell", "at " + row.applied().label() + " for " + spent.toSeconds() + " s", evidence)
                : Gate.fail("dwell", "at " + row.applied().label() + " for " + spent.toSeconds() + " s of the "
                        + limits.minDwell().toSeconds() + " s minimum", evidence);
    }
}
