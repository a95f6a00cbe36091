package io.turnout.sync;

import io.turnout.TurnoutConfig;
import io.turnout.db.Database;
import io.turnout.domain.Side;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.time.Duration;
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

    /** Pending keys of one domain in one database. */
    public record Depth(long count, double oldestAgeSeconds) {}

    private final Duration initialBackoff;
    private final Duration maxBackoff;

    public Outbox(TurnoutConfig config) {
        this.initialBackoff = config.outbox().initialBackoff();
        this.maxBackoff = config.outbox().maxBackoff();
    }

    public Future<Void> doneAll(Database db, List<Long> ids) {
        return db.pool().preparedQuery("DELETE FROM turnout_outbox WHERE id = ANY($1)")
                .execute(Tuple.of(ids.toArray(new Long[0]))).mapEmpty();
    }

    /** Counts a failed first attempt of each entry; the relay takes them from here. */
    public Future<Void> failedAll(Database db, List<Long> ids, String error) {
        return db.pool().preparedQuery("UPDATE turnout_outbox SET attempts = attempts + 1, last_error = $2, "
                        + "next_attempt_at = now() + $3 * interval '1 millisecond' WHERE id = ANY($1)")
                .execute(Tuple.of(ids.toArray(new Long[0]), truncate(error), backoff(1).toMillis())).mapEmpty();
    }

    /** Counts a failed attempt and pushes the next one back exponentially. */
    public Future<Void> failed(Database db, long id, int attemptsSoFar, String error) {
        long delay = backoff(attemptsSoFar + 1).toMillis();
        return db.pool().preparedQuery("UPDATE turnout_outbox SET attempts = attempts + 1, last_error = $2, "
                        + "next_attempt_at = now() + $3 * interval '1 millisecond' WHERE id = $1")
                .execute(Tuple.of(id, truncate(error), delay)).mapEmpty();
    }

    public Future<List<Entry>> due(Database db, int limit) {
        return db.pool().preparedQuery("SELECT id, domain, record_key, source, target, attempts FROM turnout_outbox "
                        + "WHERE next_attempt_at <= now() ORDER BY id LIMIT $1")
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

    public Future<Map<String, Depth>> depth(Database db) {
        return db.pool().query("SELECT domain, count(*), extract(epoch FROM now() - min(created_at))::float8 "
                        + "FROM turnout_outbox GROUP BY domain")
                .execute()
                .map(rows -> {
                    Map<String, Depth> out = new HashMap<>();
                    for (Row r : rows) out.put(r.getString(0), new Depth(r.getLong(1), r.getDouble(2)));
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
