package io.turnout.sync;

import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.PreflightCheck;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;

/** Runs a domain's pre-flight checks and keeps their latest counts in the control database. */
@Singleton
public class Preflight {

    /** One check's latest outcome: a count of problem rows, or the error that stopped it. */
    public record Result(String name, boolean blocking, Long problemRows, String error) {
        public boolean holds() {
            return blocking && (error != null || problemRows == null || problemRows > 0);
        }

        public String describe() {
            return error != null
                    ? "pre-flight check '" + name + "' could not run (" + error + ")"
                    : "pre-flight check '" + name + "' found " + problemRows + " problem rows";
        }
    }

    private final Databases databases;
    private final Pilot pilot;

    public Preflight(Databases databases, Pilot pilot) {
        this.databases = databases;
        this.pilot = pilot;
    }

    public Future<List<Result>> run(Domain domain) {
        List<Future<Result>> all = new ArrayList<>();
        for (PreflightCheck c : domain.preflight()) {
            all.add(c.database().work().query(c.sql()).execute()
                    .map(rows -> new Result(c.name(), c.blocking(), count(rows.iterator().next()), null))
                    .otherwise(e -> new Result(c.name(), c.blocking(), null, e.getClass().getSimpleName()))
                    .compose(r -> store(domain, r).map(r)));
        }
        if (domain.declared().pilot() != null) {
            // records the new store already held: found once, before any copy (see Pilot)
            boolean legacyWins = domain.declared().pilot().legacyWins();
            Future<Pilot.Snapshot> found = pilot.snapshot(domain);
            all.add(found.map(s -> new Result("pilot_extra_rows", false, (long) s.extras().size(), null))
                    .otherwise(e -> new Result("pilot_extra_rows", false, null, e.getMessage()))
                    .compose(r -> store(domain, r).map(r)));
            all.add(found.map(s -> new Result("pilot_collisions", !legacyWins, (long) s.collisions().size(), null))
                    .otherwise(e -> new Result("pilot_collisions", true, null, e.getMessage()))
                    .compose(r -> store(domain, r).map(r)));
        }
        return Future.all(all).map(f -> {
            List<Result> out = new ArrayList<>();
            for (Future<Result> r : all) out.add(r.result());
            return out;
        });
    }

    public Future<List<Result>> latest(Domain domain) {
        return databases.control().work()
                .preparedQuery("SELECT name, level, problem_rows, error FROM turnout_preflight WHERE domain = $1 ORDER BY name")
                .execute(Tuple.of(domain.name()))
                .map(rows -> {
                    List<Result> out = new ArrayList<>();
                    for (Row r : rows) out.add(new Result(r.getString(0), "block".equals(r.getString(1)), r.getLong(2), r.getString(3)));
                    return out;
                });
    }

    private Future<Void> store(Domain domain, Result r) {
        return databases.control().work().preparedQuery("INSERT INTO turnout_preflight (domain, name, level, problem_rows, error, checked_at) "
                        + "VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (domain, name) DO UPDATE SET level = EXCLUDED.level, "
                        + "problem_rows = EXCLUDED.problem_rows, error = EXCLUDED.error, checked_at = now()")
                .execute(Tuple.of(domain.name(), r.name(), r.blocking() ? "block" : "warn", r.problemRows(), r.error()))
                .mapEmpty();
    }

    private static Long count(Row row) {
        Object v = row.getValue(0);
        return v instanceof Number n ? n.longValue() : null;
    }
}
