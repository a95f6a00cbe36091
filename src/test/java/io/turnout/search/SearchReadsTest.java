package io.turnout.search;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.smallrye.faulttolerance.api.CircuitBreakerMaintenance;
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
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Reads of contacts and companies from the search origin (WireMock playing Connectra): what each
 * kind of answer becomes for the client, how batches are split and filters converted, and that
 * writes never leave PostgreSQL.
 */
@QuarkusTest
class SearchReadsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    Databases databases;

    @Inject
    CircuitBreakerMaintenance breakers;

    @Inject
    SearchOrigins origins;

    @Inject
    ShadowReads shadow;

    WireMockServer search;
    Sql sql;

    @BeforeEach
    void setUp() {
        search = SearchService.server();
        // a shadow comparison an earlier test sampled re-reads a differing record after a delay: not a call of this test
        await().atMost(Duration.ofSeconds(10)).until(() -> shadow.inFlight() == 0);
        search.resetAll();
        breakers.reset("search-connectra");
        sql = new Sql(databases);
        Flags.stage("contacts", Stage.LIVE);
    }

    @AfterEach
    void tearDown() {
        Flags.stage("contacts", Stage.LEGACY);
        Flags.stage("companies", Stage.LEGACY);
        breakers.reset("search-connectra");
    }

    /** A contact as the data API shows it, read from PostgreSQL at legacy. */
    private Map<String, Object> contactFromPostgres(int n) {
        String uuid = sql.row("main", "SELECT uuid::text AS u FROM contacts ORDER BY uuid OFFSET $1 LIMIT 1", n).get("u").toString();
        Flags.stage("contacts", Stage.LEGACY);
        Map<String, Object> record = given().get("/data/contacts/" + uuid).then().statusCode(200).extract().jsonPath().getMap("");
        Flags.stage("contacts", Stage.LIVE);
        return record;
    }

    /** The same record as the search service holds it: company_uuid is called company_id there. */
    static ObjectNode document(Map<String, Object> record) {
        ObjectNode doc = JSON.valueToTree(record);
        doc.set("company_id", doc.remove("company_uuid"));
        return doc;
    }

    private static ObjectNode syntheticContact(UUID uuid, String title) {
        ObjectNode doc = JSON.createObjectNode().put("uuid", uuid.toString()).put("first_name", "Ada").put("last_name", "Search")
                .put("title", title).put("department", "engineering");
        return doc;
    }

    private double calls(String call, String outcome) {
        return Math.max(0, Metrics.sum("turnout_search_calls_seconds_count", "origin=\"connectra\"", "call=\"" + call + "\"",
                "outcome=\"" + outcome + "\""));
    }

    @Test
    void liveReadsComeFromSearchWhileWritesStayOnPostgres() {
        Map<String, Object> contact = contactFromPostgres(3);
        String uuid = (String) contact.get("uuid");
        ObjectNode doc = document(contact).put("title", "Title in the index");
        search.stubFor(get("/v1/contacts/" + uuid).willReturn(okJson(doc.toString())));
        double before = calls("get", "success");

        Response read = given().get("/data/contacts/" + uuid);
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(read.header("X-Turnout-Origin")).isEqualTo("new");
        assertThat(read.header("X-Turnout-Stage")).isEqualTo("live");
        assertThat(read.jsonPath().getString("title")).isEqualTo("Title in the index");
        assertThat(read.jsonPath().getString("company_uuid")).isEqualTo(contact.get("company_uuid"));
        assertThat(calls("get", "success")).isEqualTo(before + 1);

        Response patched = given().contentType(ContentType.JSON).body(Map.of("title", "Head of Search")).patch("/data/contacts/" + uuid);
        assertThat(patched.statusCode()).isEqualTo(200);
        assertThat(patched.header("X-Turnout-Origin")).isEqualTo("legacy");
        assertThat(sql.row("main", "SELECT title FROM contacts WHERE uuid = $1::uuid", uuid).get("title")).isEqualTo("Head of Search");

        UUID created = UUID.randomUUID();
        Response post = given().contentType(ContentType.JSON)
                .body(Map.of("uuid", created.toString(), "first_name", "New", "company_uuid", contact.get("company_uuid")))
                .post("/data/contacts");
        assertThat(post.statusCode()).isEqualTo(201);
        assertThat(post.header("X-Turnout-Origin")).isEqualTo("legacy");
        assertThat(sql.count("main", "SELECT count(*) FROM contacts WHERE uuid = $1", created)).isEqualTo(1);
        assertThat(given().delete("/data/contacts/" + created).statusCode()).isEqualTo(204);
        assertThat(sql.count("main", "SELECT count(*) FROM contacts WHERE uuid = $1", created)).isZero();

        // the search service saw only the one read: no write ever goes there
        assertThat(search.findAll(anyRequestedFor(anyUrl()))).hasSize(1);
    }

    @Test
    void unknownUuidIsNotFoundAndDoesNotCountAgainstTheBreaker() {
        UUID uuid = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + uuid).willReturn(aResponse().withStatus(404)));
        double before = calls("get", "not_found");

        for (int i = 0; i < 6; i++) {
            Response r = given().get("/data/contacts/" + uuid);
            assertThat(r.statusCode()).isEqualTo(404);
            assertThat(r.contentType()).startsWith("application/problem+json");
            assertThat(r.header("X-Turnout-Origin")).isEqualTo("new");
        }
        assertThat(calls("get", "not_found")).isEqualTo(before + 6);
        assertThat(origins.find("connectra").orElseThrow().breakerState().name()).isEqualTo("CLOSED");
    }

    @Test
    void serverErrorIs503NamingTheOriginWithoutRetry() {
        UUID uuid = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + uuid).willReturn(aResponse().withStatus(500).withBody("java.lang.NullPointerException at Foo")));

        Response r = given().get("/data/contacts/" + uuid);
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.jsonPath().getString("origin")).isEqualTo("connectra");
        assertThat(r.jsonPath().getString("detail")).contains("search origin 'connectra'").contains("HTTP 500")
                .doesNotContain("NullPointerException");
        assertThat(r.header("X-Turnout-Origin")).isEqualTo("new");
        assertThat(Integer.parseInt(r.header("Retry-After"))).isBetween(1, 2);
        search.verify(1, getRequestedFor(urlEqualTo("/v1/contacts/" + uuid)));
    }

    @Test
    void answerSlowerThanTheTimeoutIs503AfterTheTimeout() {
        UUID uuid = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + uuid).willReturn(okJson(syntheticContact(uuid, "late").toString()).withFixedDelay(1500)));
        double before = calls("get", "timeout");

        long start = System.nanoTime();
        Response r = given().get("/data/contacts/" + uuid);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.jsonPath().getString("detail")).contains("did not answer within 300 ms");
        assertThat(millis).as("answered after the 300 ms timeout, not the 1500 ms answer").isBetween(250L, 1200L);
        assertThat(calls("get", "timeout")).isEqualTo(before + 1);
    }

    @Test
    void connectionResetIsRetriedOnceThen503() {
        UUID uuid = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + uuid).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));

        Response r = given().get("/data/contacts/" + uuid);
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.jsonPath().getString("detail")).contains("could not be reached");
        search.verify(2, getRequestedFor(urlEqualTo("/v1/contacts/" + uuid)));
    }

    @Test
    void gatewayErrorThenSuccessIsServedByTheRetry() {
        UUID uuid = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + uuid).inScenario("flaky").whenScenarioStateIs("Started")
                .willReturn(aResponse().withStatus(503)).willSetStateTo("recovered"));
        search.stubFor(get("/v1/contacts/" + uuid).inScenario("flaky").whenScenarioStateIs("recovered")
                .willReturn(okJson(syntheticContact(uuid, "second try").toString())));

        Response r = given().get("/data/contacts/" + uuid);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.jsonPath().getString("title")).isEqualTo("second try");
        search.verify(2, getRequestedFor(urlEqualTo("/v1/contacts/" + uuid)));
    }

    @Test
    void malformedAnswersAre503() {
        UUID broken = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + broken).willReturn(aResponse().withStatus(200).withBody("{\"uuid\": \"" + broken + "\", \"title\":")));
        UUID wrongType = UUID.randomUUID();
        search.stubFor(get("/v1/contacts/" + wrongType).willReturn(okJson(syntheticContact(wrongType, "x").put("created_at", 12).toString())));
        double before = calls("get", "malformed");

        Response r = given().get("/data/contacts/" + broken);
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.jsonPath().getString("detail")).contains("returned a body that is not JSON");

        Response typed = given().get("/data/contacts/" + wrongType);
        assertThat(typed.statusCode()).isEqualTo(503);
        assertThat(typed.jsonPath().getString("detail")).contains("'created_at' must be a string");
        assertThat(calls("get", "malformed")).isEqualTo(before + 2);
    }

    @Test
    void batchLookupReportsMissingUuids() {
        UUID a = UUID.fromString("00000000-0000-4000-8000-00000000000a");
        UUID b = UUID.fromString("00000000-0000-4000-8000-00000000000b");
        UUID c = UUID.fromString("00000000-0000-4000-8000-00000000000c");
        ArrayNode items = JSON.createArrayNode().add(syntheticContact(c, "C")).add(syntheticContact(a, "A"));
        search.stubFor(post("/v1/contacts/batch").withRequestBody(equalToJson("{\"uuids\":[\"" + c + "\",\"" + b + "\",\"" + a + "\"]}"))
                .willReturn(okJson(JSON.createObjectNode().set("items", items).toString())));

        Response r = given().queryParam("uuid.in", c + "," + b + "," + a).get("/data/contacts");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.jsonPath().getList("items.uuid")).containsExactly(a.toString(), c.toString());
        assertThat(r.jsonPath().getList("missing")).containsExactly(b.toString());
        assertThat(r.jsonPath().getString("next")).isNull();
    }

    @Test
    void batchOf250UuidsIsSplitIntoThreeCallsAndMergedInRequestOrder() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 250; i++) ids.add(UUID.randomUUID().toString());
        for (int from = 0; from < 250; from += 100) {
            List<String> slice = ids.subList(from, Math.min(250, from + 100));
            ArrayNode items = JSON.createArrayNode();
            // the service answers in its own order and leaves out the first id of each slice
            for (int i = slice.size() - 1; i >= 1; i--) items.add(syntheticContact(UUID.fromString(slice.get(i)), "t" + i));
            search.stubFor(post("/v1/contacts/batch").withRequestBody(equalToJson(JSON.writeValueAsString(Map.of("uuids", slice))))
                    .willReturn(okJson(JSON.createObjectNode().set("items", items).toString())));
        }

        SearchClient client = origins.find("connectra").orElseThrow();
        SearchClient.Batch<String> batch = client.batch("contacts", "uuid", ids, doc -> doc.get("uuid").asText())
                .toCompletionStage().toCompletableFuture().get();
        List<String> expected = new ArrayList<>(ids);
        expected.removeAll(List.of(ids.get(0), ids.get(100), ids.get(200)));
        assertThat(batch.found()).containsExactlyElementsOf(expected);
        assertThat(batch.missing()).containsExactly(ids.get(0), ids.get(100), ids.get(200));
        List<LoggedRequest> calls = search.findAll(postRequestedFor(urlEqualTo("/v1/contacts/batch")));
        assertThat(calls).hasSize(3);
        assertThat(calls).extracting(c -> JSON.readTree(c.getBodyAsString()).get("uuids").size()).containsExactlyInAnyOrder(100, 100, 50);

        // the same lookup through the data API
        search.resetRequests();
        Response r = given().queryParam("uuid.in", String.join(",", ids)).queryParam("limit", 250).get("/data/contacts");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.jsonPath().getList("items")).hasSize(247);
        assertThat(r.jsonPath().getList("missing")).containsExactlyInAnyOrder(ids.get(0), ids.get(100), ids.get(200));
        assertThat(search.findAll(postRequestedFor(urlEqualTo("/v1/contacts/batch")))).hasSize(3);
    }

    @Test
    void everySupportedFilterIsConvertedToTheSearchLanguage() {
        UUID company = UUID.randomUUID();
        UUID after = UUID.fromString("00000000-0000-4000-8000-000000000001");
        UUID hit = UUID.fromString("00000000-0000-4000-8000-000000000002");
        String expected = "{\"filters\":["
                + "{\"field\":\"department\",\"op\":\"eq\",\"value\":\"sales\"},"
                + "{\"field\":\"seniority\",\"op\":\"in\",\"value\":[\"vp\",\"director\"]},"
                + "{\"field\":\"created_at\",\"op\":\"gte\",\"value\":\"2024-01-01T00:00:00Z\"},"
                + "{\"field\":\"created_at\",\"op\":\"lte\",\"value\":\"2024-02-01T00:00:00Z\"},"
                + "{\"field\":\"last_name\",\"op\":\"prefix\",\"value\":\"Sea\"},"
                + "{\"field\":\"company_id\",\"op\":\"eq\",\"value\":\"" + company + "\"}"
                + "],\"limit\":5,\"cursor\":\"" + after + "\"}";
        search.stubFor(post("/v1/contacts/search").withRequestBody(equalToJson(expected, true, false))
                .willReturn(okJson(JSON.createObjectNode().set("items", JSON.createArrayNode()
                        .add(syntheticContact(hit, "Buyer").put("company_id", company.toString()))).toString())));

        Response r = given().queryParam("department", "sales").queryParam("seniority.in", "vp,director")
                .queryParam("created_at.gte", "2024-01-01T00:00:00Z").queryParam("created_at.lte", "2024-02-01T00:00:00Z")
                .queryParam("last_name.prefix", "Sea").queryParam("company_uuid", company.toString())
                .queryParam("limit", 5).queryParam("after", after.toString())
                .get("/data/contacts");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.header("X-Turnout-Origin")).isEqualTo("new");
        assertThat(r.jsonPath().getList("items.uuid")).containsExactly(hit.toString());
        assertThat(r.jsonPath().getString("items[0].company_uuid")).isEqualTo(company.toString());
        search.verify(1, postRequestedFor(urlEqualTo("/v1/contacts/search")));
    }

    @Test
    void lookupByLinkedinUrlAndContactsOfACompany() {
        Map<String, Object> contact = contactFromPostgres(7);
        String url = (String) contact.get("linkedin_url");
        search.stubFor(post("/v1/contacts/search")
                .withRequestBody(equalToJson("{\"filters\":[{\"field\":\"linkedin_url\",\"op\":\"eq\",\"value\":\"" + url + "\"}],\"limit\":50,\"cursor\":null}"))
                .willReturn(okJson(JSON.createObjectNode().set("items", JSON.createArrayNode().add(document(contact))).toString())));
        Response byUrl = given().queryParam("linkedin_url", url).get("/data/contacts");
        assertThat(byUrl.statusCode()).isEqualTo(200);
        assertThat(byUrl.jsonPath().getList("items")).singleElement().isEqualTo(contact);

        // the same questions answered by PostgreSQL at legacy give the same record
        Flags.stage("contacts", Stage.LEGACY);
        assertThat(given().queryParam("linkedin_url", url).get("/data/contacts").jsonPath().getList("items")).singleElement().isEqualTo(contact);
        String company = (String) contact.get("company_uuid");
        List<Object> ofCompany = given().queryParam("company_uuid", company).queryParam("limit", 1000).get("/data/contacts").jsonPath().getList("items.uuid");
        assertThat(ofCompany).hasSize((int) sql.count("main", "SELECT count(*) FROM contacts WHERE company_uuid = $1::uuid", company))
                .contains(contact.get("uuid"));
        assertThat(given().queryParam("last_name.prefix", "Last12").queryParam("limit", 1000).get("/data/contacts").jsonPath().getList("items"))
                .hasSize((int) sql.count("main", "SELECT count(*) FROM contacts WHERE last_name LIKE 'Last12%'"));
        search.verify(1, postRequestedFor(urlEqualTo("/v1/contacts/search")));
    }

    @Test
    void filterTheSearchServiceCannotExpressIs400AtEveryStage() {
        for (Stage stage : List.of(Stage.LEGACY, Stage.LIVE)) {
            Flags.stage("companies", stage);
            Response r = given().queryParam("employee_count.gt", 50).get("/data/companies");
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.contentType()).startsWith("application/problem+json");
            assertThat(r.jsonPath().getString("field")).isEqualTo("employee_count.gt");
            assertThat(r.jsonPath().getString("detail")).contains("cannot express 'gt'");
        }
        Response catalogue = given().get("/data");
        assertThat(catalogue.jsonPath().getList("domains.find { it.name == 'companies' }.filterOperators"))
                .containsExactly("eq", "gte", "lte", "in", "prefix");
        assertThat(catalogue.jsonPath().getList("domains.find { it.name == 'connections' }.filterOperators"))
                .containsExactly("eq", "gt", "gte", "lt", "lte", "in", "prefix");
        Response prefixOnNumber = given().queryParam("employee_count.prefix", 5).get("/data/companies");
        assertThat(prefixOnNumber.statusCode()).isEqualTo(400);
        assertThat(prefixOnNumber.jsonPath().getString("field")).isEqualTo("employee_count.prefix");
        assertThat(search.findAll(anyRequestedFor(anyUrl()))).isEmpty();
    }

    @Test
    void shadowComparisonReportsADifferenceInTheIndex() {
        Map<String, Object> same = contactFromPostgres(11);
        Map<String, Object> differs = contactFromPostgres(12);
        search.stubFor(get("/v1/contacts/" + same.get("uuid")).willReturn(okJson(document(same).toString())));
        search.stubFor(get("/v1/contacts/" + differs.get("uuid")).willReturn(okJson(document(differs).put("department", "stale").toString())));
        // samples taken close together are compared in one batch call
        search.stubFor(post("/v1/contacts/batch").willReturn(okJson(JSON.createObjectNode()
                .set("items", JSON.createArrayNode().add(document(same)).add(document(differs).put("department", "stale"))).toString())));
        Flags.stage("contacts", Stage.SHADOW);
        double matches = Math.max(0, Metrics.sum("turnout_shadow_reads_total", "domain=\"contacts\"", "result=\"match\""));
        double mismatches = Math.max(0, Metrics.sum("turnout_shadow_reads_total", "domain=\"contacts\"", "result=\"mismatch\""));
        double department = Math.max(0, Metrics.sum("turnout_shadow_mismatch_fields_total", "domain=\"contacts\"", "field=\"department\""));
        double title = Metrics.sum("turnout_shadow_mismatch_fields_total", "domain=\"contacts\"", "field=\"title\"");

        Response a = given().get("/data/contacts/" + same.get("uuid"));
        Response b = given().get("/data/contacts/" + differs.get("uuid"));
        // reads are still PostgreSQL's at shadow
        assertThat(a.header("X-Turnout-Origin")).isEqualTo("legacy");
        assertThat(b.jsonPath().getMap("")).isEqualTo(differs);

        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            assertThat(Metrics.sum("turnout_shadow_reads_total", "domain=\"contacts\"", "result=\"match\"")).isEqualTo(matches + 1);
            assertThat(Metrics.sum("turnout_shadow_reads_total", "domain=\"contacts\"", "result=\"mismatch\"")).isEqualTo(mismatches + 1);
            assertThat(Metrics.sum("turnout_shadow_mismatch_fields_total", "domain=\"contacts\"", "field=\"department\"")).isEqualTo(department + 1);
        });
        assertThat(Metrics.sum("turnout_shadow_mismatch_fields_total", "domain=\"contacts\"", "field=\"title\"")).isEqualTo(title);
    }

    @Test
    void backfillAndVerificationAreRefusedForASearchOrigin() {
        Response backfill = given().contentType(ContentType.JSON).body("{}").post("/admin/migrations/contacts/backfill");
        assertThat(backfill.statusCode()).isEqualTo(409);
        assertThat(backfill.jsonPath().getString("detail")).contains("search origin 'connectra'").contains("read-only");
        Response verify = given().contentType(ContentType.JSON).body("{}").post("/admin/migrations/contacts/verification");
        assertThat(verify.statusCode()).isEqualTo(409);
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_backfill WHERE domain = 'contacts'")).isZero();
        assertThat(sql.count("main", "SELECT count(*) FROM turnout_verification WHERE domain = 'contacts'")).isZero();
    }
}
