package io.turnout.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.turnout.TurnoutConfig;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.domain.Field;
import io.turnout.domain.FieldType;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.routing.DataRouter;
import io.turnout.routing.DataRouter.Served;
import io.turnout.routing.Idempotency;
import io.turnout.routing.Kept;
import io.turnout.routing.Stage;
import io.turnout.search.SearchFailure;
import io.turnout.search.SearchStore;
import io.turnout.store.Filter;
import io.turnout.store.Query;
import io.turnout.store.StoreException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** The data API applications call instead of their database. See docs/applications.md. */
@Path("/data")
public class DataResource {
    private static final int RETRY_AFTER_SECONDS = 5;
    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    /** Set on the answer to a create retried with the same Idempotency-Key: it is the first answer, given again. */
    static final String REPLAYED = "Idempotent-Replayed";
    /** Histogram buckets of {@code turnout_requests_seconds}, documented in docs/sre.md. */
    static final Duration[] BUCKETS = java.util.stream.Stream.of(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
            .map(Duration::ofMillis).toArray(Duration[]::new);

    private final Domains domains;
    private final DataRouter router;
    private final ObjectMapper json;
    private final Requests requests;
    private final MeterRegistry registry;
    /** One timer per (domain, operation, application, origin, outcome), resolved once. */
    private final Map<TimerKey, Timer> timers = new ConcurrentHashMap<>();

    private record TimerKey(String domain, String operation, String application, String origin, String outcome) {}
    private final long requestMillis;
    private final Vertx vertx;

    public DataResource(Domains domains, DataRouter router, ObjectMapper json, TurnoutConfig config, MeterRegistry registry, Vertx vertx) {
        this.vertx = vertx;
        this.domains = domains;
        this.router = router;
        this.json = json;
        this.registry = registry;
        this.requestMillis = Math.max(1, config.timeouts().request().toMillis());
        this.requests = new Requests(json, config.api().maxBodyBytes(), config.api().defaultLimit(), config.api().maxLimit());
    }

    @GET
    public Response catalogue() {
        ObjectNode body = json.createObjectNode();
        ArrayNode list = body.putArray("domains");
        for (Domain d : domains.all()) {
            ObjectNode node = list.addObject();
            node.put("name", d.name());
            node.put("key", d.key().name());
            node.put("stage", router.stage(d).label());
            // a flag that names no stage changes nothing; it shows here until it is fixed
            node.put("flagProblem", router.flagProblem(d).orElse(null));
            node.put("flag", d.flag());
            ArrayNode ops = node.putArray("filterOperators");
            for (Filter.Op op : Filter.Op.values()) {
                if (d.unsupported(op) == null) {
                    ops.add(op == Filter.Op.EQ ? "eq" : op.suffix);
                }
            }
            if (!d.namedFilters().isEmpty()) {
                ArrayNode named = node.putArray("filters");
                d.namedFilters().forEach(named::add);
            }
            ArrayNode fields = node.putArray("fields");
            for (Field f : d.fields()) {
                ObjectNode fn = fields.addObject().put("name", f.name()).put("type", f.type().lower()).put("required", f.required());
                if (f.maxLength() != null) fn.put("maxLength", f.maxLength());
                ArrayNode held = fn.putArray("heldBy");
                for (Side side : Side.values()) {
                    if (d.holds(side, f.name())) held.add(side.label());
                }
                ArrayNode writable = fn.putArray("writableAt");
                Kept.writableAt(d, f.name()).forEach(s -> writable.add(s.label()));
            }
        }
        return Response.ok(body.toString(), MediaType.APPLICATION_JSON).build();
    }

    /** {@code GET /data/{domain}?...}: records matching the filters, in key order, a page at a time. */
    Future<Response> list(String name, Map<String, List<String>> params, String application) {
        return serve(name, "list", application, d -> {
            Query query = requests.query(d, params);
            return router.list(d, query).map(s -> ok(Response.ok(), s, page(d, query, s.value())));
        });
    }

    /**
     * A page of a list, written straight from the records: {@code items}, {@code next} (the last
     * key as the record shows it, a number for an integer key, to pass back as {@code after=}; null
     * on the last page) and, on the last page of a lookup by keys, the keys no record has.
     */
    private Buffer page(Domain d, Query query, List<Record> records) {
        return Domain.bytes(32 + 48 * d.fields().size() * Math.max(1, records.size()), g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("items");
            for (Record r : records) d.write(g, r);
            g.writeEndArray();
            g.writeFieldName("next");
            if (records.size() == query.limit()) {
                d.key().type().write(g, records.get(records.size() - 1).get(d.key().name()));
            } else {
                g.writeNull();
                Optional<List<String>> missing = missing(d, query, records);
                if (missing.isPresent()) {
                    g.writeArrayFieldStart("missing");
                    for (String key : missing.get()) g.writeString(key);
                    g.writeEndArray();
                }
            }
            g.writeEndObject();
        });
    }

