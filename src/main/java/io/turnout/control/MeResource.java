package io.turnout.control;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.vertx.http.runtime.CurrentVertxRequest;
import io.turnout.auth.Caller;
import io.turnout.auth.Gatekeeper;
import io.turnout.auth.Role;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/**
 * {@code GET /admin/me}: who the credential stands for and what it may do, so a client (the console)
 * shows only the actions the caller may take. The server decides each request all the same.
 */
@Path("/admin/me")
public class MeResource {
    private final CurrentVertxRequest request;
    private final ObjectMapper json;

    public MeResource(CurrentVertxRequest request, ObjectMapper json) {
        this.request = request;
        this.json = json;
    }

    @GET
    public Response me() {
        Caller caller = Gatekeeper.of(request.getCurrent());
        ObjectNode body = json.createObjectNode().put("name", caller.name());
        ArrayNode roles = body.putArray("roles");
        for (Role r : Role.values()) {
            if (caller.has(r)) roles.add(r.label());
        }
        ArrayNode grants = body.putArray("grants");
        caller.grants().forEach(grants::add);
        body.put("mayAct", caller.has(Role.RELEASE_MANAGER)).put("mayApprove", caller.has(Role.APPROVER));
        return Response.ok(body.toString(), MediaType.APPLICATION_JSON).build();
    }
}
