package io.turnout.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.vertx.http.runtime.CurrentVertxRequest;
import io.turnout.api.Problems;
import io.turnout.auth.Gatekeeper;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/** Retirement of a domain's legacy tables (docs/release-managers.md, "Retirement"). */
@Path("/admin/migrations/{domain}/retirement")
public class RetirementResource {
    private final Domains domains;
    private final Retirement retirement;
    private final ObjectMapper json;
    private final CurrentVertxRequest request;

    public RetirementResource(Domains domains, Retirement retirement, ObjectMapper json, CurrentVertxRequest request) {
        this.domains = domains;
        this.retirement = retirement;
        this.json = json;
        this.request = request;
    }

    /** The newest request and the removal checklist; with {@code dryRun=true} also the exact statements retirement would run. */
    @GET
    public CompletionStage<Response> get(@PathParam("domain") String name, @QueryParam("dryRun") String dryRun) {
        if (dryRun != null && !dryRun.equals("true") && !dryRun.equals("false")) {
            return CompletableFuture.completedFuture(Problems.fromFailure(Problems.invalid("dryRun", "'dryRun' must be true or false")));
        }
        return with(name, d -> {
            Retirement.Request r = retirement.latest(d);
            ObjectNode body = json.createObjectNode();
            body.put("domain", d.name());
            body.set("request", r == null ? null : requestJson(r));
            if ("true".equals(dryRun)) {
                Retirement.Plan plan = retirement.plan(d);
                body.put("kind", plan.kind());
                ArrayNode sql = body.putArray("statements");
                plan.statements().forEach(sql::add);
                body.set("checklist", checklistJson(plan.checklist()));
            } else {
                body.set("checklist", checklistJson(retirement.checklist(d, r)));
            }
            return Response.ok(body.toString(), MediaType.APPLICATION_JSON).build();
        });
    }

    /** Requests retirement ({@code {"reason": "..."}}); an approver other than the caller approves it. */
    @POST
    public CompletionStage<Response> requestRetirement(@PathParam("domain") String name, @HeaderParam("Content-Type") String type, byte[] body) {
        String actor = actor();
        return with(name, d -> {
            JsonNode req = Problems.jsonObject(json, body, type);
            JsonNode r = req.get("reason");
            if (r == null || !r.isTextual() || r.asText().isBlank() || r.asText().length() > 500) {
                throw Problems.invalid("reason", "'reason' must say why, for the audit (1 to 500 characters)");
            }
            return accepted(retirement.request(d, actor, r.asText().strip()));
        });
    }

    /** Approves the open request: the gates must pass and the caller must not be its requester. */
    @POST
    @Path("/approve")
    public CompletionStage<Response> approve(@PathParam("domain") String name) {
        String actor = actor();
        return with(name, d -> accepted(retirement.approve(d, actor)));
    }

    private String actor() {
        return Gatekeeper.of(request.getCurrent()).name();
    }

    private Response accepted(Retirement.Request r) {
        return Response.accepted(requestJson(r).toString()).type(MediaType.APPLICATION_JSON).build();
    }

    private ObjectNode requestJson(Retirement.Request r) {
        ObjectNode o = json.createObjectNode();
        o.put("id", r.id()).put("kind", r.kind()).put("state", r.state()).put("reason", r.reason())
                .put("requestedBy", r.requestedBy()).put("requestedAt", r.requestedAt().toString())
                .put("expiresAt", r.expiresAt().toString())
                .put("approvedBy", r.approvedBy()).put("approvedAt", r.approvedAt() == null ? null : r.approvedAt().toString());
        o.set("archives", json.valueToTree(r.archives()));
        o.set("renamed", json.valueToTree(r.renamed()));
        o.put("attempts", r.attempts()).put("failure", r.failure());
        return o;
    }

    private ArrayNode checklistJson(List<Retirement.Check> checks) {
        ArrayNode out = json.createArrayNode();
        checks.forEach(c -> out.addObject().put("name", c.name()).put("pass", c.pass()).put("evidence", c.evidence()));
        return out;
    }

    private CompletionStage<Response> with(String name, Function<Domain, Response> work) {
        Domain d = domains.find(name).orElse(null);
        if (d == null) return CompletableFuture.completedFuture(Problems.notFound("There is no domain '" + name + "'"));
        return retirement.offLoop(() -> {
            try {
                return work.apply(d);
            } catch (RuntimeException e) {
                Throwable cause = e.getCause() instanceof io.turnout.api.ApiException api ? api : e;
                return Problems.fromFailure(cause);
            }
        });
    }
}
