package io.turnout.console;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.TurnoutConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.quarkus.vertx.http.ManagementInterface;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The release managers' console: a page, its script and its styles under {@code /console/}
 * (src/main/resources/console), on the port that serves the control API. The page holds no data:
 * everything it shows comes from the control API with the credential the person signs in with, so
 * the control API's roles decide what it shows and allows.
 */
@Singleton
public class ConsoleRoutes {
    private final TurnoutConfig config;
    private final Optional<String> issuer;
    private final ObjectMapper json;
    /** The page's own files only: no script, style or frame from anywhere else, and calls only to Turnout and the OIDC provider. */
    private final String policy;

    public ConsoleRoutes(TurnoutConfig config, @ConfigProperty(name = "quarkus.oidc.auth-server-url") Optional<String> issuer,
            ObjectMapper json) {
        this.config = config;
        this.issuer = issuer;
        this.json = json;
        String connect = "'self'" + issuer.map(ConsoleRoutes::origin).map(o -> " " + o).orElse("");
        this.policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect
                + "; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
    }

    /** On the data port, unless the control API is served on the management port. */
    void onMain(@Observes Router router) {
        if (!config.control().port().equals("management")) router.route("/console*").order(-10).handler(this::serve);
    }

    /** On the management port, with the control API it calls ({@code turnout.control.port=management}). */
    void onManagement(@Observes ManagementInterface management) {
        if (config.control().port().equals("management")) management.router().route("/console*").order(-10).handler(this::serve);
    }

    private void serve(RoutingContext rc) {
        String path = rc.request().path();
        if (rc.request().method() != HttpMethod.GET && rc.request().method() != HttpMethod.HEAD) {
            rc.next();
            return;
        }
        HttpServerResponse response = rc.response().putHeader("Content-Security-Policy", policy)
                .putHeader("X-Content-Type-Options", "nosniff").putHeader("Referrer-Policy", "no-referrer");
        if (path.equals("/console")) {
            rc.redirect("/console/");
            return;
        }
        if (!path.startsWith("/console/")) {
            // /console* also matches /consolefoo
            rc.next();
            return;
        }
        String name = path.substring("/console/".length());
        if (name.equals("config.json")) {
            response.putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store").end(settings());
            return;
        }
        Asset asset = ASSETS.get(name.isEmpty() ? "index.html" : name);
        if (asset == null) {
            rc.next();
            return;
        }
        // revalidated on every load, so a browser never runs the page of an older Turnout against a newer API
        response.putHeader("Cache-Control", "no-cache").putHeader("ETag", asset.etag());
        if (asset.etag().equals(rc.request().getHeader("If-None-Match"))) {
            response.setStatusCode(304).end();
            return;
        }
        response.putHeader("Content-Type", asset.type()).end(asset.body());
    }

    /** One of the console's files, read once from the classpath. */
    private record Asset(String type, Buffer body, String etag) {}

    /**
     * The console's files, read once and served by this class rather than as static resources, which
     * Quarkus serves on the data port only.
     */
    private static final Map<String, Asset> ASSETS = Map.of(
            "index.html", asset("index.html", "text/html; charset=utf-8"),
            "console.js", asset("console.js", "text/javascript; charset=utf-8"),
            "console.css", asset("console.css", "text/css; charset=utf-8"));

    private static Asset asset(String name, String type) {
        try (InputStream in = ConsoleRoutes.class.getResourceAsStream("/console/" + name)) {
            if (in == null) throw new IllegalStateException("the console's " + name + " is missing from the application");
            byte[] bytes = in.readAllBytes();
            String etag = "\"" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 16) + "\"";
            return new Asset(type, Buffer.buffer(bytes), etag);
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("the console's " + name + " cannot be read", e);
        }
    }

    /** How the console signs people in: the authentication mode and, for OIDC, the provider and the console's client. */
    String settings() {
        ObjectNode body = json.createObjectNode().put("auth", config.auth().mode());
        if (config.auth().mode().equals("oidc") && issuer.isPresent() && config.console().oidcClientId().isPresent()) {
            body.putObject("oidc").put("issuer", issuer.get()).put("clientId", config.console().oidcClientId().get())
                    .put("scope", config.console().oidcScope());
        }
        return body.toString();
    }

    private static String origin(String url) {
        URI u = URI.create(url);
        return u.getScheme() + "://" + u.getAuthority();
    }
}
