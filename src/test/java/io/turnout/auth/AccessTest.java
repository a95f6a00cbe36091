package io.turnout.auth;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.turnout.support.Management;
import io.turnout.support.Metrics;
import io.turnout.support.Sql;
import io.turnout.support.TestKeys;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every control endpoint and the data API, each with no credential, a bad one, the wrong role or
 * domain, and the right one. Requests that pass the gate name a domain Turnout does not serve
 * ({@code nosuch}): the endpoint answers 404, so passing changes nothing in the shared suite.
 */
@QuarkusTest
class AccessTest {
    @jakarta.inject.Inject
    io.turnout.db.Databases databases;

    private static final String D = "/admin/migrations/nosuch";

    /** method, path, the role it needs ("read": any role) and a body. */
    record Endpoint(String method, String path, String needs) {}

    private static final List<Endpoint> CONTROL = List.of(
            new Endpoint("GET", "/admin/migrations", "read"),
            new Endpoint("GET", D, "read"),
            new Endpoint("POST", D + "/stage", "release-manager"),
            new Endpoint("GET", D + "/shadow", "read"),
            new Endpoint("POST", D + "/backfill", "release-manager"),
            new Endpoint("GET", D + "/backfill", "read"),
            new Endpoint("POST", D + "/backfill/pause", "release-manager"),
            new Endpoint("POST", D + "/backfill/resume", "release-manager"),
            new Endpoint("GET", D + "/preflight", "read"),
            new Endpoint("POST", D + "/preflight", "release-manager"),
            new Endpoint("GET", D + "/pilot", "read"),
            new Endpoint("POST", D + "/verification", "release-manager"),
            new Endpoint("GET", D + "/verification", "read"),
            new Endpoint("GET", D + "/verification/1", "read"),
            new Endpoint("POST", D + "/verification/1/repair", "release-manager"),
            new Endpoint("GET", D + "/rows", "read"),
            new Endpoint("GET", D + "/outbox", "read"),
            new Endpoint("POST", D + "/outbox/retry", "release-manager"),
            new Endpoint("GET", D + "/retirement", "read"),
            new Endpoint("POST", D + "/retirement", "release-manager"),
            new Endpoint("POST", D + "/retirement/approve", "approver"),
            new Endpoint("GET", "/admin/audit", "read"),
            new Endpoint("GET", "/admin/replicas", "read"),
            new Endpoint("POST", "/admin/replicas/no-such-replica/forget", "release-manager"));

    private static Response call(String method, String path, String key) {
        var req = given().header("Authorization", key == null ? "" : "Bearer " + key).contentType("application/json");
        if (method.equals("POST")) req = req.body("{}");
        return req.request(method, path);
    }

    private static void refused(Response r, int status, String what) {
        assertThat(r.statusCode()).as(what).isEqualTo(status);
        assertThat(r.contentType()).as(what).startsWith("application/problem+json");
        assertThat(r.jsonPath().getInt("status")).as(what).isEqualTo(status);
    }

    @Test
    void everyControlEndpointNeedsACredentialWithTheRightRole() {
        for (Endpoint e : CONTROL) {
            String what = e.method() + " " + e.path();
            refused(call(e.method(), e.path(), null), 401, what + " without a credential");
            refused(call(e.method(), e.path(), "trn_not_a_key_at_all"), 401, what + " with a key Turnout does not hold");
            refused(call(e.method(), e.path(), TestKeys.APP_CONNECTIONS), 403, what + " with an application's key");
            String right = switch (e.needs()) {
                case "release-manager" -> TestKeys.RELEASE_MANAGER;
                case "approver" -> TestKeys.APPROVER;
                default -> TestKeys.OPERATOR;
            };
            if (!e.needs().equals("read")) {
                refused(call(e.method(), e.path(), TestKeys.OPERATOR), 403, what + " by an operator");
                String other = e.needs().equals("approver") ? TestKeys.RELEASE_MANAGER : TestKeys.APPROVER;
                refused(call(e.method(), e.path(), other), 403, what + " by the other acting role");
            }
            Response ok = call(e.method(), e.path(), right);
            assertThat(ok.statusCode()).as(what + " with the right role passes the gate").isNotIn(401, 403);
        }
        // a real read with the operator's key, not only an unknown domain
        given().header("Authorization", "Bearer " + TestKeys.OPERATOR).get("/admin/migrations/connections").then().statusCode(200);
    }

