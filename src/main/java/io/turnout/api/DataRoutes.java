package io.turnout.api;

import io.turnout.TurnoutConfig;
import io.turnout.auth.Gatekeeper;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The data API's records, {@code /data/{domain}} and {@code /data/{domain}/{id}}, served by routes
 * on the HTTP router that call {@link DataResource}'s work directly: the same bounds, problems,
 * headers and metrics, without the REST layer's per-request resource matching, reader and writer
 * lookups and request scope, which cost more CPU than the rest of a request's work. Runs after the
 * body limit and the gatekeeper, which has admitted the caller. The catalogue ({@code GET /data})
 * stays a REST resource.
 */
@Singleton
public class DataRoutes {
    /** After the body limit and the gatekeeper (Integer.MIN_VALUE + 2), before everything else. */
    private static final int ORDER = Integer.MIN_VALUE + 10;
    private static final String RECORDS = "/data/:domain";
    private static final String RECORD = "/data/:domain/:id";

    private final DataResource data;
    private final int maxBodyBytes;

    public DataRoutes(DataResource data, TurnoutConfig config) {
        this.data = data;
        this.maxBodyBytes = config.api().maxBodyBytes();
    }

    void install(@Observes Router router) {
        // a body longer than the limit, however sent, fails with 413, which BodyLimit answers as a problem
        BodyHandler body = BodyHandler.create(false).setBodyLimit(maxBodyBytes).setHandleFileUploads(false);
        router.get(RECORD).order(ORDER).handler(rc -> serve(rc, app -> data.read(domain(rc), id(rc), app)));
        router.get(RECORDS).order(ORDER).handler(rc -> serve(rc, app -> data.list(domain(rc), query(rc), app)));
        router.post(RECORDS).order(ORDER).handler(body).handler(rc -> serve(rc, app -> data.create(domain(rc),
                header(rc, "Content-Type"), header(rc, DataResource.IDEMPOTENCY_KEY), bytes(rc), app)));
        router.put(RECORD).order(ORDER).handler(body).handler(rc -> serve(rc, app -> data.replace(domain(rc), id(rc),
                header(rc, "Content-Type"), bytes(rc), app)));
        router.patch(RECORD).order(ORDER).handler(body).handler(rc -> serve(rc, app -> data.patch(domain(rc), id(rc),
                header(rc, "Content-Type"), bytes(rc), app)));
        router.delete(RECORD).order(ORDER).handler(rc -> serve(rc, app -> data.delete(domain(rc), id(rc), app)));
        router.route(RECORDS).order(ORDER + 1).handler(rc -> notAllowed(rc, "GET, POST"));
        router.route(RECORD).order(ORDER + 1).handler(rc -> notAllowed(rc, "GET, PUT, PATCH, DELETE"));
    }

    private static String domain(RoutingContext rc) {
        return rc.pathParam("domain");
    }

    private static String id(RoutingContext rc) {
        return rc.pathParam("id");
    }

    private static String header(RoutingContext rc, String name) {
        return rc.request().getHeader(name);
    }

    private static byte[] bytes(RoutingContext rc) {
        return rc.body().available() && rc.body().buffer() != null ? rc.body().buffer().getBytes() : new byte[0];
    }

    private static Map<String, List<String>> query(RoutingContext rc) {
        Map<String, List<String>> params = new LinkedHashMap<>();
        for (String name : rc.queryParams().names()) params.put(name, rc.queryParams().getAll(name));
        return params;
    }

    /** Runs the work for the admitted caller and writes its answer; a failure the work did not turn into a problem is one here. */
    private static void serve(RoutingContext rc, Function<String, Future<Response>> work) {
        Future<Response> answer;
        try {
            answer = work.apply(Gatekeeper.of(rc).name());
        } catch (RuntimeException e) {
            answer = Future.failedFuture(e);
        }
        answer.onComplete(ar -> write(rc, ar.succeeded() ? ar.result() : Problems.unexpectedResponse(ar.cause())));
    }

    private static void notAllowed(RoutingContext rc, String allowed) {
        write(rc, Response.fromResponse(Problems.response(new ApiException(405, "method-not-allowed", "Method not allowed",
                rc.request().method().name() + " is not served here; " + allowed + " are", null, null, null, null)))
                .header("Allow", allowed).build());
    }

    private static void write(RoutingContext rc, Response r) {
        HttpServerResponse out = rc.response();
        if (out.ended() || out.closed()) return;
        out.setStatusCode(r.getStatus());
        for (Map.Entry<String, List<String>> h : r.getStringHeaders().entrySet()) out.putHeader(h.getKey(), h.getValue());
        if (r.getMediaType() != null) out.putHeader("Content-Type", r.getMediaType().toString());
        Object entity = r.getEntity();
        if (entity == null) out.end();
        else if (entity instanceof Buffer bytes) out.end(bytes);
        else out.end(entity.toString());
    }
}
