package io.turnout.db;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.quarkus.runtime.StartupEvent;
import io.turnout.TurnoutConfig;
import io.turnout.TurnoutConfig.DatabaseConfig;
import io.turnout.TurnoutConfig.ReadPlans;
import io.turnout.TurnoutConfig.TimeoutsConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.impl.Connection;
import io.vertx.sqlclient.impl.SocketConnectionBase;
import io.vertx.sqlclient.impl.SqlConnectionInternal;
import io.vertx.sqlclient.impl.pool.SqlConnectionPool;
import jakarta.annotation.PreDestroy;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The databases that domains name, each with a pool. When none of them has a URL, Turnout starts
 * embedded PostgreSQL and creates each database there, with the demo tables on first start.
 * Turnout's own tables in each database are brought to this release's version ({@link Schema}).
 */
@Singleton
public class Databases {
    private static final Logger LOG = Logger.getLogger(Databases.class);
    private static final AtomicBoolean flushesLogged = new AtomicBoolean();
    private static final Duration SETUP_TIMEOUT = Duration.ofMinutes(2);
    /** Background tasks are few (a replica's workers, lanes and relay); a longer queue means a leak. */
    private static final int WORK_WAIT_QUEUE = 1024;

    /**
     * Bounds of pipelined reads. Statements pipelined on one connection run one after another, so
     * a read behind reads that wait on a locked table (DDL, a retirement's drop) waits for each of
     * them: each must give up fast, and few may queue on a connection, for every read to be
     * answered well within the request timeout (at most {@code data-connection} for a place, then
     * 16 x 250 ms). A read by key takes milliseconds; only a lock makes it wait.
     */
    static final int READ_PIPELINE = 16;
    /**
     * Read connections per event loop unless configured. With one, a loop's 17th concurrent read
     * waited for a place: reads from 64 HTTP connections on two loops ran at 0.82x of the anchor's
     * (bench/data-path's reads of connections, six runs each); with two, at 1.0x, and no slower
     * from 16.
     */
    static final int READ_CONNECTIONS_PER_LOOP = 2;
    static final Duration READ_LOCK = Duration.ofMillis(250);
    /** Shadow comparisons: batches of sampled keys on one connection of their own, each read bounded tighter still. */
    static final int COMPARE_PIPELINE = 64;
    static final Duration COMPARE_STATEMENT = Duration.ofSeconds(1);
    static final Duration COMPARE_LOCK = Duration.ofMillis(100);

    private final Map<String, Database> byName = new LinkedHashMap<>();
    private final EmbeddedServer embedded;
    private final Database control;
    private final PgConnectOptions controlOptions;
    private final TimeoutsConfig timeouts;
    private final CompletableFuture<Void> setup;
    private final AtomicBoolean waitLogged = new AtomicBoolean();