    @Test
    void refusalsSayNothingAboutTheCredentialSent() {
        Response missing = call("GET", "/admin/migrations", null);
        Response bad = call("GET", "/admin/migrations", "trn_test_0BxC_xukuwDKaCqwIJXcKdYy");
        assertThat(bad.asString()).isEqualTo(missing.asString());
        assertThat(bad.header("WWW-Authenticate")).isEqualTo("Bearer");
        assertThat(bad.asString()).doesNotContain("trn_").doesNotContain("sha256");
    }

    @Test
    void dataReadsAndWritesNeedAGrantForTheDomain() throws Exception {
        Sql sql = new Sql(databases);
        String body = "{\"user_id\": 7001, \"connected_user_id\": 7002, \"status\": \"accepted\"}";
        String both = "SELECT (SELECT count(*) FROM user_connections WHERE user_id = 7001 AND connected_user_id = 7002)"
                + " + (SELECT count(*) FROM company_connections WHERE user_id = 7001 AND peer_user_id = 7002)";
        long before = sql.count("main", both);
        refused(given().header("Authorization", "").get("/data/connections/1"), 401, "read without a credential");
        refused(given().header("Authorization", "").contentType("application/json").body(body).post("/data/connections"), 401,
                "write without a credential");
        refused(given().header("Authorization", "Bearer " + TestKeys.OPERATOR).get("/data/connections/1"), 403, "an operator reads data");
        refused(given().header("Authorization", "Bearer " + TestKeys.APP_CONNECTIONS).get("/data/messages/1"), 403, "another domain");
        refused(given().header("Authorization", "Bearer " + TestKeys.APP_READONLY).contentType("application/json").body(body)
                .post("/data/connections"), 403, "a read-only application writes");
        assertThat(sql.count("main", both)).as("refused writes wrote nothing in either store").isEqualTo(before);
        assertThat(given().header("Authorization", "Bearer " + TestKeys.APP_READONLY).get("/data/connections/1").statusCode())
                .as("a read-only application reads").isNotIn(401, 403);
        double created = Metrics.sum("turnout_requests_seconds_count", "application=\"crmapp\"", "operation=\"create\"");
        Response r = given().header("Authorization", "Bearer " + TestKeys.APP_CONNECTIONS).contentType("application/json").body(body)
                .post("/data/connections");
        assertThat(r.statusCode()).isEqualTo(201);
        assertThat(sql.count("main", both)).as("the allowed write is in the store(s) its stage writes").isGreaterThan(before);
        assertThat(Metrics.sum("turnout_requests_seconds_count", "application=\"crmapp\"", "operation=\"create\""))
                .as("data API metrics carry the application").isEqualTo(Math.max(0, created) + 1);
    }

    @Test
    void healthAndMetricsNeedNoCredentialAndTheAuditNamesWhoActed() {
        Management.given().header("Authorization", "").get("/q/health/ready").then().statusCode(200);
        Management.given().header("Authorization", "").get("/q/metrics").then().statusCode(200);
        String applied = given().get("/admin/migrations/contacts").jsonPath().getString("applied");
        given().header("Authorization", "Bearer " + TestKeys.RELEASE_MANAGER).contentType("application/json")
                .body(Map.of("target", applied, "reason", "access test: who asked")).post("/admin/migrations/contacts/stage")
                .then().statusCode(202);
        String since = java.time.OffsetDateTime.now().minusMinutes(1).toString();
        List<String> actors = given().queryParam("domain", "contacts").queryParam("since", since).get("/admin/audit").jsonPath()
                .getList("entries.findAll { it.action == 'stage-requested' && it.reason == 'access test: who asked' }.actor");
        assertThat(actors).isNotEmpty().allMatch("rm"::equals);
    }
}
