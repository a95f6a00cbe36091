package io.turnout.flags;

import io.getunleash.DefaultUnleash;
import io.getunleash.Unleash;
import io.getunleash.UnleashContext;
import io.getunleash.util.UnleashConfig;
import io.getunleash.variant.Variant;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.turnout.TurnoutConfig;
import io.turnout.TurnoutConfig.FlagsConfig;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.routing.Stage;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * The stage release managers want for each domain (the <em>desired</em> stage), from one Unleash
 * flag per domain whose variant names the stage. A flag that is missing, disabled or names no
 * stage gives no desired stage: stage control then holds the applied stage, and the problem shows in
 * {@code GET /data}, readiness data, {@code turnout_stage_desired} (-1) and the log. Without an
 * Unleash URL the flag file (Unleash's client features format) is the source, reloaded when it
 * changes (see {@link FlagFile}); with one, the Unleash client polls the server. Both paths evaluate
 * flags with the same Unleash client, so a flag behaves the same offline and online.
 */
@Singleton
public class StageFlags {
    private static final Logger LOG = Logger.getLogger(StageFlags.class);

    /** A flag as read: the stage its variant names, or what is wrong with it. */
    public record Desired(Stage stage, String problem) {
        static Desired wrong(String problem) {
            return new Desired(null, problem);
        }
    }

    private final FlagsConfig config;
    /** Why a domain's flag names no stage, for domains whose flag cannot be understood. */
    private final Map<String, String> problems = new ConcurrentHashMap<>();
    private final Map<String, Stage> desired = new ConcurrentHashMap<>();
    private final UnleashContext context;
    private final Unleash unleash;

    public StageFlags(TurnoutConfig turnout, Domains domains, MeterRegistry registry) {
        this.config = turnout.flags();
        this.context = UnleashContext.builder().appName(config.appName()).userId(config.appName()).build();
        for (Domain d : domains.all()) {
            Gauge.builder("turnout_stage_desired", () -> problems.containsKey(d.name()) || !desired.containsKey(d.name())
                            ? -1 : desired.get(d.name()).ordinal())
                    .description("Stage the domain's flag names (0 legacy ... 6 retired); -1 while the flag is missing, disabled or names no stage")
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
                    .scheduledExecutor(new FilePoll(config.refreshInterval()))
                    .backupFile(backupFile().toString())
                    .synchronousFetchOnInitialisation(true)
                    .disableMetrics();
            LOG.infof("Stage flags from file %s (no Unleash URL configured)", config.file().toAbsolutePath());
        }
        unleash = new DefaultUnleash(b.build());
    }

    /** Why the domain's flag is not understood, while it is not. */
    public Optional<String> flagProblem(String domain) {
        return Optional.ofNullable(problems.get(domain));
    }

    /** Reads the domain's flag now; logs when it stops or starts naming a stage. */
    public Desired read(Domain d) {
        Desired flag = evaluate(d);
        if (flag.problem() != null) {
            if (!flag.problem().equals(problems.put(d.name(), flag.problem()))) {
                LOG.warnf("Domain %s: flag %s %s; the applied stage holds until the flag names one", d.name(), d.flag(), flag.problem());
            }
            desired.remove(d.name());
        } else {
            if (problems.remove(d.name()) != null) LOG.infof("Domain %s: flag %s names a stage again", d.name(), d.flag());
            desired.put(d.name(), flag.stage());
        }
        return flag;
    }

    private Desired evaluate(Domain d) {
        if (!unleash.more().getFeatureToggleNames().contains(d.flag())) return Desired.wrong("is missing");
        Variant v = unleash.getVariant(d.flag(), context);
        if (v == null || !v.isEnabled()) return Desired.wrong("is disabled or has no variant");
        return Stage.ofLabel(v.getName()).map(s -> new Desired(s, null))
                .orElseGet(() -> Desired.wrong("has variant '" + v.getName() + "', which names no stage"));
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
        unleash.shutdown();
    }
}
