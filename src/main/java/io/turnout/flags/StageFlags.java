package io.turnout.flags;

import io.getunleash.DefaultUnleash;
import io.getunleash.Unleash;
import io.getunleash.UnleashContext;
import io.getunleash.util.UnleashConfig;
import io.getunleash.variant.Variant;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import io.turnout.TurnoutConfig;
import io.turnout.TurnoutConfig.FlagsConfig;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.routing.Stage;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.event.Event;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The stage each domain is in, from one Unleash flag per domain whose variant names the stage.
 * A flag that is missing, disabled or names no stage changes nothing: the applied stage holds, and
 * the problem shows in {@code GET /data}, readiness data, {@code turnout_stage_desired} (-1) and
 * the log. A domain with no applied stage recorded yet starts at {@code legacy}. Without an
 * Unleash URL the flag file (Unleash's client features format) is the source, reloaded when it
 * changes (see {@link FlagFile}); with one, the Unleash client polls the server. Both paths evaluate flags with the same
 * Unleash client, so a flag behaves the same offline and online.
 */
@Startup
@Singleton
public class StageFlags {
    private static final Logger LOG = Logger.getLogger(StageFlags.class);

    /** Longest a stage change waits for a copy in flight to commit before it is tried again. */
    private static final long APPLY_TIMEOUT_SECONDS = 30;

    private final FlagsConfig config;
    private final Domains domains;
    private final Databases databases;
    private final Event<StageChanged> changed;
    private final Map<String, Stage> stages = new ConcurrentHashMap<>();
    /** Why a domain's flag names no stage, for domains whose flag cannot be understood. */
    private final Map<String, String> problems = new ConcurrentHashMap<>();
    /** Domains whose stage this process has recorded in the control database since it started. */
    private final java.util.Set<String> applied = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "turnout-flags");
        t.setDaemon(true);
        return t;
    });
    private final UnleashContext context;
    private final Unleash unleash;

    public StageFlags(TurnoutConfig turnout, Domains domains, Databases databases, Event<StageChanged> changed, MeterRegistry registry) {
        this.config = turnout.flags();
        this.domains = domains;
        this.databases = databases;
        this.changed = changed;
        this.context = UnleashContext.builder().appName(config.appName()).userId(config.appName()).build();
        for (Domain d : domains.all()) {
            stages.put(d.name(), Stage.LEGACY);
            Gauge.builder("turnout_stage", () -> stage(d.name()).ordinal())
                    .description("Stage applied to the domain: 0 legacy, 1 dual_write, 2 shadow, 3 live, 4 rampdown, 5 complete, 6 retired")
                    .tag("domain", d.name())
                    .register(registry);
            Gauge.builder("turnout_stage_desired", () -> problems.containsKey(d.name()) ? -1 : stage(d.name()).ordinal())
                    .description("Stage the domain's flag names, as turnout_stage; -1 while the flag is missing, disabled or names no stage")
                    .tag("domain", d.name())
                    .register(registry);
        }
        UnleashConfig.Builder b = UnleashConfig.builder()
                .appName(config.appName())
                .instanceId(config.appName() + "-" + ProcessHandle.current().pid());
        if (config.unleashUrl().isPresent()) {
            b.unleashAPI(config.unleashUrl().get())
                    .backupFile(persistentBackup(config.unleashBackupFile()).toString())
                    .fetchTogglesInterval(Math.max(1, config.unleashPollInterval().toSeconds()))
                    .synchronousFetchOnInitialisation(false);
            config.unleashToken().ifPresent(b::apiKey);
            LOG.infof("Stage flags from Unleash at %s", config.unleashUrl().get());
        } else {
            FlagFile file = new FlagFile(config.file());
            b.unleashAPI("http://localhost/offline")
                    .unleashFeatureFetcherFactory(c -> file)
                    .fetchTogglesInterval(1)
                    .backupFile(backupFile().toString())
                    .synchronousFetchOnInitialisation(true)
                    .disableMetrics();
            LOG.infof("Stage flags from file %s (no Unleash URL configured)", config.file().toAbsolutePath());
        }
        unleash = new DefaultUnleash(b.build());
        stages.putAll(recorded());
        refresh();
        long every = Math.max(100, config.refreshInterval().toMillis());
        timer.scheduleWithFixedDelay(this::tick, every, every, TimeUnit.MILLISECONDS);
    }

    /** The stage applied to a domain right now. */
    public Stage stage(String domain) {
        return stages.getOrDefault(domain, Stage.LEGACY);
    }

    private void tick() {
        try {
            refresh();
        } catch (RuntimeException e) {
            LOG.warn("Stage flag refresh failed; stages stay as they were", e);
        }
    }

    /** Why the domain's flag is not understood, while it is not. */
    public Optional<String> flagProblem(String domain) {
        return Optional.ofNullable(problems.get(domain));
    }

    private void refresh() {
        for (Domain d : domains.all()) {
            Stage current = stage(d.name());
            Reading flag = read(unleash, d);
            String problem = flag.problem();
            if (problem != null) {
                if (!problem.equals(problems.put(d.name(), problem))) {
                    LOG.warnf("Domain %s: flag %s %s; the stage stays at %s until the flag names one", d.name(), d.flag(), problem,
                            current.label());
                }
                if (!applied.contains(d.name())) apply(d, current);
                continue;
            }
            if (problems.remove(d.name()) != null) LOG.infof("Domain %s: flag %s names a stage again", d.name(), d.flag());
            Stage next = flag.stage();
            if (next != current || !applied.contains(d.name())) apply(d, next);
        }
    }

    /**
     * Records the stage in the control database and switches routing while holding the domain's
     * stage row: the update waits for copies in flight (they hold the row FOR SHARE), and copies
     * that start later see the new stage. When the control database cannot record the change,
     * routing stays where it was and the change is tried again at the next refresh.
     */
    private void apply(Domain d, Stage next) {
        Stage before = stage(d.name());
        try {
            databases.control().work().withTransaction(tx -> tx
                    .query("SET LOCAL lock_timeout = '" + APPLY_TIMEOUT_SECONDS + "s'").execute()
                    .compose(v -> tx.preparedQuery("INSERT INTO turnout_stage (domain, applied) VALUES ($1, $2) ON CONFLICT (domain) "
                                    + "DO UPDATE SET applied = EXCLUDED.applied, changed_at = CASE WHEN turnout_stage.applied = "
                                    + "EXCLUDED.applied THEN turnout_stage.changed_at ELSE clock_timestamp() END")
                            .execute(Tuple.of(d.name(), next.label())))
                    .map(v -> stages.put(d.name(), next)))
                    .toCompletionStage().toCompletableFuture().get(APPLY_TIMEOUT_SECONDS + 5, TimeUnit.SECONDS);
        } catch (Exception e) {
            stages.put(d.name(), before);
            Throwable cause = e.getCause() == null ? e : e.getCause();
            LOG.errorf("Domain %s: stage %s -> %s not applied, the control database did not record it (%s); "
                    + "routing stays at %s and the change is tried again", d.name(), before.label(), next.label(),
                    cause.getMessage(), before.label());
            return;
        }
        applied.add(d.name());
        if (before != next) {
            LOG.infof("Domain %s: stage %s -> %s (flag %s)", d.name(), before.label(), next.label(), d.flag());
            changed.fire(new StageChanged(d.name(), before, next));
        }
    }

    /** The stages recorded in the control database, which routing starts from. */
    private Map<String, Stage> recorded() {
        Map<String, Stage> out = new java.util.HashMap<>();
        try {
            var rows = databases.control().work().query("SELECT domain, applied FROM turnout_stage").execute()
                    .toCompletionStage().toCompletableFuture().get(APPLY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            for (Row r : rows) {
                if (domains.find(r.getString(0)).isPresent()) Stage.ofLabel(r.getString(1)).ifPresent(s -> out.put(r.getString(0), s));
            }
        } catch (Exception e) {
            throw new IllegalStateException("Cannot read the applied stages from the control database: " + e.getMessage(), e);
        }
        return out;
    }

    /** A flag as read: the stage its variant names, or what is wrong with it. */
    private record Reading(Stage stage, String problem) {
        static Reading wrong(String problem) {
            return new Reading(null, problem);
        }
    }

    private Reading read(Unleash client, Domain d) {
        if (!client.more().getFeatureToggleNames().contains(d.flag())) return Reading.wrong("is missing");
        Variant v = client.getVariant(d.flag(), context);
        if (v == null || !v.isEnabled()) return Reading.wrong("is disabled or has no variant");
        return Stage.ofLabel(v.getName()).map(s -> new Reading(s, null))
                .orElseGet(() -> Reading.wrong("has variant '" + v.getName() + "', which names no stage"));
    }

    private static Path persistentBackup(Path file) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null) Files.createDirectories(dir);
            return file;
        } catch (IOException e) {
            throw new IllegalStateException("Cannot create the directory of the Unleash backup file " + file, e);
        }
    }

    /** The offline client needs no backup: the flag file is its source. */
    private static Path backupFile() {
        try {
            Path dir = Files.createTempDirectory("turnout-unleash");
            dir.toFile().deleteOnExit();
            return dir.resolve("backup.json");
        } catch (IOException e) {
            throw new IllegalStateException("No temporary directory for the Unleash client", e);
        }
    }

    @PreDestroy
    void close() {
        timer.shutdownNow();
        unleash.shutdown();
    }
}
