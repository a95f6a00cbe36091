package io.turnout.search;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.faulttolerance.api.CircuitBreakerMaintenance;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.Guard;
import io.turnout.TurnoutConfig.SearchOriginConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import jakarta.enterprise.util.TypeLiteral;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.eclipse.microprofile.faulttolerance.exceptions.BulkheadException;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;

/**
 * Client of one Connectra-style search service: get by id, batch by ids, search with filters. Every
 * call goes through one guard: a bulkhead, a timeout, the origin's named circuit breaker, and a
 * small retry budget for idempotent calls that failed on the connection or with 502/503/504.
 */
public final class SearchClient {
    /** Ids per batch call, the most the search API accepts. */
    public static final int BATCH_LIMIT = 100;
    private static final TypeLiteral<CompletionStage<Object>> ANY = new TypeLiteral<>() {};

    /** The calls of the search API. All three only read, so a retry cannot change anything. */
    enum Call {
        GET(true), BATCH(true), SEARCH(true);

        final boolean idempotent;
        final String tag;

        Call(boolean idempotent) {
            this.idempotent = idempotent;
            this.tag = name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** An answer with its status; 404 is an answer, not a failure. */
    record Reply(int status, JsonNode body) {}

    /** A batch lookup: documents found in request order, and the ids the service did not return. */
    public record Batch<T>(List<T> found, List<String> missing) {}

    private final String name;
    private final String base;
    private final String apiKey;
    private final SearchOriginConfig config;
    private final HttpClient http;
    private final ObjectMapper json;
    private final Guard guard;
    private final CircuitBreakerMaintenance breakers;
    private final MeterRegistry registry;
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    private volatile long openedAt;

    SearchClient(String name, SearchOriginConfig config, Vertx vertx, ObjectMapper json, CircuitBreakerMaintenance breakers,
            MeterRegistry registry) {
        this.name = name;
        this.base = config.url().replaceAll("/+$", "");
        this.apiKey = config.apiKey().orElse(null);
        this.config = config;
        this.json = json;
        this.breakers = breakers;
        this.registry = registry;
        this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout((int) config.timeout().toMillis()),
                new PoolOptions().setHttp1MaxSize(config.connections()));
        this.guard = Guard.create()
                .withDescription("search origin " + name)
                .withBulkhead().limit(config.bulkhead()).queueSize(config.bulkheadQueue()).done()
                .withTimeout().duration(config.timeout().toMillis(), ChronoUnit.MILLIS).done()
                .withCircuitBreaker().name(breakerName())
                    .requestVolumeThreshold(config.breaker().requestVolumeThreshold())
                    .failureRatio(config.breaker().failureRatio())
                    .delay(config.breaker().delay().toMillis(), ChronoUnit.MILLIS)
                    .successThreshold(config.breaker().successThreshold())
                    // a request the service refused as invalid, or one Turnout's own bulkhead turned away,
                    // says nothing about the service's health
                    .when(e -> !(e instanceof SearchFailure f && f.kind() == SearchFailure.Kind.REJECTED)
                            && !(e instanceof BulkheadException))
                    .onStateChange(state -> {
                        if (state == CircuitBreakerState.OPEN) openedAt = System.nanoTime();
                    })
                    .done()
                .withRetry().maxRetries(config.retries()).delay(config.retryDelay().toMillis(), ChronoUnit.MILLIS)
                    .whenException(e -> e instanceof SearchFailure f && f.transientFault())
                    .done()
                .withThreadOffload(false)
                .build();
    }

    public String name() {
        return name;
    }

    /** The name of this origin's circuit breaker, for {@link CircuitBreakerMaintenance}. */
    public String breakerName() {
        return "search-" + name;
    }

    public CircuitBreakerState breakerState() {
        return breakers.currentState(breakerName());
    }

    /**
     * The document with this id decoded, or null when the index has none. The decoder runs inside
     * the guard, so a document it rejects as malformed counts against the breaker.
     */
    public <T> Future<T> get(String index, String id, Function<JsonNode, T> decode) {
        return call(Call.GET, HttpMethod.GET, "/v1/" + encode(index) + "/" + encode(id), null,
                reply -> reply.status() == 404 ? null : decode.apply(object(reply.body())));
    }

