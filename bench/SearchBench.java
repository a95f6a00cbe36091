import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Search-origin benchmark: contact reads by uuid through Turnout at live (served by a WireMock
 * search service with a fixed delay) against the same GET sent straight to the search service,
 * then the same reads through Turnout while the origin's circuit breaker is open (503s).
 * Run through bench/search; shares {@link Load}.
 */
public class SearchBench extends Load {
    static final int DELAY_MS = Integer.getInteger("bench.searchDelayMs", 5);
    static final List<String> UUIDS = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        URI turnout = URI.create(args[0]);
        URI searchUri = URI.create(args[1]);
        flags = Path.of(args[2]);
        Vertx vertx = Vertx.vertx();
        http = client(vertx, turnout);
        management = client(vertx, URI.create("http://localhost:" + System.getenv("QUARKUS_MANAGEMENT_PORT")));
        HttpClient search = client(vertx, searchUri);
        for (int i = 0; i < 1000; i++) UUIDS.add(UUID.randomUUID().toString());

        stub(search, "{\"request\":{\"method\":\"GET\",\"urlPathPattern\":\"/v1/contacts/[^/]+\"},"
                + "\"response\":{\"status\":200,\"fixedDelayMilliseconds\":" + DELAY_MS + ",\"transformers\":[\"response-template\"],"
                + "\"headers\":{\"Content-Type\":\"application/json\"},"
                + "\"body\":\"{\\\"uuid\\\":\\\"{{request.pathSegments.[2]}}\\\",\\\"first_name\\\":\\\"Ada\\\",\\\"last_name\\\":\\\"Lovelace\\\","
                + "\\\"title\\\":\\\"Engineer\\\",\\\"department\\\":\\\"engineering\\\",\\\"company_id\\\":\\\"" + UUID.randomUUID() + "\\\","
                + "\\\"created_at\\\":\\\"2024-01-01T00:00:00Z\\\"}\"}}");
        setStage("live", List.of("contacts"));

        List<Result> results = new ArrayList<>();
        // warm up both paths, long enough for the JIT to settle on Turnout's guarded call path
        closedLoop("warm-up", () -> get(search, "/v1/contacts/" + uuid(), 200), 5);
        closedLoop("warm-up", () -> get("/data/contacts/" + uuid()), 10);
        openLoop("warm-up", () -> get(search, "/v1/contacts/" + uuid(), 200), 3);
        openLoop("warm-up", () -> get("/data/contacts/" + uuid()), 3);

        Result directOpen = openLoop("search service directly, open loop", () -> get(search, "/v1/contacts/" + uuid(), 200), SECONDS);
        Result liveOpen = openLoop("Turnout live, open loop", () -> get("/data/contacts/" + uuid()), SECONDS);
        String searchCallP99 = quantile(metrics(), "turnout_search_calls_seconds{call=\"get\",origin=\"connectra\",outcome=\"success\",quantile=\"0.99\"}");
        Result directClosed = closedLoop("search service directly, " + WRITERS + " clients", () -> get(search, "/v1/contacts/" + uuid(), 200), SECONDS);
        Result liveClosed = closedLoop("Turnout live, " + WRITERS + " clients", () -> get("/data/contacts/" + uuid()), SECONDS);
        results.add(directOpen);
        results.add(liveOpen);
        results.add(directClosed);
        results.add(liveClosed);

        // the search service starts failing; reads fail until the breaker opens, then fail fast
        stub(search, "{\"priority\":1,\"request\":{\"method\":\"GET\",\"urlPathPattern\":\"/v1/contacts/[^/]+\"},\"response\":{\"status\":500}}");
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!metrics().contains("turnout_search_breaker_state{origin=\"connectra\"} 2.0")) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the breaker did not open within 30 s");
            get(http, "/data/contacts/" + uuid(), 503).join();
        }
        openLoop("warm-up", () -> get(http, "/data/contacts/" + uuid(), 503), 2);
        Result openOpen = openLoop("Turnout, breaker open (503), open loop", () -> get(http, "/data/contacts/" + uuid(), 503), SECONDS);
        Result openClosed = closedLoop("Turnout, breaker open (503), " + WRITERS + " clients", () -> get(http, "/data/contacts/" + uuid(), 503), SECONDS);
        results.add(openOpen);
        results.add(openClosed);
        setStage("legacy", List.of("contacts"));

        System.out.println();
        System.out.println("Turnout search-origin benchmark: search service delay " + DELAY_MS + " ms, open loop at " + READ_RATE
                + "/s, closed loop with " + WRITERS + " clients, " + SECONDS + " s each, on " + Runtime.getRuntime().availableProcessors() + " cores");
        results.forEach(r -> System.out.println(r.line()));
        System.out.println();
        System.out.printf("live read p99 - direct search p99 (open loop): %+.3f ms%n", liveOpen.p99ms() - directOpen.p99ms());
        System.out.printf("of which the search call as Turnout timed it, p99 over the last 30 s: %s ms%n", searchCallP99);
        System.out.printf("live read throughput / direct search throughput (%d clients): %.2fx%n", WRITERS,
                liveClosed.perSecond() / directClosed.perSecond());
        System.out.printf("breaker-open 503 p99 (open loop): %.3f ms (aim: under 5 ms)%n", openOpen.p99ms());
        System.out.printf("breaker-open 503 throughput / live read throughput (%d clients): %.2fx%n", WRITERS,
                openClosed.perSecond() / liveClosed.perSecond());
        vertx.close();
        System.exit(0);
    }

    /** Turnout's metrics, from its management port (QUARKUS_MANAGEMENT_PORT, set by bench/search). */
    static String metrics() throws Exception {
        return send(management, HttpMethod.GET, "/q/metrics", null).compose(r -> r.body()).toCompletionStage().toCompletableFuture().get()
                .toString();
    }

    static HttpClient management;

    static HttpClient client(Vertx vertx, URI uri) {
        return vertx.createHttpClient(new HttpClientOptions().setDefaultHost(uri.getHost()).setDefaultPort(uri.getPort()).setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(64));
    }

    /** A sample's value in milliseconds, from Prometheus text where it is in seconds. */
    static String quantile(String metrics, String sample) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(sample + " ")) return String.format("%.3f", Double.parseDouble(line.substring(sample.length() + 1)) * 1000);
        }
        return "n/a";
    }

    static String uuid() {
        return UUIDS.get(ThreadLocalRandom.current().nextInt(UUIDS.size()));
    }

    static void stub(HttpClient search, String mapping) {
        boolean ok = send(search, HttpMethod.POST, "/__admin/mappings", mapping)
                .map(r -> r.statusCode() == 201).toCompletionStage().toCompletableFuture().join();
        if (!ok) throw new IllegalStateException("WireMock refused the stub " + mapping);
    }
}
