package io.turnout.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.vertx.http.ManagementInterface;
import io.quarkus.vertx.http.runtime.security.HttpAuthenticator;
import io.quarkus.vertx.http.runtime.security.QuarkusHttpUser;
import io.turnout.TurnoutConfig;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Optional;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.logging.Logger;

/**
 * Decides, before any endpoint runs, whether the caller may make the request (docs/sre.md,
 * "Access control"): the control API needs a role ({@code GET}: any; changes: release-manager;
 * retirement approval: approver), the data API a grant for the domain ({@code read} for
 * {@code GET}, {@code write} otherwise). No credential or a bad one: 401; the wrong role or
 * domain: 403. Both answer a problem document that says nothing about the credential sent.
 */
@Singleton
public class Gatekeeper {
    private static final Logger LOG = Logger.getLogger(Gatekeeper.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** After the body limit, before every endpoint. */
    private static final int ORDER = Integer.MIN_VALUE + 2;

    /** What a request needs. */
    sealed interface Need {}
    record Open() implements Need {}
    record AnyCaller() implements Need {}
    record ControlRead() implements Need {}
    record Acting(Role role) implements Need {}
    record Data(String domain, Caller.Access access) implements Need {}

    /** Marks a control request handed over from the management router to the main one. */
    private static final String FROM_MANAGEMENT = "turnout.from-management";

    private final TurnoutConfig config;
    private final Instance<HttpAuthenticator> authenticator;
    private final boolean off;
    private final boolean keysMode;
    private final Keys keys;
    private final boolean controlOnManagement;
    private Router main;

    public Gatekeeper(TurnoutConfig config, Instance<HttpAuthenticator> authenticator, Keys keys) {
        this.config = config;
        this.authenticator = authenticator;
        this.off = config.auth().mode().equals("off");
        this.keysMode = config.auth().mode().equals("keys");
        this.keys = keys;
        this.controlOnManagement = switch (config.control().port()) {
            case "data" -> false;
            case "management" -> true;
            default -> throw new IllegalStateException("turnout.control.port '" + config.control().port() + "' must be data or management");
        };
    }

    void onMain(@Observes Router router) {
        this.main = router;
        router.route().order(ORDER).handler(rc -> {
            if (rc.get(FROM_MANAGEMENT) != null) {
                // checked on the management router already
                rc.next();
                return;
            }
            if (controlOnManagement && (isControl(rc.normalizedPath()) || isConsole(rc.normalizedPath()))) {
                refuse(rc, 404, "not-found", "Not found", "The control API and the console are served on the management port (turnout.control.port)");
                return;
            }
            check(rc);
        });
    }

    void onManagement(@Observes ManagementInterface management) {
        Router router = management.router();
        router.route().order(ORDER).handler(this::check);
        if (controlOnManagement) {
            // the control API's endpoints live on the main router: a request for them that came in here is handed over to it
            router.route("/admin/*").order(ORDER + 1).handler(rc -> {
                rc.put(FROM_MANAGEMENT, Boolean.TRUE);
                main.handleContext(rc);
            });
        }
    }

    private static boolean isControl(String path) {
        return path.equals("/admin") || path.startsWith("/admin/");
    }

    private static boolean isConsole(String path) {
        return path.equals("/console") || path.startsWith("/console/");
    }

    private void check(RoutingContext rc) {
        Need need = need(rc.request().method(), rc.normalizedPath());
        if (need instanceof Open) {
            rc.next();
            return;
        }
        if (off) {
            rc.put(Caller.ATTRIBUTE, Caller.ANYONE);
            rc.next();
            return;
        }
        if (keysMode) {
            // an API key is a hash lookup: decided here, on the event loop, without the asynchronous
            // authentication chain that bearer tokens need
            String key = bearer(rc);
            Caller caller = key == null || key.isEmpty() ? null : keys.find(key).orElse(null);
            if (caller == null) {
                unauthorized(rc);
                return;
            }
            admit(rc, need, caller);
            return;
        }
        rc.request().pause();
        authenticator.get().attemptAuthentication(rc).subscribe().with(identity -> {
            rc.request().resume();
            if (identity == null || identity.isAnonymous()) {
                unauthorized(rc);
                return;
            }
            QuarkusHttpUser.setIdentity(identity, rc);
            admit(rc, need, caller(identity));
        }, failure -> {
            rc.request().resume();
            if (!(failure instanceof io.quarkus.security.AuthenticationFailedException)) {
                LOG.warnf("Authentication failed: %s", failure.getClass().getSimpleName());
            }
            unauthorized(rc);
        });
    }

    /** The bearer credential of the request, null when it sends none, empty when it sends another scheme. */
    static String bearer(RoutingContext context) {
        String header = context.request().getHeader("Authorization");
        if (header == null || header.isBlank()) return null;
        String h = header.trim();
        if (h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) return "";
        return h.substring(7).trim();
    }

    /** Lets the request on as {@code caller}, or refuses it with 403 when the caller may not make it. */
    private static void admit(RoutingContext rc, Need need, Caller caller) {
        String refusal = refusal(need, caller);
        if (refusal != null) {
            refuse(rc, 403, "forbidden", "Forbidden", refusal);
            return;
        }
        rc.put(Caller.ATTRIBUTE, caller);
        rc.next();
    }

    /** What the request needs, from its method and path alone. */
    Need need(HttpMethod method, String path) {
        boolean reads = method == HttpMethod.GET || method == HttpMethod.HEAD;
        if (path.startsWith("/q/")) {
            if (path.startsWith("/q/health")) return config.auth().openHealth() ? new Open() : new ControlRead();
            if (path.startsWith("/q/metrics")) return config.auth().openMetrics() ? new Open() : new ControlRead();
            return new ControlRead();
        }
        // the console's page and scripts hold no data: what it shows comes from the control API, with the credential signed in
        if (isConsole(path)) return new Open();
        if (isControl(path)) {
            if (reads) return new ControlRead();
            if (path.matches("/admin/migrations/[^/]+/retirement/approve/?")) return new Acting(Role.APPROVER);
            return new Acting(Role.RELEASE_MANAGER);
        }
        if (path.equals("/data") || path.equals("/data/")) return new AnyCaller();
        if (path.startsWith("/data/")) {
            String rest = path.substring(6);
            int slash = rest.indexOf('/');
            String domain = slash < 0 ? rest : rest.substring(0, slash);
            return new Data(domain, reads ? Caller.Access.READ : Caller.Access.WRITE);
        }
        return new Open();
    }

    /** Why the caller may not make a request that needs {@code need}, or null when it may. */
    static String refusal(Need need, Caller caller) {
        if (need instanceof ControlRead) return caller.mayReadControl() ? null : "This credential has no role for the control API";
        if (need instanceof Acting a) return caller.has(a.role()) ? null : "This needs the role " + a.role().label();
        if (need instanceof Data d) {
            return caller.may(d.domain(), d.access()) ? null
                    : "This credential may not " + d.access().name().toLowerCase(java.util.Locale.ROOT) + " domain " + d.domain();
        }
        return null;
    }

    /** The caller an identity stands for: a key's own grants, or the roles and grants of an OIDC token's claims. */
    private Caller caller(SecurityIdentity identity) {
        Caller known = identity.getAttribute(Caller.ATTRIBUTE);
        if (known != null) return known;
        TurnoutConfig.OidcClaimsConfig claims = config.auth().oidc();
        String name = identity.getPrincipal().getName();
        List<String> roles = List.copyOf(identity.getRoles());
        List<String> grants = List.of();
        if (identity.getPrincipal() instanceof JsonWebToken jwt) {
            name = Optional.ofNullable(text(jwt, claims.nameClaim())).orElse(name);
            roles = strings(jwt, claims.rolesClaim());
            grants = strings(jwt, claims.domainsClaim());
        }
        // grants for domains Turnout does not serve are ignored here: a token may be shared with other services
        return Caller.parse(name, roles.stream().filter(r -> Role.ofLabel(r).isPresent()).toList(), grants,
                new java.util.HashSet<>(grants.stream().map(g -> g.split(":", 2)[0]).toList()), new java.util.ArrayList<>());
    }

    private static String text(JsonWebToken jwt, String claim) {
        Object v = claim(jwt, claim);
        return v == null ? null : v.toString().replace("\"", "");
    }

    private static List<String> strings(JsonWebToken jwt, String claim) {
        Object v = claim(jwt, claim);
        if (v instanceof jakarta.json.JsonArray a) {
            return a.stream().filter(x -> x instanceof jakarta.json.JsonString).map(x -> ((jakarta.json.JsonString) x).getString()).toList();
        }
        if (v instanceof java.util.Collection<?> c) return c.stream().map(Object::toString).toList();
        if (v instanceof jakarta.json.JsonString s) return List.of(s.getString().split("[ ,]+"));
        if (v instanceof String s) return List.of(s.split("[ ,]+"));
        return List.of();
    }

    /** A claim, following {@code a/b} into nested objects. */
    private static Object claim(JsonWebToken jwt, String path) {
        String[] parts = path.split("/");
        Object v = jwt.getClaim(parts[0]);
        for (int i = 1; i < parts.length && v != null; i++) {
            v = v instanceof jakarta.json.JsonObject o ? o.get(parts[i]) : null;
        }
        return v;
    }

    private static void unauthorized(RoutingContext rc) {
        rc.response().putHeader("WWW-Authenticate", "Bearer");
        refuse(rc, 401, "unauthorized", "Unauthorized", "Send a valid credential as 'Authorization: Bearer <key or token>'");
    }

    private static void refuse(RoutingContext rc, int status, String slug, String title, String detail) {
        if (rc.response().ended()) return;
        ObjectNode body = JSON.createObjectNode();
        body.put("type", "urn:turnout:problem:" + slug);
        body.put("title", title);
        body.put("status", status);
        body.put("detail", detail);
        rc.response().setStatusCode(status).putHeader("Content-Type", "application/problem+json").end(body.toString());
    }

    /** The caller of the request being handled, as the gate found it; {@link Caller#ANYONE} when authentication is off. */
    public static Caller of(RoutingContext rc) {
        Caller c = rc == null ? null : rc.get(Caller.ATTRIBUTE);
        return c != null ? c : Caller.ANYONE;
    }
}
