package io.turnout.routing;

import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * What shadow comparisons found, for the {@code shadow -> live} gate: comparisons and confirmed
 * mismatches counted per domain and stage until stage control adds them to the domain's stage row,
 * and the last {@value #KEPT} confirmed mismatches per domain (key and field names, never values)
 * in {@code turnout_shadow_mismatch}.
 */
@Singleton
public class ShadowStats {
    private static final Logger LOG = Logger.getLogger(ShadowStats.class);
    /** Confirmed mismatches kept per domain. */
    public static final int KEPT = 100;
    /** Statements that keep a domain's confirmed mismatches start this far apart at least. */
    static final Duration KEEP_SPACING = Duration.ofSeconds(1);

    /** Counts not yet added to the stage row. */
    public record Delta(Stage stage, long compared, long confirmed) {}

    private record Counts(AtomicLong compared, AtomicLong confirmed) {}

    private final AppliedStages stages;
    private final Databases databases;
    private final Vertx vertx;
    private final Map<String, Map<Stage, Counts>> pending = new ConcurrentHashMap<>();
    private final Map<String, Unkept> unkept = new ConcurrentHashMap<>();

    public ShadowStats(AppliedStages stages, Databases databases, Vertx vertx) {
        this.stages = stages;
        this.databases = databases;
        this.vertx = vertx;
    }

    Stage stageOf(Domain domain) {
        return stages.get(domain.name());
    }

    /** A comparison's result; match, mismatch and transient count as comparisons, mismatch as confirmed. */
    void count(Domain domain, Stage stage, String result) {
        if (!result.equals("match") && !result.equals("mismatch") && !result.equals("transient")) return;
        Counts c = pending.computeIfAbsent(domain.name(), d -> new ConcurrentHashMap<>())
                .computeIfAbsent(stage, s -> new Counts(new AtomicLong(), new AtomicLong()));
        c.compared().incrementAndGet();
        if (result.equals("mismatch")) c.confirmed().incrementAndGet();
    }

    /** Takes the counts gathered since the last call, per stage they were taken at. */
    public List<Delta> drain(String domain) {
        Map<Stage, Counts> byStage = pending.getOrDefault(domain, Map.of());
        return byStage.entrySet().stream()
                .map(e -> new Delta(e.getKey(), e.getValue().compared().getAndSet(0), e.getValue().confirmed().getAndSet(0)))
                .filter(d -> d.compared() > 0)
                .toList();
    }

    /**
     * Keeps a confirmed mismatch. They are written like a group commit, per domain one statement at
     * a time and at most one a second: the mismatches confirmed meanwhile go together in the next
     * statement, of which only the newest {@value #KEPT} can be kept anyway. A store that differs in
     * every record (a mapping gone wrong) then costs the control database a statement a second, not
     * a durable write per sampled read on the pool that backfills, relays and changes stages.
     */
    void confirmed(Domain domain, Stage stage, String key, List<String> fields) {
        Unkept u = unkept.computeIfAbsent(domain.name(), n -> new Unkept());
        synchronized (u) {
            u.waiting.addLast(new Mismatch(stage.label(), key, String.join(",", fields)));
            if (u.waiting.size() > KEPT) u.waiting.removeFirst();
            if (u.writing) return;
            u.writing = true;
        }
        keep(domain.name(), u);
    }

    /** Writes the domain's waiting mismatches once a second has passed since the last statement started. */
    private void keep(String domain, Unkept u) {
        long waitNanos;
        synchronized (u) {
            waitNanos = u.started + KEEP_SPACING.toNanos() - System.nanoTime();
        }
        if (waitNanos > 0) {
            vertx.setTimer(Math.max(1, waitNanos / 1_000_000), t -> write(domain, u));
        } else {
            write(domain, u);
        }
    }

    /** Writes the domain's waiting mismatches in one statement, then keeps those that came meanwhile, until none wait. */
    private void write(String domain, Unkept u) {
        List<Mismatch> batch;
        synchronized (u) {
            if (u.waiting.isEmpty()) {
                u.writing = false;
                return;
            }
            batch = new ArrayList<>(u.waiting);
            u.waiting.clear();
            u.started = System.nanoTime();
        }
        String[] stage = batch.stream().map(Mismatch::stage).toArray(String[]::new);
        String[] key = batch.stream().map(Mismatch::key).toArray(String[]::new);
        String[] fields = batch.stream().map(Mismatch::fields).toArray(String[]::new);
        // field names are lower-case letters, digits and _ (io.turnout.domain.Domains), so a comma separates them;
        // the rows go in in the order confirmed, and the oldest beyond the newest KEPT of the domain go
        databases.control().work()
                .preparedQuery("WITH added AS (INSERT INTO turnout_shadow_mismatch (domain, stage, record_key, fields) "
                        + "SELECT $1, s, k, string_to_array(f, ',') FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS m(s, k, f, n) "
                        + "ORDER BY n RETURNING id) DELETE FROM turnout_shadow_mismatch WHERE domain = $1 AND id <= "
                        + "(SELECT id FROM turnout_shadow_mismatch WHERE domain = $1 ORDER BY id DESC OFFSET $5 LIMIT 1)")
                .execute(Tuple.of(domain, stage, key, fields, KEPT - batch.size()))
                .onFailure(e -> LOG.warnf("Domain %s: %d confirmed shadow mismatches not kept (%s); they are counted all the same",
                        domain, batch.size(), e.getMessage()))
                .onComplete(ar -> keep(domain, u));
    }

    /** A confirmed mismatch waiting to be kept: the stage, the key and the field names, comma-separated. */
    private record Mismatch(String stage, String key, String fields) {}

    /**
     * A domain's confirmed mismatches not yet written (the newest {@value #KEPT} at most), whether a
     * write is under way or due, and when the last one started.
     */
    private static final class Unkept {
        final ArrayDeque<Mismatch> waiting = new ArrayDeque<>();
        boolean writing;
        long started = System.nanoTime() - KEEP_SPACING.toNanos();
    }
}
