package io.turnout.search;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.smallrye.faulttolerance.api.CircuitBreakerMaintenance;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.turnout.db.Databases;
import io.turnout.routing.ShadowReads;
import io.turnout.routing.Stage;
import io.turnout.support.Flags;
import io.turnout.support.Metrics;
import io.turnout.support.SearchService;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The search origin's circuit breaker (test profile: opens when half of 4 calls fail, stays open
 * 1.5 s, closes after 2 successful trial calls): what it counts, how fast it refuses, what clients
 * are told, and that it keeps the replica in rotation.
 */
@QuarkusTest
class SearchBreakerTest {
    private static final String BREAKER = "search-connectra";

    @Inject
    CircuitBreakerMaintenance breakers;

    @Inject
    Databases databases;

    WireMockServer search;

    @Inject
    ShadowReads shadow;

    @BeforeEach
    void setUp() {
        // a comparison from the previous test confirms its mismatch by reading the search service
        // again; it must not land in this test's breaker window or bulkhead
        await().atMost(Duration.ofSeconds(10)).until(() -> shadow.inFlight() == 0);
        // and the calls of those comparisons, ended after the previous test reset the breaker, leave no window behind
        breakers.reset(BREAKER);
        search = SearchService.server();
        search.resetAll();
        breakers.reset(BREAKER);
        Flags.stage("contacts", Stage.LIVE);
    }

    @AfterEach
    void tearDown() {
        Flags.stage("contacts", Stage.LEGACY);
        Flags.stage("companies", Stage.LEGACY);
        breakers.reset(BREAKER);
    }

    private static String contactJson(UUID uuid) {
        return "{\"uuid\":\"" + uuid + "\",\"first_name\":\"Grace\",\"title\":\"Admiral\"}";
    }

    private static double breakerGauge() {
        return Metrics.sum("turnout_search_breaker_state", "origin=\"connectra\"");
    }

