package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.turnout.support.Ports;
import io.turnout.support.TurnoutProcess;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two real Turnout replicas on one control database (B pointed at A's embedded PostgreSQL, both
 * reading one flag file): writers on both replicas patch and delete the same keys while the domain
 * switches {@code shadow -> live -> shadow} again and again. The databases' fences refuse a write
 * routed by a stage the fleet has left, so no acknowledged update is lost, no delete comes back,
 * and the stores end equal.
 */
class FleetIT {
    private static final int REPS = Integer.getInteger("fleet.reps", 8);
    /** Replicas in the fleet of the writers test; replicas beyond the first two route and serve but do not write (bench/fleet runs 3). */
    private static final int REPLICAS = Integer.getInteger("fleet.replicas", 2);
    private static final Map<String, String> ENV = Map.of("TURNOUT_EMBEDDED_DEMO_ROWS", "1000",
            "TURNOUT_DOMAINS_CONNECTIONS_GATES_MIN_SHADOW_COMPARISONS", "0", "TURNOUT_DOMAINS_MESSAGES_GATES_MIN_SHADOW_COMPARISONS", "0",
            "TURNOUT_FLEET_STALE_AFTER", "3s", "TURNOUT_STAGES_FENCE_RETRY", "1s", "TURNOUT_STAGES_FENCE_TIMEOUT", "3s");

    /** What each replica's writers set, per domain: the API field, and the column holding it in legacy and in new. */
    private record Fields(String field, String legacyColumn, String newColumn, boolean text) {}

    private static final Map<String, List<Fields>> FIELDS = Map.of(
            "messages", List.of(new Fields("file_url", "attachment_url", "file_url", true), new Fields("file_name", "attachment_name", "file_name", true)),
            "connections", List.of(new Fields("status", "status", "status", true),
                    new Fields("connected_user_id", "connected_user_id", "peer_user_id", false)));
    private static final Map<String, String[]> TABLES = Map.of("messages", new String[] {"main", "direct_messages", "messages", "messages"},
            "connections", new String[] {"main", "user_connections", "main", "company_connections"});

    private TurnoutProcess a;
    private TurnoutProcess b;
    private final List<TurnoutProcess> more = new ArrayList<>();

    @AfterEach
    void stop() {
        more.forEach(TurnoutProcess::close);
        if (b != null) b.close();
        if (a != null) a.close();
    }

    private void startFleet(String name) throws Exception {
        startFleet(name, Map.of());
    }

    private void startFleet(String name, Map<String, String> extra) throws Exception {
        Map<String, String> env = new HashMap<>(ENV);
        env.putAll(extra);
        a = TurnoutProcess.in(Path.of("target/it-fleet-" + name + "-a"), TurnoutProcess.flagsAt("legacy"), env).start();
        b = second(name, a, env);
        RestAssured.port = a.port();
    }

    /** Replicas beyond A and B, in A's fleet. */
    private void startMore(String name, int count) throws Exception {
        for (int i = 0; i < count; i++) more.add(second(name + "-" + (char) ('c' + i), a, ENV));
        RestAssured.port = a.port();
    }

    /** A replica of A's fleet: its databases are A's, and it reads A's flag file. */
    private static TurnoutProcess second(String name, TurnoutProcess a, Map<String, String> env) throws Exception {
        return replicaOf(name, a, env).start();
    }

