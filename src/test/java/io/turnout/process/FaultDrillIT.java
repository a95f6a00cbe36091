package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.restassured.config.HttpClientConfig;
import io.restassured.config.RestAssuredConfig;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.turnout.support.TurnoutProcess;
import io.turnout.support.Writers;
import io.turnout.support.Writers.Answer;
import io.turnout.support.Writers.Column;
import io.turnout.support.Writers.Known;
import io.turnout.support.Writers.Target;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Fault drills against the packaged Turnout as a real process: writers record every acknowledged
 * write, a fault is injected (a database hung by a table lock, a pool overrun, Turnout killed with
 * keys in the outbox, a client that gives up on a create), the fault ends, and SQL checks that
 * every acknowledged write is in every store the stage says must hold it.
 */
class FaultDrillIT {
    /** turnout.timeouts.request, the documented bound on any data request. */
    private static final long REQUEST_BOUND_MILLIS = 10_000;
    /** How long a hung database stays hung: past the request bound, so no answer can wait it out. */
    private static final long FAULT_SECONDS = 15;
    private static final Column LEGACY_MESSAGES = new Column("main", "direct_messages", "id", "body");
    private static final Column NEW_MESSAGES = new Column("messages", "messages", "id", "content");

    private TurnoutProcess turnout;

    @AfterEach
    void stop() {
        if (turnout != null) turnout.close();
    }

    /**
     * dual_write, stores in two databases: the new one hangs for 15 s (its table locked), longer than the request bound. Every
     * write is answered, from the legacy store, well within the bound; once the lock goes the relay
     * brings the new store up to date without a restart.
     */
    @Test
    void hungNewDatabaseAtDualWriteNeverHoldsAWrite() throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-hung-dual"), TurnoutProcess.flagsAt("dual_write"),
                Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000")).start();
        Writers writers = Writers.start(Target.messages(), 8, 30_000);
        await().atMost(Duration.ofMinutes(1)).until(() -> writers.acknowledged() >= 100);

