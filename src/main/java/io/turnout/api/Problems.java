package io.turnout.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.domain.Side;
import io.turnout.routing.Stage;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import java.util.UUID;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * Turns every failure into an {@code application/problem+json} response. Unexpected errors are
 * logged with an id that the response repeats, and nothing of their text reaches the client.
 */
public class Problems {
    static final String PROBLEM_JSON = "application/problem+json";
    static final String ORIGIN = "X-Turnout-Origin";
    static final String STAGE = "X-Turnout-Stage";
    private static final Logger LOG = Logger.getLogger(Problems.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    @ServerExceptionMapper
    public Response api(ApiException e) {
        return response(e);
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        int status = e.getResponse().getStatus();
        String title = e.getResponse().getStatusInfo().getReasonPhrase();
        String detail = status == 415 ? "Send the body as application/json" : title;
        return response(new ApiException(status, "http-" + status, title, detail, null, null, null, null));
    }

    @ServerExceptionMapper
    public Response unexpected(Throwable e) {
        return unexpectedResponse(e);
    }

    /** A 500 problem for an unexpected failure: logged with an id the response repeats, and nothing more. */
    static Response unexpectedResponse(Throwable e) {
        String id = UUID.randomUUID().toString();
        LOG.errorf(e, "Unexpected failure, problem id %s", id);
        return response(new ApiException(500, "internal", "Internal error",
                "Turnout failed to handle the request; the server log has the details under id " + id, null, null, null, null));
    }

    /** A problem response for any failure of the control API. */
    public static Response fromFailure(Throwable e) {
        if (e instanceof ApiException api) return response(api);
        if (e instanceof io.turnout.routing.WriteFence.Fenced fenced) {
            return response(new ApiException(503, "switching", "Switching stores", fenced.getMessage() + "; retry in a moment",
                    null, null, null, 1));
        }
        if (e instanceof io.turnout.sync.Backfill.Refused refused) {
            return response(new ApiException(refused.conflict ? 409 : 400, "refused", "Refused", refused.getMessage(), null, null, null, null));
        }
        if (e instanceof io.turnout.store.StoreException || e instanceof io.vertx.pgclient.PgException
                || e instanceof java.net.ConnectException || e instanceof io.vertx.core.VertxException) {
            return response(new ApiException(503, "store-unavailable", "Store unavailable",
                    "A database Turnout needs did not answer; retry later", null, null, null, 5));
        }
        return new Problems().unexpected(e);
    }

    /** Any other problem of the control API: status, a short type slug, title and detail, optionally a Retry-After. */
    public static ApiException problem(int status, String slug, String title, String detail, Integer retryAfterSeconds) {
        return new ApiException(status, slug, title, detail, null, null, null, retryAfterSeconds);
    }

    public static Response notFound(String detail) {
        return response(ApiException.notFound(detail));
    }

    /** A 400 naming the offending field or parameter. */
    public static ApiException invalid(String field, String detail) {
        return ApiException.badField(field, detail);
    }

    /** Parses an optional JSON object body of the control API; an empty body is an empty object. */
    public static com.fasterxml.jackson.databind.JsonNode jsonObject(ObjectMapper json, byte[] body, String contentType) {
        if (body == null || body.length == 0) return json.createObjectNode();
        Requests.requireJson(contentType);
        return Requests.parse(json, body);
    }

    static Response response(ApiException e) {
        ObjectNode body = JSON.createObjectNode();
        body.put("type", "urn:turnout:problem:" + e.slug);
        body.put("title", e.title);
        body.put("status", e.status);
        body.put("detail", e.getMessage());
        if (e.field != null) body.put("field", e.field);
        if (e.originName != null) body.put("origin", e.originName);
        Response.ResponseBuilder r = Response.status(e.status).type(PROBLEM_JSON).entity(body.toString());
        headers(r, e.origin, e.stage);
        if (e.retryAfterSeconds != null) r.header("Retry-After", e.retryAfterSeconds);
        return r.build();
    }

    static void headers(Response.ResponseBuilder r, Side origin, Stage stage) {
        headers(r, origin == null ? null : origin.label(), stage);
    }

    static void headers(Response.ResponseBuilder r, String origin, Stage stage) {
        if (origin != null) r.header(ORIGIN, origin);
        if (stage != null) r.header(STAGE, stage.label());
    }
}
