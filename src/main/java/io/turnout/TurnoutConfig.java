package io.turnout;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/** Everything Turnout reads from configuration, under the {@code turnout.} prefix. */
@ConfigMapping(prefix = "turnout")
public interface TurnoutConfig {

    /** Named PostgreSQL databases that domains point their stores at. */
    Map<String, DatabaseConfig> databases();

    /** The embedded PostgreSQL server used when no database has a URL. */
    EmbeddedConfig embedded();

    /** The domains Turnout serves, by name. */
    Map<String, DomainConfig> domains();

    /** Where stage flags come from. */
    FlagsConfig flags();

    /** Limits of the data API. */
    ApiConfig api();

    /** The outbox relay that completes second writes across databases. */
    OutboxConfig outbox();

    /** Where Turnout keeps its own state: backfill and verification runs, pre-flight results. */
    ControlConfig control();

    /** The release managers' console at {@code /console} (docs/release-managers.md, "The console"). */
    ConsoleConfig console();

    /** Copying existing rows from one store to the other. */
    BackfillConfig backfill();

    /** Comparing the two stores of a domain. */
    VerificationConfig verification();

    /** Bounds on every wait in the databases (docs/sre.md, "Timeouts and bounds"). */
    TimeoutsConfig timeouts();

    /** Replaying the answer to a create retried with the same {@code Idempotency-Key}. */
    IdempotencyConfig idempotency();

    /** How stage control moves a domain's applied stage toward the desired one (docs/release-managers.md). */
    StagesConfig stages();

    /** How replicas find out about each other (docs/sre.md, "Replicas"). */
    FleetConfig fleet();

    /** External read-only search services (Connectra-style) that domains may read from, by name. */
    Map<String, SearchOriginConfig> search();

    /** Who may call Turnout and what each caller may do (docs/sre.md, "Access control"). */
    AuthConfig auth();

    /** Archiving and removing legacy tables at the end of a migration (docs/release-managers.md, "Retirement"). */
    RetirementDefaults retirement();

    /** The clock the retirement safety window is measured by. */
    ClockConfig clock();

    interface AuthConfig {
        /**
         * {@code keys}: named API keys sent as {@code Authorization: Bearer <key>} (the embedded
         * default); {@code oidc}: bearer tokens of an OpenID Connect provider ({@code quarkus.oidc.*});
         * {@code off}: every caller may do everything.
         */
        @WithDefault("keys")
        String mode();

        /** Must be true for the {@code prod} profile to start with {@code mode: off}. */
        @WithName("off-lets-anyone-read-write-and-change-stages")
        @WithDefault("false")
        boolean offAccepted();

        /**
         * API keys by name. Only their hashes are configured ({@code sha256:<hex>}). With none,
         * Turnout generates one per role and one application key at its first start, keeps their
         * hashes in the control database and prints the keys once.
         */
        Map<String, KeyConfig> keys();

        /** Whether {@code /q/health} answers without a credential (Kubernetes probes). */
        @WithDefault("true")
        boolean openHealth();

        /** Whether {@code /q/metrics} answers without a credential (Prometheus scrapes). */
        @WithDefault("true")
        boolean openMetrics();

        /** Where an OIDC token carries the caller's roles and domains. */
        OidcClaimsConfig oidc();
    }

    interface KeyConfig {
        /** {@code sha256:} and the hex SHA-256 of the key, e.g. from {@code printf %s "$KEY" | sha256sum}. */
        String hash();

        /** {@code operator}, {@code release-manager}, {@code approver}. */
        Optional<List<String>> roles();

        /** What an application may do with the data API: {@code <domain>:read}, {@code <domain>:write}, {@code *:read}... */
        Optional<List<String>> domains();
    }

    interface OidcClaimsConfig {
        /** Claim holding the caller's roles (a path such as {@code realm_access/roles} reads a nested claim). */
        @WithDefault("roles")
        String rolesClaim();

        /** Claim holding the data API grants, in the keys' form {@code <domain>:read|write}. */
        @WithDefault("turnout_domains")
        String domainsClaim();

        /** Claim naming the caller in the audit and the metrics (falls back to the token's principal name). */
        @WithDefault("azp")
        String nameClaim();
    }

    interface RetirementDefaults {
        /** How long a domain stays at {@code complete} before its legacy tables may be archived and removed. */
        @WithDefault("30d")
        Duration safetyWindow();

        /** How long a retirement request waits for its approval. */
        @WithDefault("24h")
        Duration requestExpiresAfter();

