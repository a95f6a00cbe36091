package io.turnout.fleet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.api.Problems;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.concurrent.CompletionStage;

/**
 * {@code GET /admin/replicas}: every replica running or stopped within the hour, its state
 * ({@code live}, {@code stale}: no heartbeat within {@code turnout.fleet.stale-after},
 * {@code stopped}) and the stage it routes each domain by; {@code self} marks the one answering.
 */
@Path("/admin/replicas")
public class ReplicasResource {
    private final Replicas replicas;
    private final ObjectMapper json;

    public ReplicasResource(Replicas replicas, ObjectMapper json) {
        this.replicas = replicas;
        this.json = json;
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
