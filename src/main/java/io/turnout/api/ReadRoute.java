package io.turnout.api;

import io.turnout.auth.Gatekeeper;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /data/{domain}/{id}}, the data API's most frequent request, served by a route on the
 * HTTP router rather than through the REST layer: the same work, bounds, problems, headers and
 * metrics as {@link DataResource} (which it calls), without the per-request resource lookup and
 * writer selection. Runs after the gatekeeper, which has admitted the caller.
 */
@Singleton
public class ReadRoute {
    /** After the body limit and the gatekeeper (Integer.MIN_VALUE + 2), before everything else. */
    private static final int ORDER = Integer.MIN_VALUE + 10;

    private final DataResource data;

    public ReadRoute(DataResource data) {
        this.data = data;
    }

    void install(@Observes Router router) {
        router.get("/data/:domain/:id").order(ORDER).handler(this::read);
    }

    private void read(RoutingContext rc) {
        data.read(rc.pathParam("domain"), rc.pathParam("id"), Gatekeeper.of(rc).name())
                .onComplete(ar -> write(rc, ar.succeeded() ? ar.result() : Problems.unexpectedResponse(ar.cause())));
    }

    private static void write(RoutingContext rc, Response r) {
        HttpServerResponse out = rc.response();
        if (out.ended() || out.closed()) return;
        out.setStatusCode(r.getStatus());
        for (Map.Entry<String, List<String>> h : r.getStringHeaders().entrySet()) out.putHeader(h.getKey(), h.getValue());
        if (r.getMediaType() != null) out.putHeader("Content-Type", r.getMediaType().toString());
        Object entity = r.getEntity();
        if (entity == null) out.end();
        else out.end(entity.toString());
    }
}