        /** Longest a DROP or RENAME of a legacy table waits for its lock before the step is retried. */
        @WithDefault("5s")
        Duration lockTimeout();

        /** Attempts of one step in a row before the retirement stops as failed (it can be approved again). */
        @WithDefault("5")
        int maxAttempts();
    }

    interface ClockConfig {
        /**
         * Added to the system clock wherever Turnout measures the retirement safety window; for
         * rehearsals and tests. Every retirement check shows it in its evidence.
         */
        @WithDefault("0s")
        Duration offset();
    }

    interface SearchOriginConfig {
        /** Base URL of the search service, e.g. {@code http://connectra:8080}; {@code /v1/{index}/...} is appended. */
        String url();

        /** Sent as {@code Authorization: Bearer ...} when set. */
        Optional<String> apiKey();

        /** Longest wait for one call, retries excluded. */
        @WithDefault("2s")
        Duration timeout();

        /** Calls in flight at once; more wait in the queue. */
        @WithDefault("64")
        int bulkhead();

        /** Calls waiting for a bulkhead slot; beyond it a read is refused with 503 at once. */
        @WithDefault("256")
        int bulkheadQueue();

        /** The circuit breaker of this origin. */
        BreakerConfig breaker();

        /** Extra attempts of an idempotent call after a connection failure or a 502/503/504. */
        @WithDefault("1")
        int retries();

        /** Wait before a retry. */
        @WithDefault("50ms")
        Duration retryDelay();

        /** Batch calls sent at once when one lookup needs several. */
        @WithDefault("4")
        int batchConcurrency();

        /** Connections kept to the search service. */
        @WithDefault("32")
        int connections();
    }

    interface BreakerConfig {
        /** Calls in the rolling window the failure ratio is measured over. */
        @WithDefault("20")
        int requestVolumeThreshold();

        /** Share of failed calls in the window that opens the breaker. */
        @WithDefault("0.5")
        double failureRatio();

        /** How long the breaker stays open before letting trial calls through. */
        @WithDefault("10s")
        Duration delay();

        /** Successful trial calls that close a half-open breaker. */
        @WithDefault("2")
        int successThreshold();
    }

    /**
     * Each database has two pools: one for client requests (the data path) and one for background
     * work (mirror, outbox relay, backfill, repair, verification, stage changes), each with its own
     * statement and lock timeouts, set on the connection when it opens.
     */
    interface TimeoutsConfig {
        /** Longest a client request may take in all; past it the client gets a 503. */
        @WithDefault("10s")
        Duration request();

        /** Longest statement of a client request. */
        @WithDefault("5s")
        Duration dataStatement();

        /** Longest wait of a client request's statement for a lock. */
        @WithDefault("2s")
        Duration dataLock();

        /** Longest wait of a client request for a pooled connection. */
        @WithDefault("2s")
        Duration dataConnection();

        /** Client requests that may wait for a connection at once, per database; more are refused at once. */
        @WithDefault("256")
        int dataWaitQueue();

        /** Longest statement of background work. */
        @WithDefault("60s")
        Duration workStatement();

        /** Longest wait of background work for a lock. */
        @WithDefault("5s")
        Duration workLock();

        /** Longest wait of background work for a pooled connection. */
        @WithDefault("30s")
        Duration workConnection();

        /** A transaction left idle this long is ended by the database, and its locks released. */
        @WithDefault("60s")
        Duration idleInTransaction();

        /** Longest wait to open a connection. */
        @WithDefault("5s")
        Duration connect();

        /** Idle time after which the database probes a silent client connection (TCP keepalive). */
        @WithDefault("30s")
        Duration keepaliveIdle();

        /**
         * Longest a write waits for its mirror lane when the lane has fallen behind; after it the
         * write answers and the outbox relay carries the key ({@code turnout_mirror_deferred_total}).
         */
        @WithDefault("1s")
        Duration mirrorWait();
    }

    interface StagesConfig {
        /** Longest a domain's writes are held while its authoritative store changes; past it the step aborts. */
        @WithDefault("2s")
        Duration fenceTimeout();

        /** How long after an aborted fence the step is tried again. */
        @WithDefault("30s")
        Duration fenceRetry();

        /** How often the gates of a held step are evaluated again. */
        @WithDefault("1s")
        Duration gateInterval();

        /** How long a shadow mismatch waits before both stores are read again to confirm it. */
        @WithDefault("500ms")
        Duration shadowConfirmDelay();

        /** How often the pre-flight checks run again while they hold {@code legacy -> dual_write}. */
        @WithDefault("60s")
        Duration preflightInterval();
    }

