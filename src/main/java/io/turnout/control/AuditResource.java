package io.turnout.control;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.api.Problems;
import io.turnout.domain.Domains;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.concurrent.CompletionStage;

/**
 * {@code GET /admin/audit?domain=&since=&after=&limit=&order=}: audit entries oldest first (or, with
 * {@code order=newest}, newest first), a page at a time; {@code next} is the {@code after} of the
 * following page (keyset pagination, stable while entries are appended).
 */
@Path("/admin/audit")
public class AuditResource {
    private static final int MAX_LIMIT = 1000;

    private final Audit audit;
    private final Domains domains;
    private final ObjectMapper json;

    public AuditResource(Audit audit, Domains domains, ObjectMapper json) {
        this.audit = audit;
        this.domains = domains;
        this.json = json;
    }

    @GET
    public CompletionStage<Response> page(@QueryParam("domain") String domain, @QueryParam("since") String since,
            @QueryParam("after") String after, @QueryParam("limit") String limit, @QueryParam("order") String order) {
        try {
            if (order != null && !order.equals("oldest") && !order.equals("newest")) {
                throw Problems.invalid("order", "'order' must be oldest or newest");
            }
            if (domain != null && domains.find(domain).isEmpty()) throw Problems.invalid("domain", "There is no domain '" + domain + "'");
            OffsetDateTime from = null;
            if (since != null) {
                try {
                    from = OffsetDateTime.parse(since);
                } catch (DateTimeParseException e) {
                    throw Problems.invalid("since", "'since' must be an ISO-8601 time with offset, e.g. 2026-11-23T10:00:00Z");
                }
            }
            long afterId = whole(after, "after", 0, Long.MAX_VALUE, 0);
            int size = (int) whole(limit, "limit", 1, MAX_LIMIT, 100);
            return audit.page(domain, from, afterId, size, "newest".equals(order)).map(entries -> {
                ObjectNode body = json.createObjectNode();
                ArrayNode a = body.putArray("entries");
                for (Audit.Entry e : entries) {
                    ObjectNode o = a.addObject().put("id", e.id()).put("at", e.at().toString()).put("domain", e.domain())
                            .put("action", e.action()).put("actor", e.actor());
                    if (e.from() != null) o.put("from", e.from());
                    if (e.to() != null) o.put("to", e.to());
                    if (e.reason() != null) o.put("reason", e.reason());
                    if (e.detail() != null) o.set("detail", json.valueToTree(e.detail()));
                }
                if (entries.size() == size) body.put("next", String.valueOf(entries.get(entries.size() - 1).id()));
                else body.putNull("next");
                return Response.ok(body.toString(), MediaType.APPLICATION_JSON).build();
            }).otherwise(Problems::fromFailure).toCompletionStage();
        } catch (RuntimeException e) {
            return java.util.concurrent.CompletableFuture.completedFuture(Problems.fromFailure(e));
        }
    }

    private static long whole(String text, String name, long min, long max, long otherwise) {
        if (text == null) return otherwise;
        try {
            long v = Long.parseLong(text.trim());
            if (v >= min && v <= max) return v;
        } catch (NumberFormatException e) {
            // answered below
        }
        throw Problems.invalid(name, "'" + name + "' must be a whole number from " + min + " to " + max);
    }
}
