package io.turnout.sync;

import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Side;
import io.turnout.routing.Stage;
import io.vertx.core.Future;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Decides when a copy (backfill chunk, repair batch) may write into a store: only into the store
 * that is not authoritative at the applied stage, and only while that store also receives every
 * write. The check and the copy's commit happen while the domain's row in {@code turnout_stage} is
 * held FOR SHARE, the row a stage change updates, so no copy commits after a change that forbids it.
 */
@Singleton
public class CopyGuard {
    /** Longest wait for the stage row while a stage change holds it. */
    static final String LOCK_TIMEOUT = "10s";

    private final Databases databases;

    public CopyGuard(Databases databases) {
        this.databases = databases;
    }

    /** The stages at which a copy may write into {@code target}, in stage order. */
    public static List<Stage> allowed(Domain domain, Side target) {
        return Arrays.stream(Stage.values())
                .filter(s -> s.writesTo(domain).contains(target) && s.writesTo(domain).get(0) != target)
                .toList();
    }

    /**
     * Why {@code what} (a copy into {@code target}) may not run at {@code stage}, naming the stages
     * where it may and how to get there; null when it may.
     */
    public static String refusal(Domain domain, Stage stage, Side target, String what) {
        List<Stage> allowed = allowed(domain, target);
        if (allowed.contains(stage)) return null;
        String rule = what + " writes into the " + target.label() + " store of domain " + domain.name()
                + ", which a copy may only overwrite while it is not authoritative and still receives every write";
        if (allowed.isEmpty()) return rule + "; no stage allows that for this domain";
        String stages = String.join(" or ", allowed.stream().map(Stage::label).toList());
        Stage first = allowed.get(0);
        Stage last = allowed.get(allowed.size() - 1);
        String when = stage.ordinal() < first.ordinal()
                ? "it becomes possible once the domain is at " + first.label()
                : "it becomes possible only after a rollback to " + last.label();
        return rule + ": at " + stages + ". The domain is at " + stage.label() + "; " + when + ".";
    }

    /**
     * Runs {@code work} with the applied stage while holding the domain's stage row FOR SHARE, if
     * that stage allows a copy into {@code target}; otherwise fails with {@link Backfill.Refused}.
     * A stage change waits until {@code work} has completed (committed or failed).
     */
    public <T> Future<T> whileAllowed(Domain domain, Side target, String what, Function<Stage, Future<T>> work) {
        return whileApplied(domain, stage -> {
            String why = refusal(domain, stage, target, what);
            return why != null ? Future.failedFuture(new Backfill.Refused(why, true)) : work.apply(stage);
        });
    }

    /** Runs {@code work} with the applied stage while holding the domain's stage row FOR SHARE. */
    public <T> Future<T> whileApplied(Domain domain, Function<Stage, Future<T>> work) {
        return databases.control().work().withTransaction(tx -> tx
                .query("SET LOCAL lock_timeout = '" + LOCK_TIMEOUT + "'").execute()
                .compose(v -> tx.preparedQuery("SELECT applied FROM turnout_stage WHERE domain = $1 FOR SHARE")
                        .execute(Tuple.of(domain.name())))
                .compose(rows -> {
                    Stage stage = rows.size() == 0 ? null : Stage.ofLabel(rows.iterator().next().getString(0)).orElse(null);
                    if (stage == null) {
                        return Future.failedFuture(new Backfill.Refused("Domain " + domain.name()
                                + " has no applied stage recorded yet; retry in a moment", true));
                    }
                    return work.apply(stage);
                }));
    }
}