    interface FleetConfig {
        /** How often a replica records that it is alive and the stage it routes each domain by. */
        @WithDefault("1s")
        Duration heartbeatInterval();

        /** A replica whose last heartbeat is older than this is stale: shown, and no longer waited for. */
        @WithDefault("10s")
        Duration staleAfter();
    }

    interface GatesConfig {
        /** Shadow comparisons needed at {@code shadow} before {@code shadow -> live}. */
        @WithDefault("1000")
        long minShadowComparisons();

        /** Highest share of confirmed mismatches among those comparisons, 0 to 1. */
        @WithDefault("0.001")
        double maxMismatchRate();

        /** Least time a domain stays at {@code live} and {@code rampdown} before the next forward step. */
        @WithDefault("0s")
        Duration minDwell();
    }

    interface IdempotencyConfig {
        /** How long a create's {@code Idempotency-Key} and answer are kept. */
        @WithDefault("24h")
        Duration retention();
    }

    interface ConsoleConfig {
        /**
         * The public OIDC client ({@code turnout.auth.mode=oidc}) the console signs in with, by the
         * authorization code flow with PKCE against {@code quarkus.oidc.auth-server-url}; its redirect
         * URI is the console's own address ({@code https://<host>/console/}). Without it the console
         * asks for an access token to paste.
         */
        Optional<String> oidcClientId();

        /** The scopes the console asks for. */
        @WithDefault("openid")
        String oidcScope();
    }

    interface ControlConfig {
        /** Name of the database (under turnout.databases) that holds Turnout's control tables. */
        @WithDefault("main")
        String database();

        /**
         * Which port serves the control API ({@code /admin}): {@code data}, the applications' port,
         * or {@code management}, the port of {@code /q/*} ({@code quarkus.management.port}), so a
         * Service for applications never exposes it.
         */
        @WithDefault("data")
        String port();
    }

    interface BackfillConfig {
        /** Keys copied per chunk, at most {@value io.turnout.sync.Backfill#MAX_CHUNK}. */
        @WithDefault("2000")
        int chunkSize();

        /** How long a worker owns a chunk before another may take it over. */
        @WithDefault("30s")
        Duration leaseDuration();

        /** Chunk copies this replica runs at once, across domains; at most {@value io.turnout.sync.Backfill#MAX_WORKERS}. */
        @WithDefault("2")
        int workers();

        /** How often an idle worker looks for work. */
        @WithDefault("500ms")
        Duration pollInterval();

        /** Failed attempts of one chunk before the run fails. */
        @WithDefault("5")
        int maxAttempts();

        /** Slow down while the domain's request p99 is above this (gh-ost style); unset: never. */
        Optional<Duration> throttleP99();

        /** How long a throttled worker waits before checking the latency again. */
        @WithDefault("1s")
        Duration throttlePause();
    }

    interface VerificationConfig {
        /** Keys compared per range before drilling down. */
        @WithDefault("20000")
        int chunkSize();

        /** Wait before re-checking keys that differed, so in-flight writes settle. */
        @WithDefault("1s")
        Duration recheckDelay();

        /** Differences stored per run, at most. */
        @WithDefault("10000")
        int maxStoredDifferences();
    }

    interface DatabaseConfig {
        /** {@code postgresql://host:port/database}; when no database has one, Turnout runs embedded. */
        Optional<String> url();

        /** User name, when not given in the URL. */
        Optional<String> username();

        /** Password, when not given in the URL. */
        Optional<String> password();

        /** Connections in this database's pool for client requests. */
        @WithDefault("16")
        int poolSize();

        /**
         * Connections that carry this database's client reads, each pipelining up to 16
         * statements. Unset: two per event loop, so every loop reads over connections of its own
         * and 32 reads a loop are in flight before one waits for a place.
         */
        OptionalInt readConnections();

        /**
         * How PostgreSQL plans the client reads' statements (reads by key, lists, the shadow
         * comparisons): {@code generic}, once per statement and connection for every value it is
         * given (PostgreSQL 12 and later); {@code auto}, as the server's {@code plan_cache_mode}
         * says (by default, for the values of each read until a generic plan looks as cheap).
         */
        @WithDefault("generic")
        ReadPlans readPlans();

        /** Connections in this database's pool for background work. */
        @WithDefault("6")
        int workPoolSize();
    }

    /** How PostgreSQL plans client reads, see {@link DatabaseConfig#readPlans()}. */
    enum ReadPlans {
        GENERIC,
        AUTO
    }

    interface EmbeddedConfig {
        /** Directory holding the embedded server's data; kept across restarts. */
        @WithDefault(".turnout/pgdata")
        Path dataDirectory();