    /** A replica of A's fleet, not started yet. */
    private static TurnoutProcess replicaOf(String name, TurnoutProcess a, Map<String, String> env) throws Exception {
        return TurnoutProcess.in(Path.of("target/it-fleet-" + name + (name.contains("-") ? "" : "-b")), "{}", env)
                .with("TURNOUT_DATABASES_MAIN_URL", "postgresql://postgres@localhost:" + a.pgPort() + "/main")
                .with("TURNOUT_DATABASES_MESSAGES_URL", "postgresql://postgres@localhost:" + a.pgPort() + "/messages")
                .with("TURNOUT_FLAGS_FILE", a.flagFile().toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"connections", "messages"})
    void writersOnBothReplicasLoseNothingAcrossRepeatedSwitches(String domain) throws Exception {
        startFleet(domain);
        startMore(domain, REPLICAS - 2);
        a.walkTo(domain, "live");
        TurnoutProcess.requestStage(domain, "shadow", "fleet test: start at shadow");
        awaitBoth(domain, "shadow");

        List<Fields> fields = FIELDS.get(domain);
        List<Integer> patched = range(1, 120);
        List<Integer> deleted = range(121, 150);
        Map<Integer, String> lastA = new ConcurrentHashMap<>();
        Map<Integer, String> lastB = new ConcurrentHashMap<>();
        Map<Integer, Boolean> gone = new ConcurrentHashMap<>();
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean running = new AtomicBoolean(true);
        java.util.Queue<Double> latencies = new java.util.concurrent.ConcurrentLinkedQueue<>();
        List<CompletableFuture<Void>> writers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            int slice = w;
            writers.add(CompletableFuture.runAsync(() -> write(a, domain, fields.get(0), slice, patched, deleted, lastA, gone, failures, running,
                    false, latencies)));
            writers.add(CompletableFuture.runAsync(() -> write(b, domain, fields.get(1), slice, patched, deleted, lastB, gone, failures, running,
                    true, latencies)));
        }

        List<Long> propagation = new ArrayList<>();
        for (int rep = 0; rep < REPS; rep++) {
            for (String target : List.of("live", "shadow")) {
                TurnoutProcess.requestStage(domain, target, "fleet test round " + rep);
                propagation.add(awaitBoth(domain, target));
            }
        }
        running.set(false);
        CompletableFuture.allOf(writers.toArray(new CompletableFuture[0])).join();

        Collections.sort(propagation);
        List<Double> fences = new ArrayList<>();
        try (Connection c = a.connect("main"); ResultSet r = c.createStatement().executeQuery("SELECT (detail->>'seconds')::float8 * 1000 "
                + "FROM turnout_audit WHERE domain = '" + domain + "' AND action = 'fence' AND reason = 'switched' ORDER BY 1")) {
            while (r.next()) fences.add(r.getDouble(1));
        }
        List<Double> writes = new ArrayList<>(latencies);
        Collections.sort(writes);
        double fenceP99 = fences.get(Math.min(fences.size() - 1, fences.size() * 99 / 100));
        double writeP99 = writes.get(Math.min(writes.size() - 1, writes.size() * 99 / 100));
        System.out.printf("fleet %s: %d replicas, %d switches with writers on 2; stage reached every replica within p50 %d ms, "
                + "p99 %d ms of the first; fence p50 %.1f ms, p99 %.1f ms (%d fences); write latency in the same run p50 %.1f ms, "
                + "p99 %.1f ms (%d writes); fence p99 / write p99 = %.2f; %d writes refused by a fence and run again%n",
                domain, 2 + more.size(), propagation.size(), propagation.get(propagation.size() / 2),
                propagation.get(Math.min(propagation.size() - 1, propagation.size() * 99 / 100)), fences.get(fences.size() / 2), fenceP99,
                fences.size(), writes.get(writes.size() / 2), writeP99, writes.size(), fenceP99 / writeP99,
                refused(a, domain) + refused(b, domain));
        assertThat(failures).as("requests that failed").isEmpty();
        assertThat(lastA).isNotEmpty();
        assertThat(lastB).isNotEmpty();