        long lockedAt;
        long ackAtLock;
        try (Connection lock = lock("messages", "messages", "ACCESS EXCLUSIVE")) {
            lockedAt = System.nanoTime();
            ackAtLock = writers.acknowledged();
            // the fault outlasts the request bound, and writes keep being acknowledged through it
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() ->
                    System.nanoTime() - lockedAt >= TimeUnit.SECONDS.toNanos(FAULT_SECONDS) && writers.acknowledged() >= ackAtLock + 300);
            assertThat(turnout.count("SELECT count(*) FROM turnout_outbox")).as("keys waiting for the hung store").isPositive();
            lock.rollback();
        }
        long ackAtRelease = writers.acknowledged();
        await().atMost(Duration.ofMinutes(1)).until(() -> writers.acknowledged() >= ackAtRelease + 100);
        Map<Long, Known> known = writers.stop();

        List<Answer> answers = writers.answers();
        assertThat(answers).as("every write answered with success").allMatch(a -> a.status() < 300);
        assertThat(answers.stream().mapToLong(Answer::millis).max().orElseThrow()).as("slowest answer, ms").isLessThan(REQUEST_BOUND_MILLIS);
        System.out.printf("hung new database at dual_write: %d answers, slowest %d ms%n", answers.size(),
                answers.stream().mapToLong(Answer::millis).max().orElseThrow());

        awaitOutboxEmpty();
        assertStoresHold(known, List.of(LEGACY_MESSAGES, NEW_MESSAGES));
        assertThat(metric("turnout_outbox_parked", "messages")).isZero();
    }

    /**
     * live, new store first: its database hangs for 15 s, longer than the request bound. Writes answer 503 with Retry-After within
     * the bound, none half-applied; after the lock goes, writes succeed again without a restart.
     */
    @Test
    void hungNewDatabaseAtLiveAnswers503WithinTheBound() throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-hung-live"), TurnoutProcess.flagsAt("legacy"),
                Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000", "TURNOUT_DOMAINS_MESSAGES_GATES_MIN_SHADOW_COMPARISONS", "0")).start();
        turnout.walkTo("messages", "live");
        Writers writers = Writers.start(Target.messages(), 8, 30_000);
        await().atMost(Duration.ofMinutes(1)).until(() -> writers.acknowledged() >= 100);

        try (Connection lock = lock("messages", "messages", "ACCESS EXCLUSIVE")) {
            long lockedAt = System.nanoTime();
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() ->
                    System.nanoTime() - lockedAt >= TimeUnit.SECONDS.toNanos(FAULT_SECONDS) && writers.refusedCreates().size() >= 20);
            lock.rollback();
        }
        long ackAtRelease = writers.acknowledged();
        await().atMost(Duration.ofMinutes(1)).until(() -> writers.acknowledged() >= ackAtRelease + 100);
        Map<Long, Known> known = writers.stop();

        List<Answer> answers = writers.answers();
        assertThat(answers).as("success, or 503 with Retry-After").allMatch(a -> a.status() < 300 || (a.status() == 503 && a.retryAfter() != null));
        assertThat(answers.stream().mapToLong(Answer::millis).max().orElseThrow()).as("slowest answer, ms").isLessThan(REQUEST_BOUND_MILLIS);
        System.out.printf("hung new database at live: %d answers, %d refused with 503, slowest %d ms%n", answers.size(),
                answers.stream().filter(a -> a.status() == 503).count(), answers.stream().mapToLong(Answer::millis).max().orElseThrow());

        awaitOutboxEmpty();
        assertStoresHold(known, List.of(NEW_MESSAGES, LEGACY_MESSAGES));
        // a create refused with 503 is in no store
        for (Column store : List.of(NEW_MESSAGES, LEGACY_MESSAGES)) {
            try (Connection c = turnout.connect(store.database());
                    PreparedStatement st = c.prepareStatement("SELECT count(*) FROM " + store.table() + " WHERE " + store.value() + " = ANY(?)")) {
                Array values = c.createArrayOf("text", writers.refusedCreates().toArray());
                st.setArray(1, values);
                try (ResultSet r = st.executeQuery()) {
                    r.next();
                    assertThat(r.getLong(1)).as("refused creates found in " + store.table()).isZero();
                }
            }
        }
    }

    /**
     * Far more concurrent requests than connections while every query waits on a lock: each waits
     * a bounded time and gets a 503 with Retry-After, memory stays bounded, and once the lock goes
     * the same requests succeed.
     */
    @Test
    void poolOverrunAnswers503AndRecovers() throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-pool"), TurnoutProcess.flagsAt("legacy"),
                Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000", "TURNOUT_DATABASES_MAIN_POOL_SIZE", "2",
                        "TURNOUT_TIMEOUTS_DATA_WAIT_QUEUE", "8")).start();
        long rssBefore = turnout.rssMiB();
        List<Answer> answers = new ArrayList<>();
        try (Connection lock = lock("main", "user_connections", "ACCESS EXCLUSIVE")) {
            answers.addAll(burst(32, 3));
            lock.rollback();
        }
        long rssAfter = turnout.rssMiB();
        System.out.printf("pool overrun: %d requests, %d answered 503, slowest %d ms, RSS %d MiB before, %d MiB after%n",
                answers.size(), answers.stream().filter(a -> a.status() == 503).count(),
                answers.stream().mapToLong(Answer::millis).max().orElseThrow(), rssBefore, rssAfter);
        assertThat(answers).as("503 with Retry-After while the table is locked").allMatch(a -> a.status() == 503 && a.retryAfter() != null);
        assertThat(answers.stream().mapToLong(Answer::millis).max().orElseThrow()).as("slowest answer, ms").isLessThan(REQUEST_BOUND_MILLIS);
        assertThat(rssAfter).as("resident memory, MiB").isLessThan(1024);
        assertThat(burst(8, 5)).as("after the lock").allMatch(a -> a.status() == 200);
    }

    /** {@code threads} clients each reading {@code each} times at once. */
    private static List<Answer> burst(int threads, int each) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<List<Answer>>> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            all.add(pool.submit(() -> {
                List<Answer> mine = new ArrayList<>();
                for (int i = 0; i < each; i++) {
                    long start = System.nanoTime();
                    Response r = given().get("/data/connections/" + (1 + i));
                    mine.add(new Answer(r.statusCode(), (System.nanoTime() - start) / 1_000_000, r.header("Retry-After")));
                }
                return mine;
            }));
        }
        List<Answer> answers = new ArrayList<>();
        for (Future<List<Answer>> f : all) answers.addAll(f.get(2, TimeUnit.MINUTES));
        pool.shutdown();
        return answers;
    }

    /**
     * Turnout killed with SIGKILL while keys pile up in the cross-database outbox (the new table
     * locked): after the restart the relay drains them and both stores hold every acknowledged write.
     */
    @Test
    void killedWithKeysInTheOutboxLosesNone() throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-killed-outbox"), TurnoutProcess.flagsAt("dual_write"),
                Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000")).start();
        Writers writers = Writers.start(Target.messages(), 8, 30_000);
        Map<Long, Known> known;
        try (Connection lock = lock("messages", "messages", "ACCESS EXCLUSIVE")) {
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100))
                    .until(() -> turnout.count("SELECT count(*) FROM turnout_outbox") >= 300);
            turnout.kill();
            known = writers.stop();
            lock.rollback();
        }
        assertThat(known).hasSizeGreaterThanOrEqualTo(100);
        turnout.start();
        awaitOutboxEmpty();
        assertStoresHold(known, List.of(LEGACY_MESSAGES, NEW_MESSAGES));
    }

    /**
     * A client gives up on a create (its timeout is shorter than the wait for a lock) and retries
     * with the same Idempotency-Key: one row, and the retry gets the first answer.
     */
    @Test
    void retriedCreateWithAnIdempotencyKeyMakesOneRow() throws Exception {
        turnout = TurnoutProcess.in(Path.of("target/it-idempotency"), TurnoutProcess.flagsAt("legacy"),
                Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000")).start();
        Map<String, Object> body = Map.of("user_id", 8_100_000, "connected_user_id", 1, "status", "retried");
        RestAssuredConfig impatient = RestAssuredConfig.config().httpClient(HttpClientConfig.httpClientConfig()
                .setParam("http.socket.timeout", 300));
        try (Connection lock = lock("main", "user_connections", "SHARE")) {
            org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> given().config(impatient).contentType(ContentType.JSON)
                    .header("Idempotency-Key", "drill-1").body(body).post("/data/connections"));
            lock.rollback();
        }
        // the create the client gave up on commits once the lock goes
        await().atMost(Duration.ofSeconds(10)).until(() -> turnout.count("SELECT count(*) FROM user_connections WHERE status = 'retried'") == 1);

        Response retry = given().contentType(ContentType.JSON).header("Idempotency-Key", "drill-1").body(body).post("/data/connections");
        assertThat(retry.statusCode()).isEqualTo(201);
        assertThat(retry.header("Idempotent-Replayed")).isEqualTo("true");
        long id = turnout.count("SELECT id FROM user_connections WHERE status = 'retried'");
        assertThat(retry.jsonPath().getLong("id")).isEqualTo(id);
        assertThat(retry.header("Location")).endsWith("/data/connections/" + id);
        assertThat(turnout.count("SELECT count(*) FROM user_connections WHERE status = 'retried'")).isEqualTo(1);
    }

    /** A transaction holding a table lock, as a hung or busy database looks to Turnout; rolled back to release it. */
    private Connection lock(String database, String table, String mode) throws Exception {
        Connection c = turnout.connect(database);
        c.setAutoCommit(false);
        c.createStatement().execute("LOCK TABLE " + table + " IN " + mode + " MODE");
        return c;
    }

    private void awaitOutboxEmpty() {
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() ->
                turnout.count("SELECT count(*) FROM turnout_outbox") == 0
                        && ((Number) turnout.query("messages", "SELECT count(*) FROM turnout_outbox")).longValue() == 0);
    }

    private void assertStoresHold(Map<Long, Known> known, List<Column> stores) throws Exception {
        for (Column store : stores) {
            try (Connection c = turnout.connect(store.database())) {
                assertThat(Writers.lost(c, store, known)).as("acknowledged writes lost in " + store.table()).isEmpty();
            }
        }
    }

    private static double metric(String name, String domain) {
        String prefix = name + "{domain=\"" + domain + "\"";
        return io.turnout.support.Management.given().get("/q/metrics").asString().lines().filter(l -> l.startsWith(prefix))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