        /** Port of the embedded server; 0 picks a free one. */
        @WithDefault("54329")
        int port();

        /** Fill the demo tables with this many rows per domain the first time they are created. */
        @WithDefault("10000")
        int demoRows();

        /**
         * Runs the embedded server with fsync, synchronous commit and full page writes off: faster,
         * but a crash of the server or the machine loses writes Turnout has already acknowledged.
         * For throw-away test data only; logged as a warning at every start.
         */
        @WithDefault("false")
        boolean unsafeLoseWritesOnCrash();
    }

    interface DomainConfig {
        /** The API field that identifies a record. */
        String key();

        /** Unleash flag whose variant names the stage; defaults to {@code turnout.<domain>.stage}. */
        Optional<String> flag();

        /** API fields by name. */
        Map<String, FieldConfig> fields();

        /** The store the domain is leaving. */
        StoreConfig legacy();

        /** The store the domain is moving to. */
        @WithName("new")
        StoreConfig target();

        /** Share of reads compared against the other store in {@code shadow} and {@code live}, 0 to 1. */
        @WithDefault("0.1")
        double shadowSampleRate();

        /** Fields left out when the stores are compared (e.g. a field only one store can hold). */
        Optional<List<String>> verifyIgnore();

        /** Cut timestamps to this precision before comparing: milliseconds, seconds or minutes. */
        Optional<String> verifyTimestampPrecision();

        /** SQL checks counting problem rows, run before a backfill. */
        Map<String, PreflightConfig> preflight();

        /** Thresholds of the domain's stage gates. */
        GatesConfig gates();
        /**
         * A record, field to value as text (JSON for a json field), that a SQL-mapped store must
         * read back exactly as written: checked at every start in a transaction that is rolled back.
         */
        Map<String, String> example();
        /**
         * Domains whose records this one's refer to by foreign key (seed 003: field mappings refer
         * to data imports). Stage control keeps the order their keys need: a domain writes its new
         * store only once every parent's new store holds all of the parent's records, and a parent
         * stops writing its legacy store only after every child has.
         */
        Optional<List<String>> parents();
        /** Records that were in the new store before the migration started (seed 003's pilot rows). */
        Optional<PilotConfig> pilot();
        /** How the legacy store is retired at the end (see the retirement stage). */
        Optional<RetirementConfig> retirement();
    }

    interface PilotConfig {
        /**
         * Keep the records only the new store held when the pre-flight first ran: a backfill never
         * deletes them, and verification counts them as accepted extras, not differences.
         */
        @WithDefault("true")
        boolean acceptExtra();
        /**
         * A record both stores held, with different values, before any copy: {@code block} holds
         * the backfill and {@code legacy -> dual_write} until none is left; {@code legacy} lets the
         * legacy record replace the new store's (each such key is listed and audited).
         */
        @WithDefault("block")
        String collisions();
    }

    interface RetirementConfig {
        /** Retire the legacy tables by renaming them with this suffix (seed 003: {@code _deprecated}) instead of dropping them. */
        Optional<String> renameSuffix();

        /** This domain's safety window, instead of {@code turnout.retirement.safety-window}. */
        Optional<Duration> safetyWindow();

        /** Archive table names by legacy table, instead of {@code <table>_archive_<yyyymmdd>}. */
        Map<String, String> archiveNames();
    }

    interface SqlMappingConfig {
        /** The tables the mapping spans; the first holds one row per record, keyed by the record's key. */
        List<String> tables();
        /** The key's column in the first table; defaults to the key field's name. */
        Optional<String> keyColumn();
        /** One query giving every field as a column named after it, one row per record. */
        String select();
        /** Statements, run in order in one transaction, that make the store hold the records of relation {@code batch}. */
        List<String> upsert();
        /** Statements, run in order in one transaction, that delete the records whose keys are in relation {@code batch}. */
        List<String> delete();
        /** SQL expression giving the key of a record created without one; without it, a create must carry the key. */
        Optional<String> newKey();
        /** List filters besides the fields: name to a condition on the record {@code r}, with {@code :value} for the value. */
        Map<String, String> filters();
    }

    interface SearchStoreConfig {
        /** Name of a search origin under {@code turnout.search}. */
        String origin();

        /** The index holding this domain's documents. */
        String index();

        /** Field to document attribute, where the search service names it differently. */
        Map<String, String> attributes();

        /**
         * When the search origin cannot answer, serve reads from the domain's table store instead of
         * answering 503. Responses then carry {@code X-Turnout-Origin: legacy-fallback}. Off unless set.
         */
        @WithDefault("false")
        boolean fallback();
    }