    public Databases(TurnoutConfig config, Vertx vertx, MeterRegistry registry,
            @ConfigProperty(name = "quarkus.profile") String profile) {
        Map<String, DatabaseConfig> configured = config.databases();
        if (configured.isEmpty()) {
            throw new IllegalStateException("No databases are declared under turnout.databases");
        }
        boolean anyUrl = configured.values().stream().anyMatch(d -> d.url().isPresent());
        if (anyUrl) {
            configured.forEach((name, db) -> {
                if (db.url().isEmpty()) {
                    throw new IllegalStateException("Database '" + name + "' has no url, while others do: "
                            + "give every database a url (TURNOUT_DATABASES_" + name.toUpperCase() + "_URL), or none to run embedded");
                }
            });
            embedded = null;
        } else {
            embedded = EmbeddedServer.start(config.embedded().dataDirectory(), config.embedded().port(),
                    config.embedded().unsafeLoseWritesOnCrash());
        }
        Gauge.builder("turnout_embedded_database", () -> embedded == null ? 0 : 1)
                .description("1 while Turnout runs its own embedded PostgreSQL (no database url configured); "
                        + "profile is the configuration profile it runs in")
                .tag("profile", profile).register(registry);
        Map<String, PgConnectOptions> connectTo = new LinkedHashMap<>();
        for (Map.Entry<String, DatabaseConfig> e : configured.entrySet()) {
            String name = e.getKey();
            if (!name.matches("[a-z][a-z0-9_]{0,62}")) {
                throw new IllegalStateException("Database name '" + name + "' must be lower-case letters, digits and _");
            }
            PgConnectOptions options = embedded == null ? external(e.getValue()) : embeddedOptions(name);
            connectTo.put(name, options);
            TimeoutsConfig t = config.timeouts();
            Pool data = pool("turnout-" + name, options, e.getValue().poolSize(), t.dataWaitQueue(), t.dataConnection(),
                    t.dataStatement(), t.dataLock(), t, vertx);
            int readConnections = readConnections(name, e.getValue().readConnections(), eventLoops(vertx));
            PgConnectOptions readOptions = readPlans(options, e.getValue().readPlans());
            SqlClient reads = reads("turnout-" + name + "-reads", readOptions, readConnections, READ_PIPELINE,
                    t.dataWaitQueue(), t.dataConnection(), t.dataStatement(), READ_LOCK, t, vertx);
            SqlClient compare = reads("turnout-" + name + "-compare", readOptions, 1, COMPARE_PIPELINE, t.dataWaitQueue(),
                    t.dataConnection(), COMPARE_STATEMENT, COMPARE_LOCK, t, vertx);
            Pool work = pool("turnout-" + name + "-work", options, e.getValue().workPoolSize(), WORK_WAIT_QUEUE, t.workConnection(),
                    t.workStatement(), t.workLock(), t, vertx);
            byName.put(name, new Database(name, data, reads, compare, work));
        }
        Database control = byName.get(config.control().database());
        if (control == null) {
            throw new IllegalStateException("turnout.control.database names '" + config.control().database()
                    + "', which is not declared under turnout.databases");
        }
        this.control = control;
        this.controlOptions = connectTo.get(control.name());
        this.timeouts = config.timeouts();
        // each database's tables are brought up to date on a thread of their own: they share nothing,
        // and start-up waits for the slowest rather than for their sum. Nothing waits for them here:
        // the control records' persistence unit builds meanwhile, and every use of a database
        // (ready(), whenReady()) waits for them, bounded
        List<CompletableFuture<Void>> setups = new ArrayList<>();
        for (Database db : byName.values()) {
            setups.add(CompletableFuture.runAsync(() -> {
                if (embedded != null) createEmbeddedDatabase(db.name());
                Schema.migrate(db.name(), connectTo.get(db.name()), Schema.STORE);
                if (db == control) Schema.migrate(db.name(), connectTo.get(db.name()), Schema.CONTROL);
                if (embedded != null) {
                    run(db, "db/demo/" + db.name() + ".sql",
                            Map.of(":demo_rows", Integer.toString(config.embedded().demoRows())));
                }
            }, r -> new Thread(r, "turnout-setup-" + db.name()).start()));
        }
        this.setup = CompletableFuture.allOf(setups.toArray(CompletableFuture[]::new))
                .orTimeout(SETUP_TIMEOUT.toSeconds() * 2, TimeUnit.SECONDS);
    }

