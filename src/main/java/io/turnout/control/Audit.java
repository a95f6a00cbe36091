package io.turnout.control;

import io.quarkus.panache.common.Parameters;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Future;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The append-only record of what happened to each domain's migration and who did it: desired
 * stage changes, applied and held steps, fences, backfill, verification and repair runs. Kept in
 * {@code turnout_audit} in the control database ({@link AuditRecord}); never updated, never
 * deleted by Turnout.
 */
@Singleton
public class Audit {
    private static final Logger LOG = Logger.getLogger(Audit.class);
    /** Longest an audit write or page may take. */
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** Who acts when a change comes from the flag rather than from a request. */
    public static final String FLAG = "flag";
    /** Who acts when Turnout itself moves or holds a step, or finishes a run. */
    public static final String TURNOUT = "turnout";
    /** The domain of an entry about the whole fleet rather than one domain (a replica forgotten). */
    public static final String ALL_DOMAINS = "*";

    /** One audit entry. {@code detail} holds evidence: gates, durations, run ids, counts. */
    public record Entry(long id, OffsetDateTime at, String domain, String action, String actor, String from, String to, String reason,
            Map<String, Object> detail) {}

    private final ControlRecords records;

    public Audit(ControlRecords records) {
        this.records = records;
    }

    /** Appends an entry in the current transaction, so it commits with the change it records. */
    Uni<Void> append(String domain, String action, String actor, String from, String to, String reason, Map<String, Object> detail) {
        AuditRecord r = new AuditRecord();
        r.domain = domain;
        r.action = action;
        r.actor = actor;
        r.fromStage = from;
        r.toStage = to;
        r.reason = reason;
        r.detail = detail;
        return r.persist().replaceWithVoid();
    }

    /** Appends an entry in a transaction of its own; fails when it could not be written. */
    public Future<Void> write(String domain, String action, String actor, String from, String to, String reason, Map<String, Object> detail) {
        return records.transaction(TIMEOUT, "write audit entry '" + action + "'",
                () -> append(domain, action, actor, from, to, reason, detail));
    }

    /** Appends an entry on its own; a failure is logged, never thrown at the work it describes. */
    public Future<Void> record(String domain, String action, String actor, String from, String to, String reason, Map<String, Object> detail) {
        return write(domain, action, actor, from, to, reason, detail)
                .onFailure(e -> LOG.errorf("Domain %s: audit entry '%s' not written: %s", domain, action, e.getMessage()))
                .otherwiseEmpty();
    }

    /** Entries after {@code afterId}, oldest first, optionally of one domain and not older than {@code since}. */
    public Future<List<Entry>> page(String domain, OffsetDateTime since, long afterId, int limit) {
        return page(domain, since, afterId, limit, false);
    }

    /**
     * A page of entries; {@code newest}: newest first, {@code afterId} then the lowest id of the
     * previous page (0 for the first page).
     */
    public Future<List<Entry>> page(String domain, OffsetDateTime since, long afterId, int limit, boolean newest) {
        StringBuilder where = new StringBuilder(newest && afterId > 0 ? "id < :after" : "id > :after");
        Parameters params = Parameters.with("after", afterId);
        if (domain != null) {
            where.append(" and domain = :domain");
            params.and("domain", domain);
        }
        if (since != null) {
            where.append(" and at >= :since");
            params.and("since", since);
        }
        return records.transaction(TIMEOUT, "read the audit", () -> AuditRecord.<AuditRecord>find(where.toString(),
                newest ? Sort.by("id", Sort.Direction.Descending) : Sort.by("id"), params)
                .range(0, limit - 1).list()
                .map(list -> list.stream().map(r -> new Entry(r.id, r.at, r.domain, r.action, r.actor, r.fromStage, r.toStage, r.reason,
                        r.detail)).toList()));
    }
}