    /** {@code POST /data/{domain}}: creates a record; with an Idempotency-Key, a retry gets the first answer again. */
    Future<Response> create(String name, String type, String idempotencyKey, byte[] body, String application) {
        return serve(name, "create", application, d -> {
            Record values = requests.body(d, type, body, Requests.Mode.CREATE, null);
            Idempotency.Claim claim = idempotencyKey == null ? null : Idempotency.Claim.of(idempotencyKey(idempotencyKey), body);
            return router.create(d, values, claim)
                    .map(s -> ok(created(d, s.value().get(d.key().name())), s, d.json(s.value())))
                    .recover(e -> e instanceof Idempotency.Replay replay ? Future.succeededFuture(replayed(d, replay)) : Future.failedFuture(e));
        });
    }

    /** The header's value, if it is one: 1 to 255 printable ASCII characters. */
    private static String idempotencyKey(String value) {
        if (value.isEmpty() || value.length() > Idempotency.MAX_KEY_LENGTH || !value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw ApiException.badField(IDEMPOTENCY_KEY, "The " + IDEMPOTENCY_KEY + " header must be 1 to "
                    + Idempotency.MAX_KEY_LENGTH + " printable ASCII characters");
        }
        return value;
    }

    /** The first answer to a create retried with the same key and body. */
    private Response replayed(Domain d, Idempotency.Replay replay) {
        Stage stage = router.stage(d);
        Response.ResponseBuilder r = created(d, d.key().type().fromText(replay.recordKey));
        Problems.headers(r, stage.writesTo(d).get(0).label(), stage);
        return r.header(REPLAYED, "true").entity(replay.answer).type(MediaType.APPLICATION_JSON).build();
    }

    /** {@code PUT /data/{domain}/{id}}: replaces a record; a field not given goes back to its default. */
    Future<Response> replace(String name, String id, String type, byte[] body, String application) {
        return update(name, id, type, body, application, "replace", Requests.Mode.REPLACE);
    }

    /** {@code PATCH /data/{domain}/{id}}: changes the fields given. */
    Future<Response> patch(String name, String id, String type, byte[] body, String application) {
        return update(name, id, type, body, application, "patch", Requests.Mode.PATCH);
    }

    private Future<Response> update(String name, String id, String type, byte[] body, String application, String operation,
            Requests.Mode mode) {
        return serve(name, operation, application, d -> {
            Object key = requests.key(d, id);
            return router.update(d, key, requests.body(d, type, body, mode, key), mode == Requests.Mode.REPLACE)
                    .map(s -> s.value() == null ? notFound(d, id, s) : ok(Response.ok(), s, d.json(s.value())));
        });
    }

    /** {@code DELETE /data/{domain}/{id}}. */
    Future<Response> delete(String name, String id, String application) {
        return serve(name, "delete", application, d -> router.delete(d, requests.key(d, id)).map(s -> s.value()
                ? ok(Response.noContent(), s, (String) null)
                : notFound(d, id, s)));
    }

    /**
     * A 201 whose {@code Location} is where the created record is read: the path, with the key
     * encoded as one path segment (a space or / included), relative to the address the client called.
     */
    private static Response.ResponseBuilder created(Domain d, Object key) {
        return Response.status(Response.Status.CREATED).header("Location", location(d, key));
    }