    /**
     * Waits until Turnout's tables in every database are up to date, at most twice the setup
     * timeout, and throws what failed: the first caller is start-up, so a database that cannot be
     * set up stops Turnout. Returns at once after that.
     */
    public void ready() {
        if (setup.isDone() && !setup.isCompletedExceptionally()) return;
        if (!setup.isDone() && waitLogged.compareAndSet(false, true)) {
            LOG.infof("Start-up waits for Turnout's tables to be brought up to date in %s", byName.keySet());
        }
        try {
            setup.get();
        } catch (ExecutionException e) {
            throw setupFailure(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while setting up the databases", e);
        }
    }

    /** Completes, on the caller's context, once {@link #ready()} would return; fails with what it would throw. */
    public Future<Void> whenReady() {
        if (setup.isDone() && !setup.isCompletedExceptionally()) return Future.succeededFuture();
        return Future.fromCompletionStage(setup.handle((v, e) -> {
            if (e != null) throw setupFailure(e instanceof CompletionException ? e.getCause() : e);
            return v;
        }));
    }

    private RuntimeException setupFailure(Throwable cause) {
        if (cause instanceof TimeoutException) {
            return new IllegalStateException("Setting up the databases took more than " + SETUP_TIMEOUT.toSeconds() * 2 + " s", cause);
        }
        return cause instanceof RuntimeException r ? r : new IllegalStateException(cause.getMessage(), cause);
    }

    /**
     * Start-up waits here at the latest (the routes' and stage control's first use of a database
     * usually waits before), before any start-up work runs, until every database is set up, and
     * stops when one could not be.
     */
    void started(@Observes @Priority(0) StartupEvent event) {
        ready();
    }

    /**
     * A pool whose connections carry their bounds from the moment they open: statement, lock and
     * idle-in-transaction timeouts, and server-side TCP keepalive, as startup parameters. Their
     * flushes are consolidated as the reads' are: the statements a pipelined transaction sends
     * together ({@link Pipelined}: BEGIN with its first statements, the last ones with COMMIT) go
     * out in one write rather than one each.
     */
    private static Pool pool(String name, PgConnectOptions base, int size, int waitQueue, Duration connectionWait,
            Duration statement, Duration lock, TimeoutsConfig t, Vertx vertx) {
        return PgBuilder.pool().with(poolOptions(name, size, waitQueue, connectionWait))
                .connectingTo(bounded(name, base, statement, lock, t)).withConnectHandler(Databases::consolidateFlushes)
                .using(vertx).build();
    }

    /**
     * A client for reads over a few connections, each pipelining up to {@code pipeline} statements;
     * a read finding every place taken waits for one like a request for a pooled connection. The
     * connections are spread over the event loops as they open, and a read takes one on its own
     * loop when there is one: whichever request opened them first, a read then neither hands its
     * statement to another loop nor waits for that loop to hand back the answer.
     */
    private static SqlClient reads(String name, PgConnectOptions base, int size, int pipeline, int waitQueue, Duration connectionWait,
            Duration statement, Duration lock, TimeoutsConfig t, Vertx vertx) {
        return PgBuilder.client().with(poolOptions(name, size, waitQueue, connectionWait).setEventLoopSize(eventLoops(vertx)))
                .connectingTo(bounded(name, base, statement, lock, t).setPipeliningLimit(pipeline))
                .withConnectHandler(Databases::consolidateFlushes).using(vertx).build();
    }

    /**
     * Lets a pipelined connection send the statements its event loop queues in one pass (the reads
     * of every request that pass handled) in one write, rather than one write per statement: the
     * socket is flushed once the loop has handled its ready channels, or after 64 statements. The
     * database then reads them in one go, and both sides make a fraction of the system calls. A
     * connection whose pipeline cannot be reached (another driver release) is used as it is.
     */
    private static void consolidateFlushes(SqlConnection connection) {
        try {
            Connection c = connection instanceof SqlConnectionInternal i ? i.unwrap() : null;
            while (c instanceof SqlConnectionPool.PooledConnection pooled) c = pooled.unwrap();
            if (c instanceof SocketConnectionBase socket) {
                socket.socket().channelHandlerContext().pipeline().addFirst("turnout-flushes", new FlushConsolidationHandler(64, true));
            } else if (flushesLogged.compareAndSet(false, true)) {
                LOG.infof("Pipelined reads flush each statement: the driver's connection is a %s", c == null ? connection.getClass() : c.getClass());
            }
        } finally {
            connection.close();
        }
    }

    /**
     * The read connections' options, with PostgreSQL told to plan each prepared read once for all
     * the values it is given, when so configured (the default). Planned for its values, a list of
     * one user's records ordered by key and limited ({@code WHERE user_id = $1 ORDER BY id LIMIT
     * $2}) was planned at every run, since a parameter limit makes the generic plan look a little
     * dearer than the plans for each value, and for the users the table's statistics count among
     * the most common it walked the key's index filtering every record until it found 50 of theirs:
     * 130,000 buffers instead of 500 for about 1 % of lists on bench/data-path's table, which cost
     * PostgreSQL more than all the other lists together. The generic plan reads the user's records
     * by the user's index and sorts them, for every user.
     */
    static PgConnectOptions readPlans(PgConnectOptions options, ReadPlans plans) {
        PgConnectOptions out = new PgConnectOptions(options);
        if (plans == ReadPlans.GENERIC) {
            Map<String, String> props = new HashMap<>(options.getProperties());
            props.put("plan_cache_mode", "force_generic_plan");
            out.setProperties(props);
        }
        return out;
    }

    /** The database's read connections: as configured (at least 1), or {@value #READ_CONNECTIONS_PER_LOOP} per event loop. */
    static int readConnections(String database, OptionalInt configured, int eventLoops) {
        if (configured.isPresent() && configured.getAsInt() < 1) {
            throw new IllegalStateException("Database '" + database + "': read-connections must be at least 1, or unset for "
                    + READ_CONNECTIONS_PER_LOOP + " per event loop (TURNOUT_DATABASES_" + database.toUpperCase() + "_READ_CONNECTIONS)");
        }
        return configured.orElse(READ_CONNECTIONS_PER_LOOP * Math.max(1, eventLoops));
    }

    private static int eventLoops(Vertx vertx) {
        int loops = 0;
        for (io.netty.util.concurrent.EventExecutor ignored : vertx.nettyEventLoopGroup()) loops++;
        return loops;
    }

    private static PoolOptions poolOptions(String name, int size, int waitQueue, Duration connectionWait) {
        return new PoolOptions().setName(name).setMaxSize(size).setMaxWaitQueueSize(waitQueue)
                .setConnectionTimeout((int) millis(connectionWait)).setConnectionTimeoutUnit(TimeUnit.MILLISECONDS);
    }

    /** Connection options carrying statement, lock and idle-in-transaction timeouts, keepalive and the notice level as startup parameters. */
    private static PgConnectOptions bounded(String name, PgConnectOptions base, Duration statement, Duration lock, TimeoutsConfig t) {
        PgConnectOptions options = new PgConnectOptions(base);
        Map<String, String> props = new HashMap<>(base.getProperties());
        props.put("TimeZone", "UTC");
        props.put("application_name", name);
        props.put("statement_timeout", Long.toString(millis(statement)));
        props.put("lock_timeout", Long.toString(millis(lock)));
        props.put("idle_in_transaction_session_timeout", Long.toString(millis(t.idleInTransaction())));
        // PostgreSQL's notices ("does not exist, skipping" from every chunk of a SQL-mapped copy) say
        // nothing to an operator and the client logs each as a warning; its warnings still reach the log
        props.put("client_min_messages", "warning");
        props.put("tcp_keepalives_idle", Long.toString(Math.max(1, t.keepaliveIdle().toSeconds())));
        props.put("tcp_keepalives_interval", "10");
        props.put("tcp_keepalives_count", "3");
        options.setProperties(props).setCachePreparedStatements(true).setPreparedStatementCacheSqlFilter(Databases::cached)
                .setPipeliningLimit(256)
                .setConnectTimeout((int) millis(t.connect())).setTcpKeepAlive(true);
        return options;
    }

    /**
     * Marks a statement PostgreSQL plans each time it runs, with its parameters, rather than once
     * for all runs: one whose best plan depends on how large a table has grown meanwhile (a
     * backfill chunk's copy of a key range). A cached statement gets a generic plan after a few
     * runs, and one made while a backfill's target was still empty scans the whole table, which a
     * later chunk then does for every range. Planning once per chunk costs well under a
     * millisecond.
     */
    public static final String PLANNED_EACH_TIME = "/* planned each time */ ";

    /** Statements kept prepared on each connection: all but those {@link #PLANNED_EACH_TIME}, and not overly long ones. */
    static boolean cached(String sql) {
        return sql.length() < 2048 && !sql.startsWith(PLANNED_EACH_TIME);
    }

    private static long millis(Duration d) {
        return Math.max(1, d.toMillis());
    }

    private static PgConnectOptions external(DatabaseConfig db) {
        PgConnectOptions options = PgConnectOptions.fromUri(db.url().orElseThrow());
        db.username().ifPresent(options::setUser);
        db.password().ifPresent(options::setPassword);
        return options;
    }

    private PgConnectOptions embeddedOptions(String name) {
        return new PgConnectOptions().setHost("localhost").setPort(embedded.port())
                .setDatabase(name).setUser("postgres");
    }

    private void createEmbeddedDatabase(String name) {
        try (var c = java.sql.DriverManager.getConnection(
                "jdbc:postgresql://localhost:" + embedded.port() + "/postgres", "postgres", "")) {
            try (var st = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
                st.setString(1, name);
                if (st.executeQuery().next()) return;
            }
            try (var st = c.createStatement()) {
                // name is validated against [a-z][a-z0-9_]* above
                st.execute("CREATE DATABASE \"" + name + "\"");
                LOG.infof("Created embedded database %s", name);
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("Could not create embedded database " + name + ": " + e.getMessage(), e);
        }
    }

    /** Runs a bundled SQL script (the demo schema), if there is one, as one simple-protocol batch, with text substitutions. */
    public static void run(Database db, String resource, Map<String, String> substitutions) {
        String sql;
        try (InputStream in = Databases.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) return;
            sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("Could not read " + resource, e);
        }
        for (Map.Entry<String, String> s : substitutions.entrySet()) {
            sql = sql.replace(s.getKey(), s.getValue());
        }
        try {
            db.work().query(sql).execute().toCompletionStage().toCompletableFuture()
                    .get(SETUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IllegalStateException("Setting up database '" + db.name() + "' with " + resource
                    + " failed: " + cause.getMessage(), cause);
        }
    }

    public Optional<Database> find(String name) {
        ready();
        return Optional.ofNullable(byName.get(name));
    }

    public Collection<Database> all() {
        ready();
        return byName.values();
    }

    /** The database holding Turnout's control tables. */
    public Database control() {
        ready();
        return control;
    }

    /**
     * A pool in the control database for Turnout's control records (Hibernate Reactive), with the
     * same connection settings and bounds as background work there.
     */
    public Pool controlRecordsPool(Vertx vertx, int size) {
        TimeoutsConfig t = timeouts;
        return pool("turnout-control", controlOptions, size, WORK_WAIT_QUEUE, t.workConnection(), t.workStatement(), t.workLock(),
                t, vertx);
    }

    /**
     * Options for a connection of its own to the control database, outside every pool (a session
     * lock it holds ends when it closes; notifications), bounded like background work.
     */
    public PgConnectOptions controlSession(String name) {
        ready();
        return bounded(name, controlOptions, timeouts.workStatement(), timeouts.workLock(), timeouts);
    }

    /** Port of the embedded server, when Turnout runs one. */
    public Optional<Integer> embeddedPort() {
        return embedded == null ? Optional.empty() : Optional.of(embedded.port());
    }

    @PreDestroy
    void close() {
        byName.values().forEach(d -> {
            d.pool().close();
            d.reads().close();
            d.compare().close();
            d.work().close();
        });
        if (embedded != null) {
            try {
                embedded.close();
            } catch (IOException e) {
                LOG.warn("Embedded PostgreSQL did not stop cleanly", e);
            }
        }
    }
}
