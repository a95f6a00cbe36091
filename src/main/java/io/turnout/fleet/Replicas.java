package io.turnout.fleet;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.turnout.TurnoutConfig;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.routing.AppliedStages;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.net.InetAddress;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * This replica's entry in the fleet: who it is ({@code turnout_replica}) and the stage it routes
 * each domain by ({@code turnout_replica_stage}), refreshed by a heartbeat. A replica whose
 * heartbeat is older than {@code turnout.fleet.stale-after} is stale: shown, and no longer counted
 * when stage control asks whether the whole fleet routes by a stage.
 */
@Singleton
public class Replicas {
    private static final Logger LOG = Logger.getLogger(Replicas.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    /** A replica as the control database records it. */
    public record Replica(String id, String host, String version, OffsetDateTime startedAt, OffsetDateTime heartbeatAt,
            OffsetDateTime stoppedAt, String state, Map<String, String> stages) {}

    private final String id = UUID.randomUUID().toString();
    private final String host;
    private final TurnoutConfig config;
    private final Domains domains;
    private final AppliedStages stages;
    private final Databases databases;
    /** When this replica last heard from the control database (System.nanoTime), 0 before it ever did. */
    private final AtomicLong lastContact = new AtomicLong();
    private final AtomicReference<List<Replica>> lastSeen = new AtomicReference<>(List.of());

    public Replicas(TurnoutConfig config, Domains domains, AppliedStages stages, Databases databases, MeterRegistry registry) {
        this.config = config;
        this.domains = domains;
        this.stages = stages;
        this.databases = databases;
        this.host = hostName();
        for (String state : List.of("live", "stale")) {
            Gauge.builder("turnout_replicas", () -> lastSeen.get().stream().filter(r -> r.state().equals(state)).count())
                    .description("Replicas recorded in the control database, by state (stale: no heartbeat within turnout.fleet.stale-after)")
                    .tag("state", state)
                    .register(registry);
        }
    }

    /** This replica's id, fresh at every start. */
    public String id() {
        return id;
    }

    /** Records this replica and the stages it routes by; at start and at every heartbeat. */
    public Future<Void> heartbeat() {
        List<String> names = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (Domain d : domains.all()) {
            names.add(d.name());
            labels.add(stages.get(d.name()).label());
        }
        String version = TurnoutConfig.class.getPackage().getImplementationVersion();
        return databases.control().work().withTransaction(tx -> tx
                        .preparedQuery("INSERT INTO turnout_replica (id, host, version) VALUES ($1, $2, $3) "
                                + "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL")
                        .execute(Tuple.of(id, host, version == null ? "dev" : version))
                        .compose(v -> tx.preparedQuery("INSERT INTO turnout_replica_stage (replica_id, domain, stage) "
                                        + "SELECT $1, d, st FROM unnest($2::text[], $3::text[]) AS u (d, st) "
                                        + "ON CONFLICT (replica_id, domain) DO UPDATE SET stage = EXCLUDED.stage, since = CASE "
                                        + "WHEN turnout_replica_stage.stage = EXCLUDED.stage THEN turnout_replica_stage.since ELSE now() END")
                                .execute(Tuple.of(id, names.toArray(new String[0]), labels.toArray(new String[0])))))
                .timeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .onSuccess(v -> lastContact.set(System.nanoTime()))
                .mapEmpty();
    }

    /** Every replica that is running or stopped within the last hour, with its state and stages; newest first. */
    public Future<List<Replica>> all() {
        return databases.control().work()
                .preparedQuery("SELECT r.id, r.host, r.version, r.started_at, r.heartbeat_at, r.stopped_at, "
                        + "CASE WHEN r.stopped_at IS NOT NULL THEN 'stopped' "
                        + "WHEN r.heartbeat_at < now() - $1 * interval '1 millisecond' THEN 'stale' ELSE 'live' END, "
                        + "array(SELECT st.domain || '=' || st.stage FROM turnout_replica_stage st WHERE st.replica_id = r.id ORDER BY st.domain) "
                        + "FROM turnout_replica r WHERE r.stopped_at IS NULL OR r.stopped_at > now() - interval '1 hour' "
                        + "ORDER BY r.started_at DESC")
                .execute(Tuple.of(config.fleet().staleAfter().toMillis()))
                .timeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .map(rows -> {
                    List<Replica> out = new ArrayList<>();
                    for (Row r : rows) {
                        Map<String, String> byDomain = new LinkedHashMap<>();
                        for (String pair : r.getArrayOfStrings(7)) {
                            int eq = pair.indexOf('=');
                            byDomain.put(pair.substring(0, eq), pair.substring(eq + 1));
                        }
                        out.add(new Replica(r.getString(0), r.getString(1), r.getString(2), r.getOffsetDateTime(3),
                                r.getOffsetDateTime(4), r.getOffsetDateTime(5), r.getString(6), byDomain));
                    }
                    lastSeen.set(out);
                    lastContact.set(System.nanoTime());
                    return out;
                });
    }

    /**
     * Records a stale replica as stopped, for one known to be gone for good (a killed pod): it no
     * longer holds gates that ask for no stale replica. Answers whether a stale replica of that id was
     * found; a live one is never forgotten, and one that heartbeats again is live again.
     */
    public Future<Boolean> forget(String replica) {
        return databases.control().work()
                .preparedQuery("UPDATE turnout_replica SET stopped_at = now() WHERE id = $1 AND stopped_at IS NULL "
                        + "AND heartbeat_at < now() - $2 * interval '1 millisecond'")
                .execute(Tuple.of(replica, config.fleet().staleAfter().toMillis()))
                .timeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .map(rows -> rows.rowCount() == 1);
    }

    /** Whether this replica has heard from the control database within {@code within}. */
    public boolean inContact(Duration within) {
        long last = lastContact.get();
        return last != 0 && System.nanoTime() - last <= within.toNanos();
    }

    /** At shutdown: recorded as stopped, so the fleet stops waiting for it at once. */
    void stop(@Observes ShutdownEvent event) {
        try {
            databases.control().work().preparedQuery("UPDATE turnout_replica SET stopped_at = now() WHERE id = $1")
                    .execute(Tuple.of(id))
                    .toCompletionStage().toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            LOG.infof("Replica %s recorded as stopped", id);
        } catch (Exception e) {
            LOG.warnf("Replica %s could not record that it stopped (%s); it turns stale after %d s", id, e.getMessage(),
                    config.fleet().staleAfter().toSeconds());
        }
    }

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) return env;
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "unknown";
        }
    }
}