    /** Where a created record is read, with the key encoded as one path segment (a space or / included). */
    static String location(Domain d, Object key) {
        StringBuilder path = new StringBuilder("/data/");
        segment(path, d.name());
        return segment(path.append('/'), d.keyText(key)).toString();
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    /** Appends {@code text} as one path segment: unreserved characters as they are, every other UTF-8 byte %-encoded. */
    static StringBuilder segment(StringBuilder path, String text) {
        for (byte b : text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
                path.append(c);
            } else {
                path.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
        return path;
    }

    /** {@code GET /data/{domain}/{id}}. */
    Future<Response> read(String name, String id, String application) {
        return serve(name, "get", application, d -> get(d, id));
    }

    private Future<Response> get(Domain d, String id) {
        return router.get(d, requests.key(d, id)).map(s -> s.value() == null ? notFound(d, id, s) : ok(Response.ok(), s, d.json(s.value())));
    }

    /** Runs one data API request: bounded by the request timeout, failures as problems, timed. */
    private Future<Response> serve(String name, String operation, String application, Function<Domain, Future<Response>> work) {
        long start = System.nanoTime();
        Domain domain = domains.find(name).orElse(null);
        Future<Response> result;
        if (domain == null) {
            result = Future.succeededFuture(Problems.response(ApiException.notFound("There is no domain '" + name + "'; GET /data lists them")));
        } else {
            try {
                result = bounded(vertx, requestMillis, work.apply(domain)).recover(e -> Future.succeededFuture(failure(domain, operation, e)));
            } catch (RuntimeException e) {
                result = Future.succeededFuture(failure(domain, operation, e));
            }
        }
        return result.onSuccess(r -> timer(domain == null ? "unknown" : domain.name(), operation, application,
                        r.getHeaderString(Problems.ORIGIN), outcome(r.getStatus()))
                .record(System.nanoTime() - start, TimeUnit.NANOSECONDS));
    }

    /**
     * The request's work, failed with a TimeoutException past the request timeout. The timer runs
     * on the calling event loop: {@code Future.timeout} on a future with no context (what the SQL
     * client's composed futures are) would schedule and cancel it on a shared thread, waking that
     * thread twice per request.
     */
    static <T> Future<T> bounded(Vertx vertx, long millis, Future<T> work) {
        if (work.isComplete()) return work;
        Promise<T> bounded = Promise.promise();
        long timer = vertx.setTimer(millis, t -> bounded.tryFail(new java.util.concurrent.TimeoutException()));
        work.onComplete(ar -> {
            vertx.cancelTimer(timer);
            if (ar.succeeded()) bounded.tryComplete(ar.result());
            else bounded.tryFail(ar.cause());
        });
        return bounded.future();
    }

    private Timer timer(String domain, String operation, String application, String origin, String outcome) {
        String o = origin == null ? "none" : origin;
        return timers.computeIfAbsent(new TimerKey(domain, operation, application, o, outcome), k -> Timer.builder("turnout_requests")
                .description("Data API requests by domain, operation, calling application, serving store and outcome")
                .tag("domain", domain)
                .tag("operation", operation)
                .tag("application", application)
                .tag("origin", o)
                .tag("outcome", outcome)
                // a few buckets that fit a proxy's latencies; backfill throttling reads its p99 from them (LatencyWatch)
                .serviceLevelObjectives(BUCKETS)
                .register(registry));
    }

    private Response failure(Domain domain, String operation, Throwable e) {
        if (e instanceof java.util.concurrent.TimeoutException) {
            Stage stage = router.stage(domain);
            Side side = operation.equals("get") || operation.equals("list") ? stage.reads() : stage.writesTo(domain).get(0);
            return Problems.response(new ApiException(503, "timeout", "Timed out",
                    "The " + side.label() + " store of domain " + domain.name() + " did not answer within "
                            + requestMillis / 1000.0 + " s (turnout.timeouts.request); retry later"
                            + (operation.equals("create") ? ", with the same " + IDEMPOTENCY_KEY + " if you sent one" : ""),
                    null, side, stage, RETRY_AFTER_SECONDS));
        }
        if (e instanceof io.turnout.routing.WriteFence.Fenced) {
            return Problems.response(new ApiException(503, "switching", "Switching stores", "Domain " + domain.name()
                    + " is switching its authoritative store and holds more writes than it can; retry in a moment",
                    null, null, router.stage(domain), 1));
        }
        if (e instanceof Idempotency.Mismatch) {
            return Problems.response(new ApiException(422, "idempotency-key-reused", "Idempotency-Key reused",
                    e.getMessage(), IDEMPOTENCY_KEY, null, router.stage(domain), null));
        }
        if (e instanceof SearchFailure sf) {
            Side side = domain.origin(Side.NEW) instanceof SearchStore ? Side.NEW : Side.LEGACY;
            return Problems.response(new ApiException(503, "search-unavailable", "Search origin unavailable",
                    "The search origin '" + sf.origin() + "' serving domain " + domain.name() + " " + sf.getMessage() + "; retry later",
                    null, side, router.stage(domain), (int) sf.retryAfterSeconds()).naming(sf.origin()));
        }
        if (e instanceof ApiException api) return Problems.response(api.servedBy(api.origin, api.stage == null ? router.stage(domain) : api.stage));
        if (e instanceof Kept.Refused refused) {
            return Problems.response(ApiException.badField(refused.field, refused.getMessage()).servedBy(null, router.stage(domain)));
        }
        if (e instanceof StoreException se) {
            var stage = router.stage(domain);
            String store = se.side().label() + " store of domain " + domain.name();
            switch (se.kind()) {
                case CONFLICT:
                    return Problems.response(new ApiException(409, "conflict", "Conflict",
                            "The request conflicts with a record the " + store + " holds (duplicate key or broken reference)",
                            null, se.side(), stage, null));
                case REJECTED:
                    String field = domain.store(se.side()).fieldOfColumn(se.column()).orElse(null);
                    return Problems.response(new ApiException(400, "rejected-by-store", "Rejected by store",
                            "The " + store + " rejected a value" + (field == null ? "" : " of field '" + field + "'"),
                            field, se.side(), stage, null));
                default:
                    return Problems.response(new ApiException(503, "store-unavailable", "Store unavailable",
                            "The " + store + " could not serve the request; retry later", null, se.side(), stage, RETRY_AFTER_SECONDS));
            }
        }
        return new Problems().unexpected(e);
    }

    /**
     * For a lookup by keys ({@code key.in=...} and nothing else) on its last page: the keys asked
     * for that no record has, in the order asked.
     */
    private static Optional<List<String>> missing(Domain d, Query query, List<Record> found) {
        Set<Object> present = new HashSet<>();
        found.forEach(r -> present.add(r.get(d.key().name())));
        return query.keyLookup(d.key()).map(keys -> keys.stream()
                .filter(k -> !present.contains(k))
                .filter(k -> query.after() == null || FieldType.compare(k, query.after()) > 0)
                .distinct()
                .map(d::keyText)
                .toList());
    }

    private Response notFound(Domain d, String id, Served<?> s) {
        Response r = Problems.response(ApiException.notFound("Domain " + d.name() + " has no record with key " + id).servedBy(s.origin(), s.stage()));
        // a fallback read says so on its 404 too
        return s.fallback() ? Response.fromResponse(r).header(Problems.ORIGIN, null).header(Problems.ORIGIN, s.originLabel()).build() : r;
    }

    /** A served answer with its origin and stage headers; the body is JSON, as a string or as the bytes to send. */
    private static Response ok(Response.ResponseBuilder r, Served<?> s, Object body) {
        Problems.headers(r, s.originLabel(), s.stage());
        if (body != null) r.entity(body).type(MediaType.APPLICATION_JSON);
        return r.build();
    }

    private static String outcome(int status) {
        if (status < 400) return "success";
        if (status == 404) return "not_found";
        if (status == 409) return "conflict";
        if (status == 503) return "unavailable";
        return status < 500 ? "client_error" : "error";
    }
}
