package io.turnout.sync;

import io.turnout.TurnoutConfig;
import io.turnout.db.Database;
import io.turnout.domain.Side;
import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Keys whose second store may lag the authoritative one. A row is written in the authoritative
 * transaction, so it exists exactly when the first write committed; it is deleted once the other
 * store has been brought to the authoritative state for that key.
 */
@Singleton
public class Outbox {

    /** One pending key. */
    public record Entry(long id, String domain, String key, Side source, Side target, int attempts) {}

    /** Keys of one domain waiting for their second write: pending (still retried) and parked, and the oldest age. */
    public record Depth(long count, double oldestAgeSeconds, long parked) {
        public static final Depth NONE = new Depth(0, 0, 0);

        Depth plus(Depth other) {
            return new Depth(count + other.count, Math.max(oldestAgeSeconds, other.oldestAgeSeconds), parked + other.parked);
        }
    }

    /** A key that failed too often and waits for a release manager, a backfill or a repair. */
    public record Parked(String key, String database, int attempts, String error, OffsetDateTime since, OffsetDateTime parkedAt) {}

    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final int maxAttempts;

    public Outbox(TurnoutConfig config) {
        this.initialBackoff = config.outbox().initialBackoff();
        this.maxBackoff = config.outbox().maxBackoff();
        this.maxAttempts = Math.max(1, config.outbox().maxAttempts());
    }

    public Future<Void> doneAll(Database db, List<Long> ids) {
        return db.work().preparedQuery("DELETE FROM turnout_outbox WHERE id = ANY($1)")
                .execute(Tuple.of(ids.toArray(new Long[0]))).mapEmpty();
    }

    /**
     * Counts a failed attempt and pushes the next one back exponentially. An entry the target store
     * rejected ({@link #rejected}) is parked once it has failed {@code turnout.outbox.max-attempts}
     * times; one that failed because a store was unreachable keeps its place (depth and oldest age
     * show the outage). Completes with whether it was parked.
     */
    public Future<Boolean> failed(Database db, long id, int attemptsSoFar, Throwable cause) {
        long delay = backoff(attemptsSoFar + 1).toMillis();
        String error = cause.getClass().getSimpleName() + ": " + cause.getMessage();
        return db.work().preparedQuery("UPDATE turnout_outbox SET attempts = attempts + 1, last_error = $2, "
                        + "next_attempt_at = now() + $3 * interval '1 millisecond', "
                        + "parked_at = CASE WHEN $5 AND attempts + 1 >= $4 THEN now() END WHERE id = $1 RETURNING parked_at IS NOT NULL")
                .execute(Tuple.of(id, truncate(error), delay, maxAttempts, rejected(cause)))
                .map(rows -> rows.size() > 0 && rows.iterator().next().getBoolean(0));
    }

    /**
     * Whether the target refused the record itself (a data exception or a broken constraint, SQLSTATE
     * classes 22 and 23, or a key that does not parse) rather than being unreachable: retrying alone
     * will not fix it, something must change first.
     */
    public static boolean rejected(Throwable e) {
        if (e instanceof IllegalArgumentException) return true;
        return e instanceof PgException pg && pg.getSqlState() != null
                && (pg.getSqlState().startsWith("22") || pg.getSqlState().startsWith("23"));
    }

    /** Parked keys of a domain in one database, oldest first. */
    public Future<List<Parked>> parked(Database db, String domain, int limit) {
        return db.work().preparedQuery("SELECT record_key, attempts, last_error, created_at, parked_at FROM turnout_outbox "
                        + "WHERE domain = $1 AND parked_at IS NOT NULL ORDER BY id LIMIT $2")
                .execute(Tuple.of(domain, limit))
                .map(rows -> {
                    List<Parked> out = new ArrayList<>();
                    for (Row r : rows) {
                        out.add(new Parked(r.getString(0), db.name(), r.getInteger(1), r.getString(2), r.getOffsetDateTime(3),
                                r.getOffsetDateTime(4)));
                    }
                    return out;
                });
    }

    /** Puts a domain's parked keys (all, or those given) back in line for the relay; returns how many. */
    public Future<Integer> unpark(Database db, String domain, List<String> keys) {
        return db.work().preparedQuery("UPDATE turnout_outbox SET parked_at = NULL, attempts = 0, next_attempt_at = now() "
                        + "WHERE domain = $1 AND parked_at IS NOT NULL AND ($2::text[] IS NULL OR record_key = ANY($2::text[]))")
                .execute(Tuple.of(domain, (Object) (keys == null ? null : keys.toArray(new String[0]))))
                .map(rows -> rows.rowCount());
    }

    public Future<List<Entry>> due(Database db, int limit) {
        return db.work().preparedQuery("SELECT id, domain, record_key, source, target, attempts FROM turnout_outbox "
                        + "WHERE next_attempt_at <= now() AND parked_at IS NULL ORDER BY id LIMIT $1")
                .execute(Tuple.of(limit))
                .map(rows -> {
                    List<Entry> out = new ArrayList<>();
                    for (Row r : rows) {
                        out.add(new Entry(r.getLong(0), r.getString(1), r.getString(2), Side.ofLabel(r.getString(3)),
                                Side.ofLabel(r.getString(4)), r.getInteger(5)));
                    }
                    return out;
                });
    }

    /** Every entry of one domain, due or not, parked or not, oldest first. */
    public Future<List<Entry>> pending(Database db, String domain, int limit) {
        return db.work().preparedQuery("SELECT id, domain, record_key, source, target, attempts, parked_at IS NOT NULL FROM turnout_outbox "
                        + "WHERE domain = $1 ORDER BY id LIMIT $2")
                .execute(Tuple.of(domain, limit))
                .compose(rows -> {
                    List<Entry> out = new ArrayList<>();
                    long parked = 0;
                    for (Row r : rows) {
                        if (r.getBoolean(6)) parked++;
                        out.add(new Entry(r.getLong(0), r.getString(1), r.getString(2), Side.ofLabel(r.getString(3)),
                                Side.ofLabel(r.getString(4)), r.getInteger(5)));
                    }
                    return parked == 0 ? Future.succeededFuture(out) : Future.failedFuture(new IllegalStateException(
                            parked + " parked keys of domain " + domain + " in database " + db.name() + " must be brought over first"));
                });
    }

    public Future<Map<String, Depth>> depth(Database db) {
        return db.work().query("SELECT domain, count(*) FILTER (WHERE parked_at IS NULL), "
                        + "extract(epoch FROM now() - min(created_at))::float8, count(*) FILTER (WHERE parked_at IS NOT NULL) "
                        + "FROM turnout_outbox GROUP BY domain")
                .execute()
                .map(rows -> {
                    Map<String, Depth> out = new HashMap<>();
                    for (Row r : rows) out.put(r.getString(0), new Depth(r.getLong(1), r.getDouble(2), r.getLong(3)));
                    return out;
                });
    }

    /** Delay before attempt number {@code attempt} (1 = first retry). */
    public Duration backoff(int attempt) {
        long ms = initialBackoff.toMillis() << Math.min(20, Math.max(0, attempt - 1));
        return Duration.ofMillis(Math.min(ms, maxBackoff.toMillis()));
    }

    public Duration initialBackoff() {
        return initialBackoff;
    }

    private static String truncate(String s) {
        return s == null ? null : s.length() > 500 ? s.substring(0, 500) : s;
    }
}
