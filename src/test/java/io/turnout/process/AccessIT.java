package io.turnout.process;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.restassured.response.Response;
import io.turnout.support.TurnoutProcess;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Access control in a real process: the keys the embedded default generates on its first start, and
 * OIDC bearer tokens from a real OIDC server (mock-oauth2-server, in this JVM: discovery, JWKS and
 * signed tokens over HTTP, as Turnout's OIDC client expects from any provider).
 */
class AccessIT {
    private static final Pattern PRINTED = Pattern.compile("^  (operator|release-manager|approver|demo-app)\\s+(trn_\\S+)$", Pattern.MULTILINE);

    private TurnoutProcess p;
    private MockOAuth2Server oidc;

    @AfterEach
    void stop() {
        if (p != null) p.close();
        if (oidc != null) oidc.shutdown();
    }

    private static Response as(String bearer) {
        return given().header("Authorization", bearer == null ? "" : "Bearer " + bearer).contentType("application/json").get("/admin/migrations");
    }

    private static int stage(String bearer, String reason) {
        return given().header("Authorization", "Bearer " + bearer).contentType("application/json")
                .body(Map.of("target", "legacy", "reason", reason)).post("/admin/migrations/connections/stage").statusCode();
    }

    private static int create(String bearer) {
        return given().header("Authorization", "Bearer " + bearer).contentType("application/json")
                .body(Map.of("user_id", 7001, "connected_user_id", 7002, "status", "pending")).post("/data/connections").statusCode();
    }

    @Test
    void theFirstStartGeneratesOneKeyPerRoleAndAnApplicationKeyPrintedOnceAndKeptAsHashes() throws Exception {
        p = TurnoutProcess.in(Path.of("target/it-generated-keys"), TurnoutProcess.flagsAt("legacy"), Map.of())
                .withoutTestKeys().credential(null).start();
        Map<String, String> keys = new LinkedHashMap<>();
        Matcher m = PRINTED.matcher(p.log());
        while (m.find()) keys.put(m.group(1), m.group(2));
        assertThat(keys).containsOnlyKeys("operator", "release-manager", "approver", "demo-app");
        assertThat(p.count("SELECT count(*) FROM turnout_api_key")).isEqualTo(4);
        for (String key : keys.values()) {
            assertThat(p.count("SELECT count(*) FROM turnout_api_key WHERE hash LIKE '%" + key + "%' OR name = '" + key + "'"))
                    .as("only the hash is stored").isZero();
        }

        for (int start = 1; start <= 2; start++) {
            String rm = keys.get("release-manager");
            assertThat(as(null).statusCode()).isEqualTo(401);
            assertThat(as("trn_" + "x".repeat(32)).statusCode()).isEqualTo(401);
            assertThat(as(keys.get("operator")).statusCode()).isEqualTo(200);
            assertThat(stage(keys.get("operator"), "an operator may only read")).isEqualTo(403);
            assertThat(stage(keys.get("demo-app"), "an application may not change stages")).isEqualTo(403);
            assertThat(stage(rm, "generated keys, start " + start)).isEqualTo(202);
            long before = p.count("SELECT count(*) FROM user_connections");
            assertThat(create(keys.get("demo-app"))).isEqualTo(201);
            assertThat(p.count("SELECT count(*) FROM user_connections")).as("the application's write is in the legacy store").isEqualTo(before + 1);
            assertThat(create(keys.get("operator"))).isEqualTo(403);
            assertThat(p.query("main", "SELECT actor FROM turnout_audit WHERE reason = 'generated keys, start " + start + "'"))
                    .isEqualTo("release-manager");
            if (start == 1) {
                p.close();
                p.start();
            }
        }
        String log = p.log();
        for (String key : keys.values()) {
            assertThat(log.split(Pattern.quote(key), -1)).as("printed once, on the first start only, and in no log line").hasSize(2);
        }
        assertThat(p.count("SELECT count(*) FROM turnout_api_key")).as("the second start generated none").isEqualTo(4);
    }

    /** A token for {@code client} (its {@code azp}), signed by the test's OIDC server. */
    private String token(String subject, String client, Map<String, Object> claims) {
        return oidc.issueToken("turnout", client, new DefaultOAuth2TokenCallback("turnout", subject, "JWT", List.of("turnout"), claims, 600))
                .serialize();
    }

    @Test
    void oidcBearerTokensCarryRolesAndDomainGrantsInTheirClaims() throws Exception {
        oidc = new MockOAuth2Server();
        oidc.start();
        MockOAuth2Server forger = new MockOAuth2Server();
        forger.start();
        try {
            String issuer = oidc.issuerUrl("turnout").toString();
            p = TurnoutProcess.in(Path.of("target/it-oidc"), TurnoutProcess.flagsAt("legacy"), Map.of("TURNOUT_AUTH_MODE", "oidc",
                    "QUARKUS_OIDC_TENANT_ENABLED", "true", "QUARKUS_OIDC_AUTH_SERVER_URL", issuer, "QUARKUS_OIDC_TOKEN_AUDIENCE", "turnout"))
                    .withoutTestKeys();
            String rm = token("alice", "release-bot", Map.of("roles", List.of("release-manager")));
            p.credential(rm).start();
            String operator = token("olga", "grafana", Map.of("roles", List.of("operator")));
            String crm = token("crm", "crm-app", Map.of("turnout_domains", List.of("connections:write")));
            String forged = forger.issueToken("turnout", "mallory", new DefaultOAuth2TokenCallback("turnout", "mallory", "JWT",
                    List.of("turnout"), Map.of("roles", List.of("release-manager")), 600)).serialize();

            assertThat(as(null).statusCode()).isEqualTo(401);
            assertThat(as(forged).statusCode()).as("a token signed by another key").isEqualTo(401);
            assertThat(as(operator).statusCode()).isEqualTo(200);
            assertThat(stage(operator, "oidc: an operator may only read")).isEqualTo(403);
            assertThat(stage(forged, "oidc: forged")).isEqualTo(401);
            assertThat(stage(rm, "oidc: release manager")).isEqualTo(202);
            assertThat(p.query("main", "SELECT actor FROM turnout_audit WHERE reason = 'oidc: release manager'"))
                    .as("the audit names the token's azp").isEqualTo("release-bot");

            long before = p.count("SELECT count(*) FROM user_connections");
            assertThat(create(crm)).isEqualTo(201);
            assertThat(p.count("SELECT count(*) FROM user_connections")).isEqualTo(before + 1);
            assertThat(given().header("Authorization", "Bearer " + crm).get("/data/messages/1").statusCode()).as("another domain").isEqualTo(403);
            assertThat(create(operator)).isEqualTo(403);
            assertThat(p.log()).as("no token in the log").doesNotContain(rm).doesNotContain(crm).doesNotContain(forged);
        } finally {
            forger.shutdown();
        }
    }

    @Test
    void theControlApiCanBeServedOnTheManagementPortOnly() throws Exception {
        p = TurnoutProcess.in(Path.of("target/it-control-port"), TurnoutProcess.flagsAt("legacy"), Map.of("TURNOUT_CONTROL_PORT", "management"))
                .credential(null).start();
        var rm = io.turnout.support.Management.given().header("Authorization", "Bearer " + io.turnout.support.TestKeys.RELEASE_MANAGER);
        assertThat(given().header("Authorization", "Bearer " + io.turnout.support.TestKeys.SUITE).get("/admin/migrations").statusCode())
                .as("no control API on the data port").isEqualTo(404);
        assertThat(given().header("Authorization", "Bearer " + io.turnout.support.TestKeys.SUITE).get("/data/connections/1").statusCode())
                .as("the data API stays on the data port").isIn(200, 404);
        assertThat(rm.get("/admin/migrations").statusCode()).isEqualTo(200);
        assertThat(io.turnout.support.Management.given().header("Authorization", "").get("/admin/migrations").statusCode())
                .as("the management port asks for a credential too").isEqualTo(401);
        assertThat(io.turnout.support.Management.given().header("Authorization", "Bearer " + io.turnout.support.TestKeys.RELEASE_MANAGER)
                .contentType("application/json").body(Map.of("target", "legacy", "reason", "control on the management port"))
                .post("/admin/migrations/connections/stage").statusCode()).isEqualTo(202);
        assertThat(p.query("main", "SELECT actor FROM turnout_audit WHERE reason = 'control on the management port'")).isEqualTo("rm");
        assertThat(io.turnout.support.Management.given().header("Authorization", "Bearer " + io.turnout.support.TestKeys.SUITE)
                .get("/data/connections/1").statusCode()).as("no data API on the management port").isEqualTo(404);
        // the console goes with the control API it calls
        assertThat(given().header("Authorization", "").get("/console/").statusCode()).as("no console on the data port").isEqualTo(404);
        var page = io.turnout.support.Management.given().header("Authorization", "").get("/console/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        assertThat(page.header("Content-Security-Policy")).contains("default-src 'self'");
        assertThat(io.turnout.support.Management.given().header("Authorization", "").get("/console/console.js").statusCode()).isEqualTo(200);
    }
}
