package io.turnout.db;

import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.ResourceProvider;
import org.flywaydb.core.api.output.MigrateResult;
import org.flywaydb.core.api.resource.LoadableResource;
import org.jboss.logging.Logger;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Versions the tables Turnout owns with Flyway, one history per set: {@link #STORE} in every
 * database Turnout serves (outbox, kept create answers), {@link #CONTROL} in the control database
 * (stage state, runs, audit). A database that Turnout 0.1 set up before its tables were versioned
 * holds Turnout's tables and the application's but no history: it is adopted from version 0, and
 * the first migrations, written to be idempotent, leave what is already there in place.
 * Replicas starting together take Flyway's advisory lock in turn; a database already migrated by a
 * newer Turnout (a rolled-back upgrade) is left as it is.
 */
public final class Schema {
    private static final Logger LOG = Logger.getLogger(Schema.class);
    /** Longest one migration statement may run, and longest a replica waits for another's lock. */
    private static final Duration STATEMENT_TIMEOUT = Duration.ofMinutes(2);
    private static final int CONNECT_TIMEOUT_SECONDS = 10;

    /** A set of migrations: where they are bundled, their names in order, and the table keeping their history. */
    public record Set(String location, String historyTable, List<String> migrations) {}

    public static final Set STORE = new Set("db/migration/store", "turnout_schema_history",
            List.of("V1__outbox_and_idempotency.sql", "V2__write_fence.sql"));
    public static final Set CONTROL = new Set("db/migration/control", "turnout_control_schema_history",
            List.of("V1__control_tables.sql", "V2__stage_control.sql", "V3__fleet.sql", "V4__pilot.sql",
                    "V5__access_and_retirement.sql", "V6__shadow_history.sql"));

    private Schema() {}

    /** Brings {@code set} up to date in the database {@code options} points at; fails naming the database and the reason. */
    public static void migrate(String database, PgConnectOptions options, Set set) {
        PGSimpleDataSource source = new PGSimpleDataSource();
        source.setServerNames(new String[] {options.getHost()});
        source.setPortNumbers(new int[] {options.getPort()});
        source.setDatabaseName(options.getDatabase());
        source.setUser(options.getUser());
        source.setPassword(options.getPassword());
        source.setConnectTimeout(CONNECT_TIMEOUT_SECONDS);
        source.setApplicationName("turnout-schema");
        source.setOptions("-c statement_timeout=" + STATEMENT_TIMEOUT.toMillis() + " -c lock_timeout=" + STATEMENT_TIMEOUT.toMillis());
        if (options.getSslMode() != null && options.getSslMode() != SslMode.DISABLE) {
            source.setSslMode(options.getSslMode().name().toLowerCase().replace('_', '-'));
        }
        Flyway flyway = Flyway.configure(Schema.class.getClassLoader())
                .dataSource(source)
                .table(set.historyTable())
                .resourceProvider(new Bundled(set))
                .locations("classpath:" + set.location())
                .baselineOnMigrate(true)
                .baselineVersion("0")
                .baselineDescription("Turnout 0.1, before its tables were versioned")
                .placeholderReplacement(false)
                .connectRetries(0)
                .lockRetryCount((int) STATEMENT_TIMEOUT.toSeconds())
                .load();
        MigrateResult result;
        try {
            result = flyway.migrate();
        } catch (RuntimeException e) {
            throw new IllegalStateException("Versioning Turnout's tables (" + set.historyTable() + ") in database '" + database
                    + "' failed: " + e.getMessage(), e);
        }
        if (result.migrationsExecuted > 0) {
            LOG.infof("Database %s: %s migrated from version %s to %s (%d migrations)", database, set.historyTable(),
                    result.initialSchemaVersion == null ? "none" : result.initialSchemaVersion, result.targetSchemaVersion,
                    result.migrationsExecuted);
        }
    }

    /** The migrations of a set, read from the class path by their listed names (no directory scanning). */
    private static final class Bundled implements ResourceProvider {
        private final Set set;

        Bundled(Set set) {
            this.set = set;
        }

        @Override
        public LoadableResource getResource(String name) {
            return set.migrations().contains(name) ? new Migration(set.location(), name) : null;
        }

        @Override
        public Collection<LoadableResource> getResources(String prefix, String[] suffixes) {
            return set.migrations().stream()
                    .filter(n -> n.startsWith(prefix) && Arrays.stream(suffixes).anyMatch(n::endsWith))
                    .<LoadableResource>map(n -> new Migration(set.location(), n))
                    .toList();
        }
    }

    private static final class Migration extends LoadableResource {
        private final String location;
        private final String name;

        Migration(String location, String name) {
            this.location = location;
            this.name = name;
        }

        @Override
        public Reader read() {
            InputStream in = Schema.class.getClassLoader().getResourceAsStream(getAbsolutePath());
            if (in == null) throw new UncheckedIOException(new IOException(getAbsolutePath() + " is not bundled"));
            return new InputStreamReader(in, StandardCharsets.UTF_8);
        }

        @Override
        public String getAbsolutePath() {
            return location + "/" + name;
        }

        @Override
        public String getAbsolutePathOnDisk() {
            return getAbsolutePath();
        }

        @Override
        public String getFilename() {
            return name;
        }

        @Override
        public String getRelativePath() {
            return name;
        }
    }
}
