package io.turnout.routing;

import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
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

    /** Counts not yet added to the stage row. */
    public record Delta(Stage stage, long compared, long confirmed) {}

    private record Counts(AtomicLong compared, AtomicLong confirmed) {}

    private final AppliedStages stages;
    private final Databases databases;
    private final Map<String, Map<Stage, Counts>> pending = new ConcurrentHashMap<>();

    public ShadowStats(AppliedStages stages, Databases databases) {
        this.stages = stages;
        this.databases = databases;
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

    void confirmed(Domain domain, Stage stage, String key, List<String> fields) {
        databases.control().work()
                .preparedQuery("WITH added AS (INSERT INTO turnout_shadow_mismatch (domain, stage, record_key, fields) "
                        + "VALUES ($1, $2, $3, $4) RETURNING id) DELETE FROM turnout_shadow_mismatch WHERE domain = $1 AND id <= "
                        + "(SELECT id FROM turnout_shadow_mismatch WHERE domain = $1 ORDER BY id DESC OFFSET $5 LIMIT 1)")
                .execute(Tuple.of(domain.name(), stage.label(), key, fields.toArray(new String[0]), KEPT - 1))
                .onFailure(e -> LOG.warnf("Domain %s: confirmed shadow mismatch of key %s not kept (%s); it is counted all the same",
                        domain.name(), key, e.getMessage()));
    }
}
