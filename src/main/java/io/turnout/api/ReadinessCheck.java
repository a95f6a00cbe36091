package io.turnout.api;

import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import io.turnout.TurnoutConfig;
import io.turnout.db.Database;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.fleet.Replicas;
import io.turnout.search.SearchClient;
import io.turnout.search.SearchOrigins;
import io.turnout.store.Store;
import io.turnout.routing.DataRouter;
import io.turnout.routing.Stage;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready when every database that some domain reads from or writes first to, at its current stage,
 * answers. A database that only takes second writes does not take Turnout out of rotation: the
 * outbox covers it, and its state shows in the check's data. So does each search origin's breaker:
 * a search outage answers 503 for its own domains' reads but keeps the replica in rotation. A
 * replica that has not reached the control database within {@code turnout.fleet.stale-after} is
 * not ready: it may route by a stage the fleet has left.
 */
@Readiness
public class ReadinessCheck implements AsyncHealthCheck {
    private final Databases databases;
    private final Domains domains;
    private final DataRouter router;
    private final SearchOrigins search;

    private final Replicas replicas;
    private final Duration staleAfter;

    public ReadinessCheck(Databases databases, Domains domains, DataRouter router, SearchOrigins search, Replicas replicas,
            TurnoutConfig config) {
        this.replicas = replicas;
        this.staleAfter = config.fleet().staleAfter();
        this.databases = databases;
        this.domains = domains;
        this.router = router;
        this.search = search;
    }

    @Override
    public Uni<HealthCheckResponse> call() {
        Set<String> needed = new HashSet<>();
        for (Domain d : domains.all()) {
            Stage stage = router.stage(d);
            if (d.origin(stage.reads()) instanceof Store s) needed.add(s.database().name());
            needed.add(d.store(stage.writesTo(d).get(0)).database().name());
        }
        List<Future<String>> pings = new ArrayList<>();
        for (Database db : databases.all()) {
            pings.add(db.pool().query("SELECT 1").execute()
                    .map("up")
                    .otherwise(e -> "down: " + e.getClass().getSimpleName()));
        }
        return Uni.createFrom().completionStage(Future.join(pings).toCompletionStage())
                .ifNoItem().after(Duration.ofSeconds(5)).fail()
                .map(all -> {
                    HealthCheckResponseBuilder b = HealthCheckResponse.named("databases").up();
                    int i = 0;
                    for (Database db : databases.all()) {
                        String state = pings.get(i++).result();
                        b.withData(db.name(), state);
                        if (!"up".equals(state) && needed.contains(db.name())) b.down();
                    }
                    // a replica cut off from the control database may route by a stage the fleet has left: out of rotation until it is back
                    if (replicas.inContact(staleAfter)) {
                        b.withData("fleet", "replica " + replicas.id() + " in contact with the control database");
                    } else {
                        b.down().withData("fleet", "replica " + replicas.id() + " has not reached the control database for "
                                + staleAfter.toSeconds() + " s");
                    }
                    // a flag that names no stage holds the domain where it is: reported, never a reason to be unready
                    for (Domain d : domains.all()) {
                        router.flagProblem(d).ifPresent(p -> b.withData("flag:" + d.name(), "flag " + p + "; stage holds at " + router.stage(d).label()));
                    }
                    // a search origin's outage fails reads of its own domains only (503), never the replica
                    for (SearchClient c : search.all()) {
                        b.withData("search:" + c.name(), "breaker " + SearchOrigins.label(c.breakerState()));
                    }
                    return b.build();
                })
                .onFailure().recoverWithItem(e -> HealthCheckResponse.named("databases").down()
                        .withData("error", "databases did not answer within 5s").build());
    }
}