    /**
     * The documents with these ids, in the order asked. Ids beyond {@value #BATCH_LIMIT} are split
     * into several calls, at most {@code batch-concurrency} in flight at once.
     */
    public <T> Future<Batch<T>> batch(String index, String idAttribute, List<String> ids, Function<JsonNode, T> decode) {
        List<List<String>> slices = new ArrayList<>();
        for (int i = 0; i < ids.size(); i += BATCH_LIMIT) slices.add(ids.subList(i, Math.min(ids.size(), i + BATCH_LIMIT)));
        Map<String, T> byId = new ConcurrentHashMap<>();
        Future<Void> all = bounded(slices, Math.max(1, config.batchConcurrency()), slice -> {
            ObjectNode body = json.createObjectNode();
            ArrayNode list = body.putArray("uuids");
            slice.forEach(list::add);
            return call(Call.BATCH, HttpMethod.POST, "/v1/" + encode(index) + "/batch", body, reply -> {
                for (JsonNode doc : items(reply)) {
                    JsonNode id = doc.get(idAttribute);
                    if (id == null || id.isNull() || id.isContainerNode()) {
                        throw malformed("a batch item without '" + idAttribute + "'");
                    }
                    byId.put(id.asText(), decode.apply(doc));
                }
                return null;
            });
        });
        return all.map(v -> {
            List<T> found = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            for (String id : ids) {
                T doc = byId.get(id);
                if (doc == null) missing.add(id);
                else found.add(doc);
            }
            return new Batch<>(found, missing);
        });
    }

    /** One page of documents matching every filter, in id order, after {@code cursor} (null: from the start). */
    public <T> Future<List<T>> search(String index, ArrayNode filters, int limit, String cursor, Function<JsonNode, T> decode) {
        ObjectNode body = json.createObjectNode();
        body.set("filters", filters);
        body.put("limit", limit);
        if (cursor == null) body.putNull("cursor");
        else body.put("cursor", cursor);
        return call(Call.SEARCH, HttpMethod.POST, "/v1/" + encode(index) + "/search", body,
                reply -> items(reply).stream().map(decode).toList());
    }

    /** Runs the tasks with at most {@code width} in flight; fails as soon as one fails. */
    private static <T> Future<Void> bounded(List<T> tasks, int width, Function<T, Future<Void>> run) {
        Promise<Void> done = Promise.promise();
        if (tasks.isEmpty()) return Future.succeededFuture();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger finished = new AtomicInteger();
        Runnable[] start = new Runnable[1];
        start[0] = () -> {
            int i = next.getAndIncrement();
            if (i >= tasks.size()) return;
            run.apply(tasks.get(i)).onComplete(ar -> {
                if (ar.failed()) {
                    done.tryFail(ar.cause());
                } else if (finished.incrementAndGet() == tasks.size()) {
                    done.tryComplete();
                } else if (!done.future().isComplete()) {
                    start[0].run();
                }
            });
        };
        for (int i = 0; i < Math.min(width, tasks.size()); i++) start[0].run();
        return done.future();
    }

    @SuppressWarnings("unchecked")
    private <T> Future<T> call(Call call, HttpMethod method, String path, JsonNode body, Function<Reply, T> handle) {
        long start = System.nanoTime();
        Future<Object> result;
        try {
            result = Future.fromCompletionStage(guard.get(() -> attempt(call, method, path, body, handle).toCompletionStage(), ANY));
        } catch (RuntimeException e) {
            result = Future.failedFuture(e);
        }
        return result.recover(e -> Future.failedFuture(classify(e)))
                .onComplete(ar -> timer(call, ar.succeeded() ? (ar.result() == null && call == Call.GET ? "not_found" : "success")
                        : ((SearchFailure) ar.cause()).kind().tag).record(System.nanoTime() - start, TimeUnit.NANOSECONDS))
                .map(v -> (T) v);
    }

