package io.turnout.control;

import io.turnout.db.Databases;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The append-only record of what happened to each domain's migration and who did it: desired
 * stage changes, applied and held steps, fences, backfill, verification and repair runs. Kept in
 * {@code turnout_audit} in the control database; never updated, never deleted by Turnout.
 */
@Singleton
public class Audit {
    private static final Logger LOG = Logger.getLogger(Audit.class);

    /** Who acts when a change comes from the flag rather than from a request. */
    public static final String FLAG = "flag";
    /** Who acts when Turnout itself moves or holds a step, or finishes a run. */
    public static final String TURNOUT = "turnout";
    /** Who acts through the control API while it has no authentication. */
    public static final String ANONYMOUS = "anonymous";

    /** One audit entry. {@code detail} holds evidence: gates, durations, run ids, counts. */
    public record Entry(long id, OffsetDateTime at, String domain, String action, String actor, String from, String to, String reason,
            Map<String, Object> detail) {}

    private static final String INSERT = "INSERT INTO turnout_audit (domain, action, actor, from_stage, to_stage, reason, detail) "
            + "VALUES ($1, $2, $3, $4, $5, $6, $7)";

    private final Databases databases;

    public Audit(Databases databases) {
        this.databases = databases;
    }

    /** Appends an entry on {@code client} (a transaction, so it commits with the change it records). */
    public Future<Void> record(SqlClient client, String domain, String action, String actor, String from, String to, String reason,
            Map<String, Object> detail) {
        return client.preparedQuery(INSERT)
                .execute(Tuple.of(domain, action, actor, from, to, reason, detail == null ? null : new JsonObject(detail)))
                .mapEmpty();
    }

    /** Appends an entry on its own; a failure is logged, never thrown at the work it describes. */
    public Future<Void> record(String domain, String action, String actor, String from, String to, String reason, Map<String, Object> detail) {
        return record(databases.control().work(), domain, action, actor, from, to, reason, detail)
                .onFailure(e -> LOG.errorf("Domain %s: audit entry '%s' not written: %s", domain, action, e.getMessage()))
                .otherwiseEmpty();
    }

    /** Entries after {@code afterId}, oldest first, optionally of one domain and not older than {@code since}. */
    public Future<List<Entry>> page(String domain, OffsetDateTime since, long afterId, int limit) {
        return databases.control().work()
                .preparedQuery("SELECT id, at, domain, action, actor, from_stage, to_stage, reason, detail FROM turnout_audit "
                        + "WHERE id > $1 AND ($2::text IS NULL OR domain = $2) AND ($3::timestamptz IS NULL OR at >= $3) ORDER BY id LIMIT $4")
                .execute(Tuple.of(afterId, domain, since, limit))
                .map(rows -> {
                    List<Entry> out = new ArrayList<>();
                    for (Row r : rows) {
                        JsonObject detail = r.getJsonObject(8);
                        out.add(new Entry(r.getLong(0), r.getOffsetDateTime(1), r.getString(2), r.getString(3), r.getString(4),
                                r.getString(5), r.getString(6), r.getString(7), detail == null ? null : detail.getMap()));
                    }
                    return out;
                });
    }
}