    interface PreflightConfig {
        /** Database to run in. */
        String database();

        /** One SELECT returning a single count of problem rows. */
        String sql();

        /** {@code warn} reports the count; {@code block} holds the backfill while it is above zero. */
        @WithDefault("warn")
        String level();
    }

    interface FieldConfig {
        /** One of string, integer, boolean, timestamp, uuid, json (json: SQL-mapped stores only). */
        String type();

        /** Whether create and replace must carry the field. */
        @WithDefault("false")
        boolean required();

        /** Longest accepted string, in characters. */
        Optional<Integer> maxLength();
    }

    interface StoreConfig {
        /** Name of a database under {@code turnout.databases}; with {@code table}, for a table store. */
        Optional<String> database();

        /** Table name, optionally schema-qualified. */
        Optional<String> table();

        /** For a read-only search store instead of a table: the origin and index it reads. */
        Optional<SearchStoreConfig> search();
        /**
         * For a SQL-mapped store instead of one table: hand-written SQL that reads and writes one
         * record over several tables (docs/release-managers.md, "Declaring a multi-table domain").
         */
        Optional<SqlMappingConfig> sql();

        /** Field to column, where the column is named differently from the field. */
        Map<String, String> columns();

        /**
         * Field to read-only SQL expression derived from the table's columns, e.g.
         * {@code deleted_by_sender AND deleted_by_receiver}: the store holds the value without a column
         * of its own. It is compared, and copied into the other store; a write cannot set it here.
         */
        Map<String, String> expressions();

        /**
         * Fields this store does not hold at all, with the SQL constant it answers for them (e.g.
         * {@code 'text'} or {@code NULL}). Never copied into the other store, never compared; a write
         * of another value is kept only where a store that holds the field takes the write.
         */
        Map<String, String> absent();
    }

    interface FlagsConfig {
        /** Unleash API URL, e.g. {@code http://unleash:4242/api}; without one the flag file is used. */
        Optional<String> unleashUrl();

        /** Unleash client API token. */
        Optional<String> unleashToken();

        /**
         * Unleash admin API token: with it, {@code POST /admin/migrations/{domain}/stage} changes the
         * flag in Unleash. Without it, stages are changed in Unleash itself.
         */
        Optional<String> unleashAdminToken();

        /** Unleash admin API URL; defaults to the Unleash URL with {@code /admin} appended. */
        Optional<String> unleashAdminUrl();

        /** Unleash project that holds the stage flags. */
        @WithDefault("default")
        String unleashProject();

        /** Unleash environment whose strategy variant names the stage. */
        @WithDefault("development")
        String unleashEnvironment();

        /** How often the Unleash client polls the server. */
        @WithDefault("5s")
        Duration unleashPollInterval();

        /** The offline flag file, in Unleash's client features format. */
        @WithDefault("flags/turnout-flags.json")
        Path file();

        /**
         * How often the stage of each domain is re-evaluated from the client's current flags, and
         * how often the flag file, when it is the source, is checked for a change.
         */
        @WithDefault("500ms")
        Duration refreshInterval();

        /**
         * Where the Unleash client keeps the last flags it fetched, so a restart while the server is
         * down starts from them instead of from "every domain at legacy".
         */
        @WithDefault(".turnout/unleash-backup.json")
        Path unleashBackupFile();

        /** Unleash application name. */
        @WithDefault("turnout")
        String appName();
    }

    interface ApiConfig {
        /** Largest accepted request body, in bytes. */
        @WithDefault("65536")
        int maxBodyBytes();

        /** Page size when a list gives no limit. */
        @WithDefault("50")
        int defaultLimit();

        /** Largest page a list may ask for. */
        @WithDefault("1000")
        int maxLimit();
    }

    interface OutboxConfig {
        /** First retry delay of a failed second write; doubles per attempt. */
        @WithDefault("500ms")
        Duration initialBackoff();

        /** Longest delay between retries. */
        @WithDefault("30s")
        Duration maxBackoff();

        /** How often the relay looks for due keys. */
        @WithDefault("1s")
        Duration relayInterval();

        /** Keys taken per relay pass and database. */
        @WithDefault("200")
        int batchSize();

        /**
         * Failed attempts after which a key is parked: no longer retried on its own, listed under
         * {@code /admin/migrations/{domain}/outbox} and counted in {@code turnout_outbox_parked},
         * until a backfill or repair finishes or a release manager asks for a retry.
         */
        @WithDefault("10")
        int maxAttempts();
    }
}
