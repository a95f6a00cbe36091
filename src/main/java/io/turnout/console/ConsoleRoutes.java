package io.turnout.console;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.turnout.TurnoutConfig;
import io.vertx.ext.web.Router;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.net.URI;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The release managers' console: a page and its scripts under {@code /console/}
 * (src/main/resources/META-INF/resources/console), served by Turnout like any static file. The page
 * holds no data: everything it shows comes from the control API with the credential the person signs
 * in with, so the control API's roles decide what it shows and allows.
 */
@Singleton
public class ConsoleRoutes {
    private final TurnoutConfig config;
    private final Optional<String> issuer;
    private final ObjectMapper json;

    public ConsoleRoutes(TurnoutConfig config, @ConfigProperty(name = "quarkus.oidc.auth-server-url") Optional<String> issuer,
            ObjectMapper json) {
        this.config = config;
        this.issuer = issuer;
        this.json = json;
    }

    void onMain(@Observes Router router) {
        // the page's own assets only: no script, style or frame from anywhere else, and calls only to
        // Turnout and the OIDC provider
        String connect = "'self'" + issuer.map(ConsoleRoutes::origin).map(o -> " " + o).orElse("");
        String policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect
                + "; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
        router.route("/console*").order(-10).handler(rc -> {
            rc.response().putHeader("Content-Security-Policy", policy).putHeader("X-Content-Type-Options", "nosniff")
                    .putHeader("Referrer-Policy", "no-referrer");
            // revalidated on every load, so a browser never runs the page of an older Turnout against a newer API
            rc.addHeadersEndHandler(v -> rc.response().headers().set("Cache-Control", "no-cache"));
            rc.next();
        });
        // a route for /console also matches /console/, which the page itself answers
        router.get("/console").order(-9).handler(rc -> {
            if (rc.request().path().equals("/console")) rc.redirect("/console/");
            else rc.next();
        });
        router.get("/console/config.json").order(-9).handler(rc -> rc.response()
                .putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store").end(settings()));
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