    private Future<Object> attempt(Call call, HttpMethod method, String path, JsonNode body, Function<Reply, ?> handle) {
        RequestOptions options = new RequestOptions().setMethod(method).setAbsoluteURI(base + path)
                .setIdleTimeout(2 * config.timeout().toMillis())
                .putHeader("Accept", "application/json");
        if (apiKey != null) options.putHeader("Authorization", "Bearer " + apiKey);
        if (body != null) options.putHeader("Content-Type", "application/json");
        return http.request(options)
                .compose(req -> body == null ? req.send() : req.send(Buffer.buffer(body.toString())))
                .compose(resp -> resp.body().map(buf -> (Object) handle.apply(reply(call, resp.statusCode(), buf))))
                .recover(e -> Future.failedFuture(e instanceof SearchFailure ? e
                        : new SearchFailure(name, SearchFailure.Kind.CONNECTION, "could not be reached", call.idempotent, e)));
    }

    private Reply reply(Call call, int status, Buffer buf) {
        if (status == 404 && call == Call.GET) return new Reply(404, null);
        if (status >= 500) {
            boolean gateway = status == 502 || status == 503 || status == 504;
            throw new SearchFailure(name, SearchFailure.Kind.ERROR_STATUS, "answered HTTP " + status, gateway && call.idempotent, null);
        }
        if (status != 200) {
            throw new SearchFailure(name, SearchFailure.Kind.REJECTED, "refused the request with HTTP " + status, false, null);
        }
        try {
            JsonNode tree = json.readTree(buf.getBytes());
            if (tree == null || !tree.isObject()) throw malformed("a body that is not a JSON object");
            return new Reply(200, tree);
        } catch (IOException e) {
            throw malformed("a body that is not JSON");
        }
    }

    private List<JsonNode> items(Reply reply) {
        JsonNode items = reply.body().get("items");
        if (items == null || !items.isArray()) throw malformed("no 'items' array");
        List<JsonNode> out = new ArrayList<>(items.size());
        for (JsonNode item : items) out.add(object(item));
        return out;
    }

    private JsonNode object(JsonNode node) {
        if (node == null || !node.isObject()) throw malformed("a document that is not a JSON object");
        return node;
    }

    SearchFailure malformed(String what) {
        return new SearchFailure(name, SearchFailure.Kind.MALFORMED, "returned " + what, false, null);
    }

    /** Turns the guard's own exceptions into failures that say what a client should do. */
    private SearchFailure classify(Throwable e) {
        if (e instanceof SearchFailure f) return f;
        if (e instanceof CircuitBreakerOpenException) {
            long left = config.breaker().delay().toNanos() - (System.nanoTime() - openedAt);
            long seconds = Math.max(1, (long) Math.ceil(left / 1e9));
            return new SearchFailure(name, SearchFailure.Kind.BREAKER_OPEN, "is failing; its circuit breaker is open", false, seconds, e);
        }
        if (e instanceof TimeoutException) {
            return new SearchFailure(name, SearchFailure.Kind.TIMEOUT, "did not answer within " + config.timeout().toMillis() + " ms",
                    false, e);
        }
        if (e instanceof BulkheadException) {
            return new SearchFailure(name, SearchFailure.Kind.BULKHEAD_FULL, "has too many calls waiting", false, e);
        }
        return new SearchFailure(name, SearchFailure.Kind.CONNECTION, "could not be reached", false, e);
    }

    private Timer timer(Call call, String outcome) {
        return timers.computeIfAbsent(call.tag + '/' + outcome, k -> Timer.builder("turnout_search_calls")
                .description("Calls to a search origin by call and outcome, retries included")
                .tag("origin", name)
                .tag("call", call.tag)
                .tag("outcome", outcome)
                .publishPercentiles(0.99)
                .distributionStatisticExpiry(Duration.ofSeconds(30))
                .distributionStatisticBufferLength(3)
                .register(registry));
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    void close() {
        http.close();
    }
}
