package io.turnout.control;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.turnout.db.Databases;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Sql;
import io.turnout.sync.Backfill;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Backfill and verification through the control API, on the 100,000-row demo tables, in both
 * topologies: connections (one database, copied inside PostgreSQL) and messages (two databases).
 */
@QuarkusTest
class BackfillVerificationTest {

    @Inject
    Databases databases;

    @Inject
    Backfill backfill;

    @Inject
    io.turnout.sync.Mirror mirror;

    @Inject
    io.turnout.domain.Domains domains;

    Sql sql;
    final List<Backfill.Worker> extraWorkers = new ArrayList<>();

    @BeforeEach
    void emptyNewStores() {
        sql = new Sql(databases);
        sql.exec("main", "TRUNCATE company_connections");
        sql.exec("messages", "TRUNCATE messages");
        sql.exec("main", "DELETE FROM turnout_outbox");
        sql.exec("messages", "DELETE FROM turnout_outbox");
    }

    @AfterEach
    void restore() {
        extraWorkers.forEach(Backfill.Worker::stop);
        backfill.workers().forEach(Backfill.Worker::start);
        Flags.stage("connections", Stage.LEGACY);
        Flags.stage("messages", Stage.LEGACY);
    }

    private static String newTable(String domain) {
        return domain.equals("connections") ? "company_connections" : "messages";
    }

    private static String newDb(String domain) {
        return domain.equals("connections") ? "main" : "messages";
    }

    private static String legacyTable(String domain) {
        return domain.equals("connections") ? "user_connections" : "direct_messages";
    }

    private static JsonPath startBackfill(String domain, String body) {
        Response r = given().contentType(ContentType.JSON).body(body).post("/admin/migrations/" + domain + "/backfill");
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(202);
        return r.jsonPath();
    }