        await().atMost(Duration.ofSeconds(30)).until(() -> a.count("SELECT count(*) FROM turnout_outbox") == 0
                && ((Number) a.query("messages", "SELECT count(*) FROM turnout_outbox")).longValue() == 0);
        String[] t = TABLES.get(domain);
        for (int key : patched) {
            for (int side = 0; side < 2; side++) {
                String db = t[side * 2];
                String table = t[side * 2 + 1];
                Map<String, Object> row = row(a, db, table, key, fields, side == 0);
                assertThat(row).as(table + " key " + key).isNotNull();
                if (lastA.containsKey(key)) assertThat(row.get(fields.get(0).field())).as(table + " " + key).isEqualTo(lastA.get(key));
                if (lastB.containsKey(key)) assertThat(row.get(fields.get(1).field())).as(table + " " + key).isEqualTo(lastB.get(key));
            }
        }
        for (int key : gone.keySet()) {
            assertThat(row(a, t[0], t[1], key, fields, true)).as("deleted key " + key + " in legacy").isNull();
            assertThat(row(a, t[2], t[3], key, fields, false)).as("deleted key " + key + " in new").isNull();
        }
        assertThat(gone).isNotEmpty();
        assertThat(propagation.get(propagation.size() - 1)).as("slowest propagation, ms").isLessThan(1000);
        // both databases' fences name the recorded stage
        assertThat(a.query("main", "SELECT stage FROM turnout_fence WHERE domain = '" + domain + "'")).isEqualTo("shadow");
        assertThat(a.query("messages", "SELECT coalesce((SELECT stage FROM turnout_fence WHERE domain = '" + domain + "'), 'shadow')"))
                .isEqualTo("shadow");
    }

    /**
     * A write held inside its statement (its row locked by another session) when the switch begins:
     * the switch waits for it, so it commits before the switch and reaches the new store; held past
     * the fence timeout, the switch aborts and the stage stays, and the write still lands. It never
     * commits to the old authority after the switch. (Writes here may wait 20 s for a row lock, so
     * the fence gives up first; with the default 2 s the held write fails on its own, having written nothing.)
     */
    @Test
    void aWriteInFlightWhenTheSwitchBeginsCommitsBeforeItOrTheSwitchAborts() throws Exception {
        startFleet("inflight", Map.of("TURNOUT_TIMEOUTS_DATA_LOCK", "20s", "TURNOUT_TIMEOUTS_DATA_STATEMENT", "20s",
                "TURNOUT_TIMEOUTS_REQUEST", "30s"));
        a.walkTo("messages", "live");
        TurnoutProcess.requestStage("messages", "shadow", "in-flight test: start at shadow");
        awaitBoth("messages", "shadow");

        for (boolean holdPastTimeout : List.of(false, true)) {
            int key = holdPastTimeout ? 12 : 11;
            String aborts = "SELECT count(*) FROM turnout_audit WHERE domain = 'messages' AND action = 'fence' AND reason = 'aborted'";
            long abortsBefore = a.count(aborts);
            String value = "in-flight-" + holdPastTimeout;
            try (Connection c = a.connect("main")) {
                c.setAutoCommit(false);
                c.createStatement().execute("SELECT 1 FROM direct_messages WHERE id = " + key + " FOR UPDATE");
                CompletableFuture<Response> write = CompletableFuture.supplyAsync(() -> given().port(b.port()).contentType(ContentType.JSON)
                        .body(Map.of("file_url", value)).patch("/data/messages/" + key));
                // the write has entered the fence and waits for the row
                await().atMost(Duration.ofSeconds(10)).until(() -> waiting(a, "transactionid") > 0);
                TurnoutProcess.requestStage("messages", "live", "in-flight test");
                awaitSwitchWaitingFor(b);
                if (holdPastTimeout) {
                    await().atMost(Duration.ofSeconds(15)).until(() -> a.count(aborts) > abortsBefore);
                    assertThat(TurnoutProcess.applied("messages")).isEqualTo("shadow");
                }
                c.commit();
                Response answer = write.join();
                assertThat(answer.statusCode()).isEqualTo(200);
                assertThat(answer.header("X-Turnout-Origin")).isEqualTo("legacy");
            }
            awaitBoth("messages", "live");
            await().atMost(Duration.ofSeconds(10)).until(() -> value.equals(a.query("messages",
                    "SELECT file_url FROM messages WHERE id = " + key)));
            assertThat(a.query("main", "SELECT attachment_url FROM direct_messages WHERE id = " + key)).isEqualTo(value);
            TurnoutProcess.requestStage("messages", "shadow", "in-flight test: back");
            awaitBoth("messages", "shadow");
        }
    }

    /**
     * A killed replica turns stale and stops holding steps back; the coordinator killed while its
     * switch waits leaves the stage and every fence consistent, and the survivor takes the step.
     */
    @Test
    void aKilledReplicaTurnsStaleAndAKilledCoordinatorLeavesTheFleetConsistent() throws Exception {
        startFleet("kill");
        a.walkTo("connections", "live");
        TurnoutProcess.requestStage("connections", "shadow", "kill test: start at shadow");
        awaitBoth("connections", "shadow");

        try (Connection c = a.connect("main")) {
            c.setAutoCommit(false);
            c.createStatement().execute("SELECT 1 FROM user_connections WHERE id = 7 FOR UPDATE");
            CompletableFuture<Response> write = CompletableFuture.supplyAsync(() -> given().port(a.port()).contentType(ContentType.JSON)
                    .body(Map.of("status", "held")).patch("/data/connections/7"));
            await().atMost(Duration.ofSeconds(10)).until(() -> waiting(a, "transactionid") > 0);
            TurnoutProcess.requestStage("connections", "live", "kill test");
            String coordinator = awaitSwitchWaitingFor(a);
            boolean aCoordinates = coordinator.equals(self(a));
            TurnoutProcess victim = aCoordinates ? a : b;
            TurnoutProcess survivor = aCoordinates ? b : a;
            victim.kill();
            c.commit();
            if (!aCoordinates) assertThat(write.join().statusCode()).isEqualTo(200);
            RestAssured.port = survivor.port();
            await().atMost(Duration.ofSeconds(15)).until(() -> given().get("/admin/replicas").jsonPath()
                    .getList("replicas.findAll { it.state == 'stale' }.id").contains(aCoordinates ? self(a, survivor) : coordinator));
            // the survivor no longer waits for the dead replica and takes the step itself
            TurnoutProcess.awaitApplied("connections", "live");
            // the database lives in A's embedded server, which outlives A's process
            assertThat(a.query("main", "SELECT stage FROM turnout_fence WHERE domain = 'connections'")).isEqualTo("live");
            given().contentType(ContentType.JSON).body(Map.of("status", "after")).patch("/data/connections/7").then().statusCode(200);
            assertThat(a.query("main", "SELECT status FROM company_connections WHERE id = 7")).isEqualTo("after");
            assertThat(a.query("main", "SELECT status FROM user_connections WHERE id = 7")).isEqualTo("after");
            // the survivor's management port: the one the suite points at may be the killed replica's
            String metrics = given().port(survivor.managementPort()).get("/q/metrics").asString();
            assertThat(metrics).contains("turnout_replicas{state=\"stale\"} 1.0");
        }
    }

    /** A replica that cannot reach the control database at start never serves a write. */
    @Test
    void aReplicaStartedWithoutItsControlDatabaseDoesNotServe() throws Exception {
        int nothing = Ports.free();
        TurnoutProcess c = TurnoutProcess.in(Path.of("target/it-fleet-unreachable"), TurnoutProcess.flagsAt("legacy"), ENV)
                .with("TURNOUT_DATABASES_MAIN_URL", "postgresql://postgres@localhost:" + nothing + "/main")
                .with("TURNOUT_DATABASES_MESSAGES_URL", "postgresql://postgres@localhost:" + nothing + "/messages");
        try {
            assertThatThrownBy(c::start).hasMessageContaining("Turnout exited");
            assertThat(c.log()).contains("Versioning Turnout's tables").contains("refused");
        } finally {
            c.close();
        }
    }

    /**
     * A replica whose control tables are still being brought up to date (another session holds
     * their history locked, as a replica migrating them does) is not ready, serves nothing and
     * records nothing in the control tables; once the lock goes, it finishes starting and serves.
     */
    @Test
    void aReplicaServesNothingUntilItsTablesAreUpToDate() throws Exception {
        a = TurnoutProcess.in(Path.of("target/it-fleet-setup-a"), TurnoutProcess.flagsAt("legacy"), ENV).start();
        b = replicaOf("setup", a, ENV);
        long replicas = a.count("SELECT count(*) FROM turnout_replica");
        long audit = a.count("SELECT count(*) FROM turnout_audit");
        CompletableFuture<Void> starting;
        Object released;
        try (Connection lock = a.connect("main")) {
            lock.setAutoCommit(false);
            try (Statement st = lock.createStatement()) {
                st.execute("LOCK TABLE turnout_control_schema_history IN ACCESS EXCLUSIVE MODE");
            }
            TurnoutProcess replica = b;
            starting = CompletableFuture.runAsync(() -> {
                try {
                    replica.start();
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            });
            // its migration of the control tables waits on the lock, and its start-up on the migration
            await().atMost(Duration.ofMinutes(1)).until(() -> a.count("SELECT count(*) FROM pg_stat_activity "
                    + "WHERE application_name = 'turnout-schema' AND wait_event_type = 'Lock'") == 1);
            await().atMost(Duration.ofMinutes(1)).until(() -> b.log().contains("Start-up waits for Turnout's tables"));
            assertThat(b.alive()).isTrue();
            assertThat(starting).isNotDone();
            assertThat(status(b.managementPort(), "/q/health/ready")).isNotEqualTo(200);
            assertThat(status(b.port(), "/data/connections/1")).isNotEqualTo(200);
            assertThat(a.count("SELECT count(*) FROM turnout_replica")).isEqualTo(replicas);
            assertThat(a.count("SELECT count(*) FROM turnout_audit")).isEqualTo(audit);
            released = a.query("main", "SELECT clock_timestamp()::text");
            lock.rollback();
        }
        starting.get(2, TimeUnit.MINUTES);
        assertThat(status(b.managementPort(), "/q/health/ready")).isEqualTo(200);
        assertThat(given().port(b.port()).get("/data/connections/1").then().statusCode(200)
                .extract().jsonPath().getInt("id")).isEqualTo(1);
        assertThat(a.count("SELECT count(*) FROM turnout_replica")).isEqualTo(replicas + 1);
        // it joined the fleet only once its tables were up to date
        assertThat(a.count("SELECT count(*) FROM turnout_replica WHERE started_at < '" + released + "'::timestamptz"))
                .isEqualTo(replicas);
        assertThat(b.log()).contains("joined the fleet");
    }

    /** The status of a GET, or -1 when nothing answers on the port yet. */
    private static int status(int port, String path) {
        try {
            return given().port(port).get(path).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static void write(TurnoutProcess p, String domain, Fields field, int slice, List<Integer> patched, List<Integer> deleted,
            Map<Integer, String> last, Map<Integer, Boolean> gone, List<String> failures, AtomicBoolean running, boolean deletes,
            java.util.Queue<Double> latencies) {
        int n = 0;
        while (running.get()) {
            n++;
            for (int i = slice; i < patched.size() + deleted.size(); i += 4) {
                int key = i < patched.size() ? patched.get(i) : deleted.get(i - patched.size());
                boolean deletable = i >= patched.size();
                if (deletes && deletable && !gone.containsKey(key) && ThreadLocalRandom.current().nextInt(20) == 0) {
                    int status = given().port(p.port()).delete("/data/" + domain + "/" + key).statusCode();
                    if (status == 204 || status == 200) gone.put(key, true);
                    else failures.add("DELETE " + key + " on " + p.port() + ": " + status);
                    continue;
                }
                String value = field.text() ? (deletes ? "b" : "a") + n + "-" + key : Integer.toString(100000 + n);
                Object body = field.text() ? value : Integer.valueOf(value);
                long start = System.nanoTime();
                Response r = given().port(p.port()).contentType(ContentType.JSON).body(Map.of(field.field(), body))
                        .patch("/data/" + domain + "/" + key);
                latencies.add((System.nanoTime() - start) / 1e6);
                if (r.statusCode() == 200) {
                    if (!deletable) last.put(key, value);
                } else if (!(r.statusCode() == 404 && deletable)) {
                    failures.add("PATCH " + key + " on " + p.port() + ": " + r.statusCode() + " " + r.asString());
                }
            }
        }
    }

    /** Waits until every replica routes by {@code stage}; returns how long after the first one the last got there, in ms. */
    private long awaitBoth(String domain, String stage) {
        List<TurnoutProcess> all = new ArrayList<>(List.of(a, b));
        all.addAll(more);
        TurnoutProcess[] both = all.toArray(new TurnoutProcess[0]);
        long[] at = new long[both.length];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10)).until(() -> {
            for (int i = 0; i < both.length; i++) {
                if (at[i] == 0 && stage.equals(given().port(both[i].port()).get("/data").jsonPath()
                        .getString("domains.find { it.name == '" + domain + "' }.stage"))) {
                    at[i] = System.nanoTime();
                }
            }
            return java.util.Arrays.stream(at).allMatch(t -> t != 0);
        });
        return (java.util.Arrays.stream(at).max().orElseThrow() - java.util.Arrays.stream(at).min().orElseThrow()) / 1_000_000;
    }

    /**
     * Waits until the switch has begun and waits for the write held in {@code holder}: the
     * coordinator is {@code holder} itself (its own fence waits for its write) or another replica
     * waiting for the write's fence lock in the database. Returns the coordinator's replica id.
     */
    private String awaitSwitchWaitingFor(TurnoutProcess holder) throws Exception {
        String holderId = self(holder);
        String[] coordinator = new String[1];
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
            Object id = a.query("main", "SELECT coalesce((SELECT substr(application_name, length('turnout-coordinator-') + 1) "
                    + "FROM pg_stat_activity WHERE application_name LIKE 'turnout-coordinator-%' LIMIT 1), '')");
            coordinator[0] = (String) id;
            return !coordinator[0].isEmpty() && (coordinator[0].equals(holderId) || waiting(a, "advisory") > 0);
        });
        return coordinator[0];
    }

    private static long waiting(TurnoutProcess p, String locktype) throws Exception {
        return p.count("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = '" + locktype + "'");
    }

    private static String self(TurnoutProcess p) {
        return given().port(p.port()).get("/admin/replicas").jsonPath().getString("replicas.find { it.self }.id");
    }

    /** The id of {@code p}, a replica that is no longer running, as {@code other} knows it. */
    private static String self(TurnoutProcess p, TurnoutProcess other) {
        return given().port(other.port()).get("/admin/replicas").jsonPath().getString("replicas.find { !it.self }.id");
    }

    private static long refused(TurnoutProcess p, String domain) {
        String metrics = given().port(p.managementPort()).get("/q/metrics").asString();
        return metrics.lines().filter(l -> l.startsWith("turnout_fence_refused_total{domain=\"" + domain + "\"}"))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static Map<String, Object> row(TurnoutProcess p, String db, String table, int key, List<Fields> fields, boolean legacy)
            throws Exception {
        StringBuilder cols = new StringBuilder();
        for (Fields f : fields) cols.append(cols.length() == 0 ? "" : ", ").append(legacy ? f.legacyColumn() : f.newColumn());
        try (Connection c = p.connect(db); Statement st = c.createStatement();
                ResultSet r = st.executeQuery("SELECT " + cols + " FROM " + table + " WHERE id = " + key)) {
            if (!r.next()) return null;
            Map<String, Object> out = new HashMap<>();
            for (int i = 0; i < fields.size(); i++) out.put(fields.get(i).field(), Objects.toString(r.getObject(i + 1), null));
            return out;
        }
    }

    private static List<Integer> range(int from, int to) {
        List<Integer> out = new ArrayList<>();
        for (int i = from; i <= to; i++) out.add(i);
        return out;
    }
}