    @Test
    void opensAfterItsThresholdFailsFastThenHalfOpensAndCloses() {
        UUID uuid = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + uuid).willReturn(aResponse().withStatus(500)));

        for (int i = 0; i < 4; i++) {
            assertThat(given().get("/data/contacts/" + uuid).statusCode()).isEqualTo(503);
        }
        assertThat(breakers.currentState(BREAKER)).isEqualTo(CircuitBreakerState.OPEN);
        assertThat(breakerGauge()).isEqualTo(2);
        search.verify(4, getRequestedFor(urlPathMatching("/v1/contacts/.*")));

        // open: refused at once, without reaching the search service
        long start = System.nanoTime();
        Response refused = given().get("/data/contacts/" + uuid);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(millis).as("refusal time, against a 300 ms timeout").isLessThan(150);
        assertThat(refused.jsonPath().getString("detail")).contains("circuit breaker is open");
        assertThat(refused.jsonPath().getString("origin")).isEqualTo("connectra");
        assertThat(Integer.parseInt(refused.header("Retry-After"))).as("seconds until half-open, of a 1.5 s delay").isBetween(1, 2);
        search.verify(4, getRequestedFor(urlPathMatching("/v1/contacts/.*")));

        // the service recovers; after the delay one trial call gets through and succeeds
        search.stubFor(get("/v1/contacts/" + uuid).willReturn(okJson(contactJson(uuid))));
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> given().get("/data/contacts/" + uuid).statusCode() == 200);
        assertThat(breakers.currentState(BREAKER)).isEqualTo(CircuitBreakerState.HALF_OPEN);
        assertThat(breakerGauge()).isEqualTo(1);
        List<LoggedRequest> calls = search.findAll(getRequestedFor(urlPathMatching("/v1/contacts/.*")));
        assertThat(calls).hasSize(5);
        long quiet = calls.get(4).getLoggedDate().getTime() - calls.get(3).getLoggedDate().getTime();
        assertThat(quiet).as("ms between the call that opened the breaker and the first trial call").isGreaterThanOrEqualTo(1400);

        assertThat(given().get("/data/contacts/" + uuid).statusCode()).isEqualTo(200);
        assertThat(breakers.currentState(BREAKER)).isEqualTo(CircuitBreakerState.CLOSED);
        assertThat(breakerGauge()).isZero();
    }

    @Test
    void callsBeyondTheBulkheadAreRefusedWithoutHurtingTheBreaker() throws Exception {
        UUID uuid = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + uuid).willReturn(okJson(contactJson(uuid)).withFixedDelay(100)));
        double before = Math.max(0, Metrics.sum("turnout_search_calls_seconds_count", "origin=\"connectra\"", "outcome=\"bulkhead_full\""));

        // test profile: 4 calls in flight, 2 waiting; 10 at once leave some with no room
        ExecutorService pool = Executors.newFixedThreadPool(10);
        try {
            List<Future<Response>> answers = new ArrayList<>();
            CountDownLatch gate = new CountDownLatch(1);
            for (int i = 0; i < 10; i++) {
                answers.add(pool.submit(() -> {
                    gate.await();
                    return given().get("/data/contacts/" + uuid);
                }));
            }
            gate.countDown();
            int ok = 0;
            int refused = 0;
            for (Future<Response> f : answers) {
                Response r = f.get(10, TimeUnit.SECONDS);
                if (r.statusCode() == 200) {
                    ok++;
                } else {
                    assertThat(r.statusCode()).isEqualTo(503);
                    assertThat(r.jsonPath().getString("detail")).contains("too many calls waiting");
                    refused++;
                }
            }
            assertThat(ok).isBetween(4, 6);
            assertThat(ok + refused).isEqualTo(10);
            search.verify(ok, getRequestedFor(urlPathMatching("/v1/contacts/.*")));
            assertThat(Metrics.sum("turnout_search_calls_seconds_count", "origin=\"connectra\"", "outcome=\"bulkhead_full\""))
                    .isEqualTo(before + refused);
            assertThat(breakers.currentState(BREAKER)).isEqualTo(CircuitBreakerState.CLOSED);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void failuresBelowTheRatioKeepItClosed() {
        UUID good = UUID.randomUUID();
        UUID bad = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + good).willReturn(okJson(contactJson(good))));
        search.stubFor(get("/v1/contacts/" + bad).willReturn(aResponse().withStatus(500)));

        // one failure in each window of four calls: a ratio of 0.25, under the 0.5 that opens it
        for (int i = 0; i < 8; i++) {
            given().get("/data/contacts/" + (i % 4 == 0 ? bad : good)).then().statusCode(i % 4 == 0 ? 503 : 200);
        }
        assertThat(breakers.currentState(BREAKER)).isEqualTo(CircuitBreakerState.CLOSED);
        search.verify(8, getRequestedFor(urlPathMatching("/v1/contacts/.*")));
    }

    @Test
    void anOpenBreakerKeepsTurnoutInRotationAndOtherDomainsServing() {
        breakers.reset(BREAKER);
        UUID uuid = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + uuid).willReturn(aResponse().withStatus(500)));
        for (int i = 0; i < 4; i++) given().get("/data/contacts/" + uuid);
        assertThat(breakers.currentState(BREAKER)).isEqualTo(CircuitBreakerState.OPEN);

        Response ready = io.turnout.support.Management.given().get("/q/health/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.jsonPath().getString("status")).isEqualTo("UP");
        assertThat(ready.jsonPath().getString("checks.find { it.name == 'databases' }.data.'search:connectra'")).isEqualTo("breaker open");

        // writes of the same domain and reads of other domains are untouched
        Response created = given().contentType("application/json").body(Map.of("uuid", uuid.toString(), "first_name", "Still"))
                .post("/data/contacts");
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(new Sql(databases).count("main", "SELECT count(*) FROM contacts WHERE uuid = $1", uuid)).isEqualTo(1);
        assertThat(given().get("/data/connections?limit=1").statusCode()).isEqualTo(200);
        assertThat(given().delete("/data/contacts/" + uuid).statusCode()).isEqualTo(204);
    }

    @Test
    void aDomainThatOptsInFallsBackToPostgresAndSaysSo() {
        String uuid = new Sql(databases).row("main", "SELECT uuid::text AS u FROM companies ORDER BY uuid LIMIT 1").get("u").toString();
        Map<String, Object> fromPostgres = given().get("/data/companies/" + uuid).jsonPath().getMap("");
        search.stubFor(get("/v1/companies/" + uuid).willReturn(aResponse().withStatus(500)));
        Flags.stage("companies", Stage.LIVE);

        Response r = given().get("/data/companies/" + uuid);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.header("X-Turnout-Origin")).isEqualTo("legacy-fallback");
        assertThat(r.jsonPath().getMap("")).isEqualTo(fromPostgres);
        search.verify(1, getRequestedFor(urlPathMatching("/v1/companies/.*")));

        UUID absent = UUID.randomUUID();
        search.stubFor(get("/v1/companies/" + absent).willReturn(aResponse().withStatus(500)));
        Response notFound = given().get("/data/companies/" + absent);
        assertThat(notFound.statusCode()).isEqualTo(404);
        assertThat(notFound.header("X-Turnout-Origin")).isEqualTo("legacy-fallback");

        // contacts did not opt in: the same failure is a 503
        UUID contact = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + contact).willReturn(aResponse().withStatus(500)));
        assertThat(given().get("/data/contacts/" + contact).statusCode()).isEqualTo(503);
    }
}