    private static JsonPath awaitBackfillDone(String domain) {
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200)).until(() ->
                !List.of("running", "throttled").contains(given().get("/admin/migrations/" + domain + "/backfill").jsonPath().getString("state")));
        JsonPath run = given().get("/admin/migrations/" + domain + "/backfill").jsonPath();
        assertThat(run.getString("state")).as(run.prettify()).isEqualTo("done");
        return run;
    }

    private static JsonPath verify(String domain) {
        Response started = given().post("/admin/migrations/" + domain + "/verification");
        assertThat(started.statusCode()).isEqualTo(202);
        long id = started.jsonPath().getLong("run");
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200)).until(() ->
                !given().get("/admin/migrations/" + domain + "/verification/" + id).jsonPath().getString("state").equals("running"));
        JsonPath run = given().get("/admin/migrations/" + domain + "/verification/" + id).jsonPath();
        assertThat(run.getString("state")).isEqualTo("done");
        return run;
    }

    private void awaitOutboxEmpty() {
        await().atMost(Duration.ofSeconds(30)).until(() -> sql.count("main", "SELECT count(*) FROM turnout_outbox")
                + sql.count("messages", "SELECT count(*) FROM turnout_outbox") == 0);
    }

    private long legacyCount(String domain) {
        return sql.count("main", "SELECT count(*) FROM " + legacyTable(domain));
    }

    private long newCount(String domain) {
        return sql.count(newDb(domain), "SELECT count(*) FROM " + newTable(domain));
    }

    /**
     * Clients inserting, updating and deleting through the API until stopped; returns how many writes
     * succeeded. They change and delete only the demo records with keys above 50,000: other tests of
     * this JVM read records with low keys and expect them as the demo data holds them.
     */
    private static Future<Integer> clients(ExecutorService pool, String domain, AtomicBoolean stop, int threads, List<Future<Integer>> all) {
        for (int t = 0; t < threads; t++) {
            all.add(pool.submit(() -> {
                int ok = 0;
                while (!stop.get()) {
                    long key = 50_001 + ThreadLocalRandom.current().nextLong(50_000);
                    int choice = ThreadLocalRandom.current().nextInt(10);
                    Response r;
                    if (choice < 3) {
                        r = domain.equals("connections")
                                ? given().contentType(ContentType.JSON).body(Map.of("user_id", 5, "connected_user_id", 6)).post("/data/connections")
                                : given().contentType(ContentType.JSON).body(Map.of("sender_id", 5, "recipient_id", 6, "content", "new")).post("/data/messages");
                    } else if (choice < 8) {
                        r = domain.equals("connections")
                                ? given().contentType(ContentType.JSON).body(Map.of("status", "accepted")).patch("/data/connections/" + key)
                                : given().contentType(ContentType.JSON).body(Map.of("content", "edited " + choice, "is_read", true)).patch("/data/messages/" + key);
                    } else {
                        r = given().delete("/data/" + domain + "/" + key);
                    }
                    if (r.statusCode() < 300) ok++;
                }
                return ok;
            }));
        }
        return all.get(0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"connections", "messages"})
    void backfillWhileClientsWriteEndsWithZeroDifferences(String domain) throws Exception {
        Flags.stage(domain, Stage.DUAL_WRITE);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        AtomicBoolean stop = new AtomicBoolean();
        List<Future<Integer>> writers = new ArrayList<>();
        clients(pool, domain, stop, 4, writers);

        // capped at 40,000 rows/s so the copy takes a few seconds and the clients' writes overlap it
        JsonPath started = startBackfill(domain, "{\"direction\":\"forward\",\"chunkSize\":5000,\"rowsPerSecond\":40000}");
        assertThat(started.getLong("estimatedRows")).isGreaterThan(90_000);
        JsonPath done = awaitBackfillDone(domain);
        stop.set(true);
        int writes = 0;
        for (Future<Integer> w : writers) writes += w.get(1, TimeUnit.MINUTES);
        pool.shutdown();
        assertThat(writes).as("client writes during the backfill").isGreaterThan(20);
        assertThat(done.getLong("rowsCopied")).isGreaterThan(90_000);
        awaitOutboxEmpty();

        JsonPath verified = verify(domain);
        assertThat(verified.getInt("missing") + verified.getInt("extra") + verified.getInt("different")).as(verified.prettify()).isZero();
        assertThat(verified.getBoolean("clean")).isTrue();
        assertThat(verified.getLong("legacyRows")).isEqualTo(legacyCount(domain));
        assertThat(newCount(domain)).isEqualTo(legacyCount(domain));
        assertThat(io.turnout.support.Management.given().get("/q/metrics").asString())
                .contains("turnout_backfill_rows_copied{direction=\"forward\",domain=\"" + domain + "\"}");
    }

    /**
     * The stores are counted once before a run starts, for the audit, and the run's estimate is the
     * source's count among them: both are taken before any chunk is copied.
     */
    @Test
    void aBackfillsEstimateIsTheSourcesRowsTheAuditRecordsBeforeTheRun() {
        Flags.stage("connections", Stage.DUAL_WRITE);
        long legacy = legacyCount("connections");
        JsonPath started = startBackfill("connections", "{\"chunkSize\":10000}");
        long run = started.getLong("run");
        assertThat(started.getLong("estimatedRows")).isEqualTo(legacy);
        awaitBackfillDone("connections");
        Map<String, Object> before = sql.row("main", "SELECT (detail->'tablesBefore'->'legacy'->>'user_connections')::bigint AS legacy, "
                + "(detail->'tablesBefore'->'new'->>'company_connections')::bigint AS target, (detail->>'estimatedRows')::bigint AS estimate "
                + "FROM turnout_audit WHERE domain = 'connections' AND action = 'backfill-started' AND (detail->>'run')::bigint = $1", run);
        assertThat(before).containsEntry("legacy", legacy).containsEntry("target", 0L).containsEntry("estimate", legacy);
    }

    /**
     * A client write that holds a legacy row when a one-database copy of its range begins, and puts
     * the row into the new store as it commits. The range held no record of the new store, so the
     * copy inserts; its insert meets that row (a unique violation) and the range is merged instead,
     * so the copy neither fails nor overwrites the client's row with an older one.
     */
    @Test
    void aOneDatabaseCopyIntoAnEmptyRangeMeetingARowAClientWroteMeanwhileMergesTheRange() throws Exception {
        copyMeetingAClientWrite(false, "INSERT INTO \"company_connections\"");
    }

    /**
     * The same client write, while the new store already held a record of the range: the copy
     * merges at once; its merge, which planned an insert of that row, meets it (a unique violation:
     * MERGE does not re-check) and copies the range again with ON CONFLICT.
     */
    @Test
    void aOneDatabaseCopyMeetingARowAClientWroteMeanwhileCopiesItsRangeAgain() throws Exception {
        copyMeetingAClientWrite(true, "MERGE INTO \"company_connections\"");
    }

    private void copyMeetingAClientWrite(boolean rangeHeld, String waiting) throws Exception {
        Flags.stage("connections", Stage.DUAL_WRITE);
        io.turnout.domain.Domain connections = domains.find("connections").orElseThrow();
        if (rangeHeld) {
            sql.exec("main", "INSERT INTO company_connections (id, user_id, peer_user_id, status, connection_type, created_at) "
                    + "SELECT id, user_id, connected_user_id, 'stale', 'direct', created_at FROM user_connections WHERE id = 99");
        }
        io.vertx.sqlclient.SqlConnection client = databases.find("main").orElseThrow().pool().getConnection()
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try {
            // what a dual write of key 42 does, left uncommitted: the legacy row changed and locked, the new row put
            join(client.query("BEGIN").execute());
            join(client.query("UPDATE user_connections SET status = 'blocked' WHERE id = 42").execute());
            join(client.query("INSERT INTO company_connections (id, company_id, user_id, peer_user_id, status, connection_type, created_at) "
                    + "SELECT id, 7, user_id, connected_user_id, status, 'direct', created_at FROM user_connections WHERE id = 42").execute());

            var copy = backfill.copyRange(connections, io.turnout.sync.Direction.FORWARD, 40L, 100L).toCompletionStage().toCompletableFuture();
            // the copy waits for the client's row lock
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> sql.count("main",
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position('" + waiting.replace("'", "''")
                            + "' IN query) > 0") == 1);
            join(client.query("COMMIT").execute());

            assertThat(copy.get(30, TimeUnit.SECONDS)).as("rows copied").isEqualTo(60L);
        } finally {
            client.close();
        }
        assertThat(sql.count("main", "SELECT count(*) FROM company_connections WHERE id > 40 AND id <= 100")).isEqualTo(60);
        assertThat(sql.row("main", "SELECT status, company_id FROM company_connections WHERE id = 42"))
                .as("the client's committed write, and the column only the new store holds, are kept")
                .containsEntry("status", "blocked").containsEntry("company_id", 7L);
        assertThat(sql.count("main", "SELECT count(*) FROM user_connections l JOIN company_connections n ON n.id = l.id "
                + "WHERE l.id > 40 AND l.id <= 100 AND (l.user_id, l.connected_user_id, l.status, l.created_at) "
                + "IS NOT DISTINCT FROM (n.user_id, n.peer_user_id, n.status, n.created_at)")).as("rows equal to legacy").isEqualTo(60);
    }

    /**
     * A two-database copy takes the key lock of every record of a group before it reads them, the
     * lock a write of that record takes with it: while a write holds the lock of key 42, the copy
     * of (40, 100] waits for it, and then copies every record of the range as legacy holds it.
     */
    @Test
    void aTwoDatabaseCopyWaitsForTheKeyLockAWriteOfOneOfItsRecordsHolds() throws Exception {
        Flags.stage("messages", Stage.DUAL_WRITE);
        io.turnout.domain.Domain messages = domains.find("messages").orElseThrow();
        io.vertx.sqlclient.SqlConnection writer = messages.store(io.turnout.domain.Side.NEW).database().pool().getConnection()
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try {
            join(writer.query("BEGIN").execute());
            join(writer.preparedQuery("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text")
                    .execute(io.vertx.sqlclient.Tuple.of("messages:" + messages.keyText(42L))));

            var copy = backfill.copyRange(messages, io.turnout.sync.Direction.FORWARD, 40L, 100L).toCompletionStage().toCompletableFuture();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> sql.count("messages",
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' "
                            + "AND position('pg_advisory_xact_lock(h)' IN query) > 0") == 1);
            assertThat(copy).as("the copy waits while the key is locked").isNotDone();
            assertThat(sql.count("messages", "SELECT count(*) FROM messages")).isZero();
            join(writer.query("COMMIT").execute());

            assertThat(copy.get(30, TimeUnit.SECONDS)).as("rows copied").isEqualTo(60L);
        } finally {
            writer.close();
        }
        assertThat(sql.count("messages", "SELECT count(*) FROM messages WHERE id > 40 AND id <= 100")).isEqualTo(60);
        List<Map<String, Object>> legacy = sql.rows("main", "SELECT id, sender_id, receiver_id, body FROM direct_messages "
                + "WHERE id > 40 AND id <= 100 ORDER BY id");
        assertThat(sql.rows("messages", "SELECT id, sender_id, recipient_id AS receiver_id, content AS body FROM messages ORDER BY id"))
                .as("rows equal to legacy").isEqualTo(legacy);
    }

    /**
     * One-database copies of ranges the new store holds records of: one legacy no longer has (the
     * copy's inserts meet nothing there), and one older than legacy's. Each range ends equal to
     * legacy, the record legacy lacks deleted and the older one brought up to date, while a range
     * that held nothing is copied whole.
     */
    @Test
    void aOneDatabaseCopyOfARangeTheTargetHoldsMakesItEqualToTheSource() throws Exception {
        Flags.stage("connections", Stage.DUAL_WRITE);
        io.turnout.domain.Domain connections = domains.find("connections").orElseThrow();
        sql.exec("main", "INSERT INTO company_connections (id, user_id, peer_user_id, status, connection_type, created_at) "
                + "VALUES (260, 1, 2, 'accepted', 'direct', now())");
        sql.exec("main", "INSERT INTO company_connections (id, user_id, peer_user_id, status, connection_type, created_at) "
                + "SELECT id, user_id, connected_user_id, 'stale', 'direct', created_at FROM user_connections WHERE id = 350");
        // legacy's record 260 moved out of the range for the test
        sql.exec("main", "UPDATE user_connections SET id = -260 WHERE id = 260");
        try {
            assertThat(join(backfill.copyRange(connections, io.turnout.sync.Direction.FORWARD, 200L, 300L))).as("rows copied").isEqualTo(99L);
            assertThat(join(backfill.copyRange(connections, io.turnout.sync.Direction.FORWARD, 300L, 400L))).as("rows copied").isEqualTo(100L);
            assertThat(join(backfill.copyRange(connections, io.turnout.sync.Direction.FORWARD, 400L, 500L))).as("rows copied").isEqualTo(100L);
        } finally {
            sql.exec("main", "UPDATE user_connections SET id = 260 WHERE id = -260");
        }

        assertThat(sql.count("main", "SELECT count(*) FROM company_connections WHERE id = 260")).as("the record legacy lacked").isZero();
        assertThat(sql.count("main", "SELECT count(*) FROM company_connections WHERE status = 'stale'")).as("older records").isZero();
        assertThat(sql.count("main", "SELECT count(*) FROM company_connections WHERE id > 200 AND id <= 500")).isEqualTo(299);
        assertThat(sql.count("main", "SELECT count(*) FROM user_connections l JOIN company_connections n ON n.id = l.id "
                + "WHERE l.id > 200 AND l.id <= 500 AND (l.user_id, l.connected_user_id, l.status, l.created_at) "
                + "IS NOT DISTINCT FROM (n.user_id, n.peer_user_id, n.status, n.created_at)")).as("rows equal to legacy").isEqualTo(299);
    }

    /**
     * A backfill's copy between two databases inserts the records the target did not hold when their
     * range was listed. One the target came to hold meanwhile (a client write mirrored there) makes
     * that insert a unique violation: the group is copied again with upserts, so the copy neither
     * fails nor leaves the older row.
     */
    @Test
    void aTwoDatabaseCopyMeetingARowTheTargetCameToHoldCopiesItsGroupAgain() throws Exception {
        Flags.stage("messages", Stage.DUAL_WRITE);
        io.turnout.domain.Domain messages = domains.find("messages").orElseThrow();
        sql.exec("messages", "INSERT INTO messages (id, sender_id, recipient_id, content, created_at, updated_at) "
                + "VALUES (5, 1, 2, 'older', now(), now()), (250, 1, 2, 'older', now(), now())");
        List<Object> keys = java.util.stream.LongStream.rangeClosed(1, 450).boxed().map(k -> (Object) k).toList();

        // the range was listed before those two rows came: the copy takes the target to hold none
        int copied = join(mirror.copyAll(messages, keys, io.turnout.domain.Side.LEGACY, io.turnout.domain.Side.NEW, java.util.Set.of()));

        assertThat(copied).isEqualTo(450);
        assertThat(sql.count("messages", "SELECT count(*) FROM messages")).isEqualTo(450);
        assertThat(sql.count("messages", "SELECT count(*) FROM messages WHERE content = 'older'")).isZero();
        assertThat(sql.count("main", "SELECT count(*) FROM direct_messages WHERE id <= 450")).isEqualTo(450);
        List<Map<String, Object>> legacy = sql.rows("main", "SELECT id, body, sender_id, receiver_id, parent_message_id, created_at "
                + "FROM direct_messages WHERE id <= 450 ORDER BY id");
        List<Map<String, Object>> fresh = sql.rows("messages", "SELECT id, content AS body, sender_id, recipient_id AS receiver_id, "
                + "reply_to_id AS parent_message_id, created_at FROM messages ORDER BY id");
        assertThat(fresh).as("rows equal to legacy").isEqualTo(legacy);
    }

    /**
     * A backfill's copy between two databases commits each group without waiting for the disk, and
     * its commits are on disk when it returns. The WAL writer is held back for the test (a 10 s
     * delay, no flush by volume), and the copy's commit records are read from the WAL up to where
     * it is flushed: every one is there.
     */
    @Test
    void aTwoDatabaseCopyIsOnDiskWhenItReturns() throws Exception {
        Flags.stage("messages", Stage.DUAL_WRITE);
        io.turnout.domain.Domain messages = domains.find("messages").orElseThrow();
        List<Object> keys = java.util.stream.LongStream.rangeClosed(1, 400).boxed().map(k -> (Object) k).toList();
        sql.exec("messages", "CREATE EXTENSION IF NOT EXISTS pg_walinspect");
        sql.exec("messages", "ALTER SYSTEM SET wal_writer_delay = '10s'");
        sql.exec("messages", "ALTER SYSTEM SET wal_writer_flush_after = '1GB'");
        sql.exec("messages", "SELECT pg_reload_conf()");
        try {
            Object start = sql.row("messages", "SELECT pg_current_wal_insert_lsn()::text AS lsn").get("lsn");

            assertThat(join(mirror.copyAll(messages, keys, io.turnout.domain.Side.LEGACY, io.turnout.domain.Side.NEW, java.util.Set.of())))
                    .isEqualTo(400);

            // two groups of 200 keys, two transactions; the WAL can be read only as far as it is flushed
            assertThat(sql.count("messages", "SELECT count(DISTINCT xmin::text) FROM messages")).isEqualTo(2);
            assertThat(sql.row("messages", "SELECT pg_current_wal_flush_lsn() > $1::text::pg_lsn AS past", start))
                    .as("WAL flushed past where the copy began").containsEntry("past", true);
            assertThat(sql.count("messages", "SELECT count(*) FROM pg_get_wal_records_info($1::text::pg_lsn, pg_current_wal_insert_lsn()) w "
                    + "WHERE w.resource_manager = 'Transaction' AND w.record_type = 'COMMIT' "
                    + "AND w.xid::text IN (SELECT DISTINCT xmin::text FROM messages)", start))
                    .as("the copy's commits in the WAL on disk").isEqualTo(2);
        } finally {
            sql.exec("messages", "ALTER SYSTEM RESET wal_writer_delay");
            sql.exec("messages", "ALTER SYSTEM RESET wal_writer_flush_after");
            sql.exec("messages", "SELECT pg_reload_conf()");
            sql.exec("messages", "DROP EXTENSION pg_walinspect");
        }
    }

    /**
     * A verification run another replica took over (its heartbeat looked stale there) goes on there
     * only: the range this replica was comparing when it happened is not recorded, nor any after it.
     */
    @Test
    void aVerificationRunAnotherReplicaTookOverIsNoLongerRecordedHere() throws Exception {
        List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler log = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                said.add(String.valueOf(r.getMessage()));
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(io.turnout.sync.Verification.class.getName());
        logger.addHandler(log);
        // the run's first look at the legacy table waits for this lock; another replica takes the run
        // over meanwhile (its heartbeat ahead, so this replica does not take it back)
        long run = verifyWhileLocked("user_connections", "%user_connections%AS chunk ORDER BY o DESC LIMIT 1%", 1,
                id -> sql.exec("main", "UPDATE turnout_verification SET owner = 'replica-b', heartbeat = now() + interval '1 hour' WHERE id = " + id));
        try {
            String stopped = "verification run " + run + " was taken over by another replica";
            // until this replica says it stopped, or records the range after all
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                    .until(() -> said.stream().anyMatch(m -> m.contains(stopped))
                            || sql.count("main", "SELECT ranges FROM turnout_verification WHERE id = " + run) > 0);
            // the new store is empty: the range compared would have recorded 20,000 missing keys
            assertThat(sql.row("main", "SELECT state, owner, ranges, cursor_key, missing FROM turnout_verification WHERE id = " + run))
                    .containsEntry("state", "running").containsEntry("owner", "replica-b").containsEntry("ranges", 0)
                    .containsEntry("missing", 0).containsEntry("cursor_key", null);
            assertThat(sql.count("main", "SELECT count(*) FROM turnout_verification_diff WHERE run_id = " + run)).isZero();
        } finally {
            logger.removeHandler(log);
        }
        sql.exec("main", "DELETE FROM turnout_verification WHERE id = " + run);
    }

    /**
     * A verification run whose replica stopped (its heartbeat went stale) is taken over and goes on
     * from the last range it recorded: nothing before its cursor is compared again.
     */
    /** What a test does while the lock of {@link #verifyWhileLocked} is held, given the run. */
    @FunctionalInterface
    private interface WhileLocked {
        void run(long id) throws Exception;
    }

    /**
     * Starts a verification of connections while {@code table} (in main) is locked, waits until
     * {@code waiting} statements like {@code statement} wait for that lock (within the work
     * connections' 5 s lock bound), runs {@code meanwhile}, and lets the lock go; returns the run.
     */
    private long verifyWhileLocked(String table, String statement, int waiting, WhileLocked meanwhile) throws Exception {
        io.vertx.sqlclient.SqlConnection client = databases.find("main").orElseThrow().pool().getConnection()
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try {
            join(client.query("BEGIN").execute());
            join(client.query("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE").execute());
            Response started = given().post("/admin/migrations/connections/verification");
            assertThat(started.statusCode()).isEqualTo(202);
            long run = started.jsonPath().getLong("run");
            await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(20)).until(() -> sql.count("main",
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '" + statement.replace("'", "''") + "'")
                    == waiting);
            meanwhile.run(run);
            join(client.query("COMMIT").execute());
            return run;
        } finally {
            // a failure above leaves the lock held: it goes with the transaction, not back to the pool with it
            client.query("ROLLBACK").execute().eventually(() -> client.close()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A verification compares two ranges at a time: while the new store's side of the first range
     * waits (its table locked here), the legacy side goes on with the next range, whose new side
     * then waits too, and no third range starts before the first is recorded. Once the lock goes,
     * the run ends clean, every range recorded.
     */
    @Test
    void aVerificationComparesTheNextRangeWhileOneStoreIsStillOnARange() throws Exception {
        sql.exec("main", "INSERT INTO company_connections (id, user_id, peer_user_id, status, connection_type, created_at) "
                + "SELECT id, user_id, connected_user_id, status, 'direct', created_at FROM user_connections");
        long legacyRows = sql.count("main", "SELECT count(*) FROM user_connections");
        long run = verifyWhileLocked("company_connections", "%sum(hashtextextended(%FROM \"company_connections\"%", 2,
                id -> assertThat(sql.count("main", "SELECT ranges FROM turnout_verification WHERE id = " + id)).as("ranges recorded").isZero());
        await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(100)).until(() ->
                !given().get("/admin/migrations/connections/verification/" + run).jsonPath().getString("state").equals("running"));
        JsonPath done = given().get("/admin/migrations/connections/verification/" + run).jsonPath();
        assertThat(done.getString("state")).as(done.prettify()).isEqualTo("done");
        assertThat(done.getBoolean("clean")).as(done.prettify()).isTrue();
        assertThat(done.getLong("legacyRows")).isEqualTo(legacyRows);
        assertThat(done.getLong("newRows")).isEqualTo(legacyRows);
        assertThat(done.getInt("ranges")).as("ranges of 20,000 keys").isGreaterThanOrEqualTo(5);
    }

    @Test
    void aVerificationRunLeftByAStoppedReplicaGoesOnFromItsCursor() {
        // three ranges recorded (keys up to 60000; the new store is empty, so all of them missing), then the replica stopped
        long run = sql.count("main", "INSERT INTO turnout_verification (domain, state, owner, heartbeat, cursor_key, ranges, rows_legacy, missing) "
                + "VALUES ('connections', 'running', 'stopped-replica', now() - interval '1 minute', '60000', 3, 60000, 60000) RETURNING id");
        long after = sql.count("main", "SELECT count(*) FROM user_connections WHERE id > 60000");
        assertThat(after).isPositive();

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
                !sql.row("main", "SELECT state FROM turnout_verification WHERE id = " + run).get("state").equals("running"));
        Map<String, Object> done = sql.row("main", "SELECT state, owner, ranges, rows_legacy, rows_new, missing FROM turnout_verification WHERE id = " + run);
        assertThat(done).containsEntry("state", "done").containsEntry("rows_legacy", 60000 + after).containsEntry("rows_new", 0L)
                .containsEntry("missing", (int) (60000 + after));
        assertThat((String) done.get("owner")).isNotEqualTo("stopped-replica");
        assertThat((Integer) done.get("ranges")).isGreaterThan(3);
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_verification_diff WHERE run_id = " + run + " AND record_key::bigint <= 60000"))
                .as("keys before the cursor compared again").isZero();
        // 40,000 keys missing after the cursor; a run stores at most turnout.verification.max-stored-differences of them
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_verification_diff WHERE run_id = " + run)).isEqualTo(10_000);
    }

    private static <T> T join(io.vertx.core.Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /**
     * A new table analyzed while still empty has statistics that say so, and statements planned by
     * them scan it whole (the reference check of each copied reply among them); the backfill brings
     * the target's statistics up to date as it grows, from small samples, and analyzes the
     * finished table at the server's statistics target.
     */
    @Test
    void aBackfillKeepsTheTargetsStatisticsCurrentAsItGrows() throws Exception {
        // only the backfill analyzes the table during this test
        sql.exec("messages", "ALTER TABLE messages SET (autovacuum_enabled = off)");
        try {
            sql.exec("messages", "VACUUM ANALYZE messages");
            assertThat(sql.count("messages", "SELECT reltuples::bigint FROM pg_class WHERE oid = 'messages'::regclass")).isZero();
            java.time.OffsetDateTime before = (java.time.OffsetDateTime) sql.row("messages", "SELECT clock_timestamp() AS now").get("now");
            Flags.stage("messages", Stage.DUAL_WRITE);
            startBackfill("messages", "{\"chunkSize\":5000}");
            long copied = awaitBackfillDone("messages").getLong("rowsCopied");

            Map<String, Object> stats = sql.row("messages", "SELECT s.last_analyze, c.reltuples::bigint AS tuples FROM pg_stat_user_tables s "
                    + "JOIN pg_class c ON c.oid = s.relid WHERE s.relid = 'messages'::regclass");
            assertThat((java.time.OffsetDateTime) stats.get("last_analyze")).as("analyzed by the backfill").isAfter(before);
            // analyzed each time the rows copied doubled: the last time, at more than half of them
            assertThat(((Number) stats.get("tuples")).longValue()).isGreaterThan(copied / 2);
            // and once done, at the server's target (100): a histogram of the keys in 100 buckets, not the copy's 10
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(histogramBounds("messages", "messages", "id"))
                    .as("bounds of the key's histogram").isEqualTo(101));
            assertThat(sql.count("messages", "SELECT reltuples::bigint FROM pg_class WHERE oid = 'messages'::regclass")).isEqualTo(copied);

            // the analyses of a growing target sample 3,000 rows: 10 buckets
            io.turnout.store.Store target = domains.find("messages").orElseThrow().store(io.turnout.domain.Side.NEW);
            join(target.analyze(target.database().work(), 10));
            assertThat(histogramBounds("messages", "messages", "id")).isEqualTo(11);
        } finally {
            sql.exec("messages", "ALTER TABLE messages RESET (autovacuum_enabled)");
        }
    }

    private long histogramBounds(String db, String table, String column) {
        return sql.count(db, "SELECT coalesce(array_length(histogram_bounds::text::text[], 1), 0) FROM pg_stats "
                + "WHERE tablename = $1 AND attname = $2", table, column);
    }

    @Test
    void backfillStoppedAbruptlyResumesWithoutGapOrRepeat() {
        String domain = "messages";
        Flags.stage(domain, Stage.DUAL_WRITE);
        long source = legacyCount(domain);
        long run = startBackfill(domain, "{\"chunkSize\":1000,\"rowsPerSecond\":20000}").getLong("run");
        await().atMost(Duration.ofSeconds(30)).until(() ->
                sql.count("main", "SELECT count(*) FROM turnout_backfill_chunk WHERE run_id = $1 AND state = 'done'", run) >= 5);

        // every worker of this replica stops dead, mid-chunk or between chunks, releasing nothing
        backfill.workers().forEach(Backfill.Worker::stop);
        long doneAtCrash = sql.count("main", "SELECT count(*) FROM turnout_backfill_chunk WHERE run_id = $1 AND state = 'done'", run);
        assertThat(doneAtCrash).isLessThan(100);
        // and one more dies holding the lease of a chunk it never copied
        Integer abandoned = backfill.newWorker("doomed").leaseAndDie().toCompletionStage().toCompletableFuture().join();
        assertThat(abandoned).isNotNull();

        // a new process: fresh workers with new identities take over expired leases and go on from the checkpoint
        for (String owner : List.of("restarted-1", "restarted-2")) {
            Backfill.Worker w = backfill.newWorker(owner);
            extraWorkers.add(w);
            w.start();
        }
        JsonPath done = awaitBackfillDone(domain);
        assertThat(done.getLong("rowsCopied")).isEqualTo(source);

        List<Map<String, Object>> chunks = sql.rows("main", "SELECT chunk_no, after_key, up_to_key, state, rows_copied, done_by "
                + "FROM turnout_backfill_chunk WHERE run_id = $1 ORDER BY chunk_no", run);
        assertThat(chunks).allSatisfy(c -> assertThat(c.get("state")).isEqualTo("done"));
        for (int i = 1; i < chunks.size(); i++) {
            assertThat(chunks.get(i).get("after_key")).as("chunk %d starts where %d ended", i, i - 1).isEqualTo(chunks.get(i - 1).get("up_to_key"));
        }
        assertThat(chunks.stream().mapToLong(c -> ((Number) c.get("rows_copied")).longValue()).sum())
                .as("each row copied in exactly one checkpointed chunk").isEqualTo(source);
        assertThat(chunks.stream().map(c -> c.get("done_by")).filter(o -> ((String) o).startsWith("restarted")).count()).isPositive();
        assertThat(sql.row("main", "SELECT attempts, done_by FROM turnout_backfill_chunk WHERE run_id = $1 AND chunk_no = $2", run, abandoned))
                .as("the abandoned chunk was taken over once its lease expired")
                .containsEntry("attempts", 2).satisfies(c -> assertThat((String) c.get("done_by")).startsWith("restarted"));

        JsonPath verified = verify(domain);
        assertThat(verified.getBoolean("clean")).as(verified.prettify()).isTrue();
    }

    @Test
    void verificationReportsADirectChangeByKeyAndFieldAndRepairFixesIt() {
        String domain = "connections";
        Flags.stage(domain, Stage.DUAL_WRITE);
        startBackfill(domain, "{}");
        awaitBackfillDone(domain);
        assertThat(verify(domain).getBoolean("clean")).isTrue();

        sql.exec("main", "UPDATE company_connections SET status = 'tampered' WHERE id = 4242");
        JsonPath report = verify(domain);
        assertThat(report.getInt("different")).isEqualTo(1);
        assertThat(report.getInt("missing") + report.getInt("extra")).isZero();
        assertThat(report.getList("differences.key")).containsExactly("4242");
        assertThat(report.getList("differences[0].fields")).containsExactly("status");
        assertThat(report.getString("differences[0].kind")).isEqualTo("different");
        assertThat(report.prettify()).doesNotContain("tampered");

        Response repaired = given().post("/admin/migrations/" + domain + "/verification/" + report.getLong("run") + "/repair");
        assertThat(repaired.statusCode()).isEqualTo(200);
        assertThat(repaired.jsonPath().getInt("repairedKeys")).isEqualTo(1);
        assertThat(sql.row("main", "SELECT status FROM company_connections WHERE id = 4242"))
                .isEqualTo(sql.row("main", "SELECT status FROM user_connections WHERE id = 4242"));
        assertThat(verify(domain).getBoolean("clean")).isTrue();
    }

    @Test
    void twoWorkersCopyEveryChunkOnce() {
        String domain = "connections";
        Flags.stage(domain, Stage.DUAL_WRITE);
        backfill.workers().forEach(Backfill.Worker::stop);
        for (String owner : List.of("worker-a", "worker-b")) {
            Backfill.Worker w = backfill.newWorker(owner);
            extraWorkers.add(w);
            w.start();
        }
        long run = startBackfill(domain, "{\"chunkSize\":1000}").getLong("run");
        awaitBackfillDone(domain);
        List<Map<String, Object>> chunks = sql.rows("main",
                "SELECT chunk_no, rows_copied, done_by FROM turnout_backfill_chunk WHERE run_id = $1 ORDER BY chunk_no", run);
        assertThat(chunks).hasSizeGreaterThan(90);
        assertThat(chunks.stream().map(c -> c.get("done_by")).distinct()).containsExactlyInAnyOrder("worker-a", "worker-b");
        assertThat(chunks.stream().mapToLong(c -> ((Number) c.get("rows_copied")).longValue()).sum()).isEqualTo(legacyCount(domain));
        assertThat(newCount(domain)).isEqualTo(legacyCount(domain));
    }

    /**
     * A chunk the target refuses every time (here a trigger) is tried the configured number of
     * times with a growing pause, then the run fails, and its reason says why the last attempt did:
     * the failure is bounded and shown, not retried unseen.
     */
    @Test
    void aChunkTheTargetKeepsRefusingFailsTheRunNamingWhy() {
        Flags.stage("messages", Stage.DUAL_WRITE);
        sql.exec("messages", "CREATE FUNCTION refuse_copies() RETURNS trigger LANGUAGE plpgsql AS "
                + "$$ BEGIN RAISE EXCEPTION 'messages is closed for maintenance'; END $$");
        sql.exec("messages", "CREATE TRIGGER refuse_copies BEFORE INSERT ON messages FOR EACH STATEMENT EXECUTE FUNCTION refuse_copies()");
        try {
            startBackfill("messages", "{\"chunkSize\":5000}");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                    given().get("/admin/migrations/messages/backfill").jsonPath().getString("state").equals("failed"));
            JsonPath run = given().get("/admin/migrations/messages/backfill").jsonPath();
            assertThat(run.getString("reason")).as(run.prettify())
                    .matches("chunk \\d+ failed 5 times; the last time: .*messages is closed for maintenance.*");
            assertThat(run.getLong("rowsCopied")).isZero();
            assertThat(newCount("messages")).isZero();
            assertThat(sql.count("main", "SELECT max(attempts) FROM turnout_backfill_chunk WHERE run_id = $1", run.getLong("run")))
                    .isEqualTo(6);
            assertThat(io.turnout.support.Management.given().get("/q/metrics").asString())
                    .contains("turnout_backfill_active{direction=\"forward\",domain=\"messages\"} 0.0");
        } finally {
            sql.exec("messages", "DROP TRIGGER refuse_copies ON messages");
            sql.exec("messages", "DROP FUNCTION refuse_copies()");
        }
    }

    @Test
    void blockingPreflightCheckHoldsTheBackfillWithTheCount() {
        Flags.stage("connections", Stage.DUAL_WRITE);
        sql.exec("main", "INSERT INTO user_connections (user_id, connected_user_id, status) VALUES (1, 2, 'broken'), (3, 4, 'broken'), (5, 6, 'broken')");
        try {
            Response held = given().contentType(ContentType.JSON).body("{}").post("/admin/migrations/connections/backfill");
            assertThat(held.statusCode()).isEqualTo(409);
            assertThat(held.contentType()).startsWith("application/problem+json");
            assertThat(held.jsonPath().getString("detail")).contains("broken_status").contains("found 3 problem rows");
            JsonPath checks = given().get("/admin/migrations/connections/preflight").jsonPath();
            assertThat(checks.getInt("find { it.name == 'broken_status' }.problemRows")).isEqualTo(3);
            assertThat(checks.getBoolean("find { it.name == 'broken_status' }.holdsBackfill")).isTrue();
            assertThat(given().get("/admin/migrations/connections/backfill").jsonPath().getString("state")).isEqualTo("blocked");
            assertThat(newCount("connections")).isZero();
        } finally {
            sql.exec("main", "DELETE FROM user_connections WHERE status = 'broken'");
        }
        startBackfill("connections", "{}");
        awaitBackfillDone("connections");
    }

    @Test
    void badControlRequestsAreProblems() {
        Response r = given().contentType(ContentType.JSON).body("{\"direction\":\"sideways\"}").post("/admin/migrations/connections/backfill");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.jsonPath().getString("field")).isEqualTo("direction");
        r = given().contentType(ContentType.JSON).body("{\"chunkSize\":0}").post("/admin/migrations/connections/backfill");
        assertThat(r.jsonPath().getString("field")).isEqualTo("chunkSize");
        assertThat(given().get("/admin/migrations/nope").statusCode()).isEqualTo(404);
        assertThat(given().get("/admin/migrations").jsonPath().getList("domains.domain")).contains("connections", "messages");
    }
}
