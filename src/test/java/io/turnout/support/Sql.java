package io.turnout.support;

import io.turnout.db.Databases;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Plain SQL against a store's database, to check rows behind Turnout's back. */
public final class Sql {
    private final Databases databases;

    public Sql(Databases databases) {
        this.databases = databases;
    }

    public List<Map<String, Object>> rows(String database, String sql, Object... params) {
        try {
            var rows = databases.find(database).orElseThrow().pool().preparedQuery(sql).execute(Tuple.from(params))
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            List<Map<String, Object>> out = new ArrayList<>();
            for (Row r : rows) {
                Map<String, Object> m = new LinkedHashMap<>();
                for (int i = 0; i < r.size(); i++) m.put(r.getColumnName(i), r.getValue(i));
                out.add(m);
            }
            return out;
        } catch (Exception e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    public Map<String, Object> row(String database, String sql, Object... params) {
        List<Map<String, Object>> rows = rows(database, sql, params);
        return rows.isEmpty() ? null : rows.get(0);
    }

    public long count(String database, String sql, Object... params) {
        return ((Number) rows(database, sql, params).get(0).values().iterator().next()).longValue();
    }

    public void exec(String database, String sql) {
        rows(database, sql);
    }

    /** Outbox entries of a domain, in every database (the demo's two). */
    public long outbox(String domain) {
        return count("main", "SELECT count(*) FROM turnout_outbox WHERE domain = $1", domain)
                + count("messages", "SELECT count(*) FROM turnout_outbox WHERE domain = $1", domain);
    }

    /**
     * Domain messages at dual_write from scratch: its new table empty and no outbox entry of it in
     * either database, stepped back to legacy first so no mirror is under way meanwhile.
     */
    public void messagesAtDualWriteFromEmpty() {
        Flags.stage("messages", io.turnout.routing.Stage.LEGACY);
        exec("messages", "TRUNCATE messages");
        exec("main", "DELETE FROM turnout_outbox WHERE domain = 'messages'");
        exec("messages", "DELETE FROM turnout_outbox WHERE domain = 'messages'");
        Flags.stage("messages", io.turnout.routing.Stage.DUAL_WRITE);
    }

    /** Creates a message through the API (the stage routes it) and returns its id. */
    public static long postMessage(String content) {
        io.restassured.response.Response r = io.restassured.RestAssured.given().contentType(io.restassured.http.ContentType.JSON)
                .body(Map.of("sender_id", 1, "recipient_id", 2, "content", content)).post("/data/messages");
        if (r.statusCode() != 201) throw new AssertionError("POST /data/messages answered " + r.statusCode() + ": " + r.asString());
        return r.jsonPath().getLong("id");
    }

    /** Waits until every second write of the domain is done. */
    public void awaitOutboxEmpty(String domain) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).pollInterval(java.time.Duration.ofMillis(20))
                .until(() -> outbox(domain) == 0);
    }
}
