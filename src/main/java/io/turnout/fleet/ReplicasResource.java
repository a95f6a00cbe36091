package io.turnout.fleet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.api.Problems;
import io.turnout.auth.Gatekeeper;
import io.turnout.control.Audit;
import io.quarkus.vertx.http.runtime.CurrentVertxRequest;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * {@code GET /admin/replicas}: every replica running or stopped within the hour, its state
 * ({@code live}, {@code stale}: no heartbeat within {@code turnout.fleet.stale-after},
 * {@code stopped}) and the stage it routes each domain by; {@code self} marks the one answering.
 * {@code POST /admin/replicas/{id}/forget} records a stale replica, gone for good, as stopped.
 */
@Path("/admin/replicas")
public class ReplicasResource {
    private final Replicas replicas;
    private final ObjectMapper json;
    private final Audit audit;
    private final CurrentVertxRequest request;

    public ReplicasResource(Replicas replicas, ObjectMapper json, Audit audit, CurrentVertxRequest request) {
        this.replicas = replicas;
        this.json = json;
        this.audit = audit;
        this.request = request;
    }

    @GET
    public CompletionStage<Response> list() {
        return replicas.all().map(all -> {
            ObjectNode body = json.createObjectNode();
            ArrayNode a = body.putArray("replicas");
            for (Replicas.Replica r : all) a.add(toJson(json, r, replicas.id()));
            return Response.ok(body.toString(), MediaType.APPLICATION_JSON).build();
        }).otherwise(Problems::fromFailure).toCompletionStage();
    }

    /** Forgets a stale replica (release-manager): 404 when no stale replica has that id, a live one included. */
    @POST
    @Path("/{id}/forget")
    public CompletionStage<Response> forget(@PathParam("id") String id) {
        String actor = Gatekeeper.of(request.getCurrent()).name();
        return replicas.forget(id).compose(found -> {
            if (!found) throw io.turnout.api.ApiException.notFound("There is no stale replica '" + id
                    + "': only a replica without a heartbeat for turnout.fleet.stale-after can be forgotten");
            return audit.write(Audit.ALL_DOMAINS, "replica-forgotten", actor, null, null, "recorded as stopped by hand", Map.of("replica", id))
                    .map(v -> Response.ok(json.createObjectNode().put("forgotten", id).toString(), MediaType.APPLICATION_JSON).build());
        }).otherwise(Problems::fromFailure).toCompletionStage();
    }

    /** One replica as the control API shows it. */
    public static ObjectNode toJson(ObjectMapper json, Replicas.Replica r, String self) {
        ObjectNode o = json.createObjectNode().put("id", r.id()).put("host", r.host()).put("version", r.version())
                .put("state", r.state()).put("self", r.id().equals(self))
                .put("startedAt", r.startedAt().toString()).put("heartbeatAt", r.heartbeatAt().toString());
        if (r.stoppedAt() != null) o.put("stoppedAt", r.stoppedAt().toString());
        ObjectNode stages = o.putObject("stages");
        r.stages().forEach(stages::put);
        return o;
    }
}
