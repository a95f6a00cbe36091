package io.turnout.support;

import static io.restassured.RestAssured.given;

import io.restassured.config.HttpClientConfig;
import io.restassured.config.RestAssuredConfig;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * Clients for fault drills: each creates records, updates each once and deletes every fifth,
 * until stopped, and remembers what Turnout acknowledged (and what it sent without an answer).
 * {@link #lost} then checks with SQL that a store holds every acknowledged write with its last
 * acknowledged value, and no acknowledged delete came back.
 */
public final class Writers {

    /** One domain's shape for a drill: how to create a record with a value, and where each store keeps that value. */
    public record Target(String domain, String field, Function<Integer, Map<String, Object>> create) {
        public static Target connections() {
            return new Target("connections", "status", n -> Map.of("user_id", 7_000_000, "connected_user_id", n, "status", "c" + n));
        }

        public static Target messages() {
            return new Target("messages", "content", n -> Map.of("sender_id", 7_000_000, "recipient_id", n, "content", "c" + n));
        }
    }

    /** Where one store keeps a domain's value: database, table, key column, value column. */
    public record Column(String database, String table, String key, String value) {}

    /** What one client knows of one record. */
    public static final class Known {
        public String acknowledged;
        public boolean deleted;
        public final Set<String> inDoubt = new LinkedHashSet<>();
    }

    /** One answer: status, and how long it took. */
    public record Answer(int status, long millis, String retryAfter) {}

    private final Target target;
    private final int clients;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final ExecutorService pool;
    private final List<Future<Map<Long, Known>>> running = new ArrayList<>();
    private final ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
    private final RestAssuredConfig config;
    private final Set<String> refused = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** The key every request sends (an application's, with write access to the domain). */
    private final String key;

    private Writers(Target target, int clients, int clientTimeoutMillis, String key) {
        this.key = key;
        this.target = target;
        this.clients = clients;
        this.pool = Executors.newFixedThreadPool(clients);
        this.config = RestAssuredConfig.config().httpClient(HttpClientConfig.httpClientConfig()
                .setParam("http.connection.timeout", clientTimeoutMillis)
                .setParam("http.socket.timeout", clientTimeoutMillis));
    }

    /** Starts {@code clients} writers against the running Turnout (RestAssured's port). */
    public static Writers start(Target target, int clients, int clientTimeoutMillis) {
        return start(target, clients, clientTimeoutMillis, TestKeys.SUITE);
    }

    /** {@link #start(Target, int, int)}, sending {@code key}. */
    public static Writers start(Target target, int clients, int clientTimeoutMillis, String key) {
        Writers w = new Writers(target, clients, clientTimeoutMillis, key);
        for (int t = 0; t < clients; t++) {
            int first = t * 1_000_000;
            w.running.add(w.pool.submit(() -> w.write(first)));
        }
        return w;
    }

    /** Stops the writers and returns what each record's last acknowledged state is, by key. */
    public Map<Long, Known> stop() throws Exception {
        stop.set(true);
        Map<Long, Known> known = new HashMap<>();
        for (Future<Map<Long, Known>> f : running) known.putAll(f.get(2, TimeUnit.MINUTES));
        pool.shutdown();
        return known;
    }

    /** Every answer so far. */
    public List<Answer> answers() {
        return List.copyOf(answers);
    }

    /** The values of creates Turnout answered with a 5xx: none of them may be in any store. */
    public Set<String> refusedCreates() {
        return Set.copyOf(refused);
    }

    public long acknowledged() {
        return answers.stream().filter(a -> a.status() < 300).count();
    }

    private Response send(java.util.function.Supplier<Response> request) {
        long start = System.nanoTime();
        Response r = request.get();
        answers.add(new Answer(r.statusCode(), (System.nanoTime() - start) / 1_000_000, r.header("Retry-After")));
        return r;
    }

    private Map<Long, Known> write(int first) {
        Map<Long, Known> known = new HashMap<>();
        int n = first;
        while (!stop.get()) {
            n++;
            int i = n;
            Response created;
            try {
                created = send(() -> given().config(config).header("Authorization", "Bearer " + key).contentType(ContentType.JSON).body(target.create().apply(i)).post("/data/" + target.domain()));
            } catch (Exception e) { // RestAssured throws I/O errors (connection reset) undeclared
                continue;
            }
            if (created.statusCode() >= 500) refused.add("c" + n);
            if (created.statusCode() != 201) continue;
            long id = created.jsonPath().getLong("id");
            Known k = new Known();
            k.acknowledged = "c" + n;
            known.put(id, k);
            String next = "u" + n;
            k.inDoubt.add(next);
            try {
                if (send(() -> given().config(config).header("Authorization", "Bearer " + key).contentType(ContentType.JSON).body(Map.of(target.field(), next))
                        .patch("/data/" + target.domain() + "/" + id)).statusCode() == 200) {
                    k.acknowledged = next;
                    k.inDoubt.clear();
                }
            } catch (Exception e) {
                // no answer: the update may or may not have committed
            }
            if (n % 5 == 0) {
                k.inDoubt.add(null);
                try {
                    if (send(() -> given().config(config).header("Authorization", "Bearer " + key).delete("/data/" + target.domain() + "/" + id)).statusCode() == 204) {
                        k.deleted = true;
                        k.acknowledged = null;
                        k.inDoubt.clear();
                    }
                } catch (Exception e) {
                    // no answer: the delete may or may not have committed
                }
            }
        }
        return known;
    }

    /**
     * The acknowledged writes a store does not hold as acknowledged: a record missing or with an
     * older value, or a deleted record that came back. A value sent later without an answer counts
     * as held.
     */
    public static List<String> lost(Connection c, Column column, Map<Long, Known> known) throws Exception {
        List<String> lost = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT " + column.value() + " FROM " + column.table() + " WHERE " + column.key() + " = ?")) {
            for (Map.Entry<Long, Known> e : known.entrySet()) {
                Known k = e.getValue();
                st.setLong(1, e.getKey());
                try (ResultSet r = st.executeQuery()) {
                    boolean present = r.next();
                    String found = present ? r.getString(1) : null;
                    if (k.deleted) {
                        if (present) lost.add(column.table() + " " + e.getKey() + ": deleted, came back as " + found);
                    } else if (!present) {
                        if (!k.inDoubt.contains(null)) lost.add(column.table() + " " + e.getKey() + ": acknowledged " + k.acknowledged + ", missing");
                    } else if (!found.equals(k.acknowledged) && !k.inDoubt.contains(found)) {
                        lost.add(column.table() + " " + e.getKey() + ": acknowledged " + k.acknowledged + ", found " + found);
                    }
                }
            }
        }
        return lost;
    }
}
