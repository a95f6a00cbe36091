package io.turnout.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.turnout.support.Browser;
import io.turnout.support.TurnoutProcess;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Signing in to the console with OIDC, as in production: the browser goes to the provider
 * (mock-oauth2-server, a real OIDC server with discovery, JWKS and the authorization code flow),
 * comes back with a code, trades it for a token with PKCE, and the control API admits the token by
 * its claims.
 */
class ConsoleOidcIT {
    private TurnoutProcess p;
    private MockOAuth2Server oidc;
    private Browser browser;

    @AfterEach
    void stop() {
        if (browser != null) browser.close();
        if (p != null) p.close();
        if (oidc != null) oidc.shutdown();
    }

    private DefaultOAuth2TokenCallback person(String subject, List<String> roles) {
        return new DefaultOAuth2TokenCallback("turnout", subject, "JWT", List.of("turnout"), Map.of("roles", roles), 600);
    }

    @Test
    void aPersonSignsInThroughTheProviderAndActsByTheRolesOfTheirToken() throws Exception {
        oidc = new MockOAuth2Server();
        oidc.start();
        String issuer = oidc.issuerUrl("turnout").toString();
        p = TurnoutProcess.in(Path.of("target/it-console-oidc"), TurnoutProcess.flagsAt("legacy"), Map.of("TURNOUT_AUTH_MODE", "oidc",
                "QUARKUS_OIDC_TENANT_ENABLED", "true", "QUARKUS_OIDC_AUTH_SERVER_URL", issuer, "QUARKUS_OIDC_TOKEN_AUDIENCE", "turnout",
                "TURNOUT_CONSOLE_OIDC_CLIENT_ID", "turnout-console", "TURNOUT_AUTH_OIDC_NAME_CLAIM", "sub"))
                .withoutTestKeys();
        p.credential(oidc.issueToken("turnout", "probe", person("probe", List.of("operator"))).serialize()).start();

        browser = new Browser();
        oidc.enqueueCallback(person("ada", List.of("release-manager")));
        browser.open("http://localhost:" + p.port() + "/console/#/domains/connections");
        browser.shown("#oidc-sign-in").click();
        // to the provider and back, then the token exchange from the page itself
        browser.await(30, "signed in through the provider", d -> browser.find("#who").getText().contains("ada"));
        assertThat(browser.find("#who").getText()).contains("release-manager");
        assertThat(browser.driver().getCurrentUrl()).as("back where the person started, without the code")
                .endsWith("/console/#/domains/connections");
        browser.await(15, "the domain page", d -> !browser.all("#stage-track li.applied").isEmpty());
        assertThat(browser.all("[data-action]")).as("a release manager's actions").isNotEmpty();
        browser.assertNoErrors();

        // an operator's token shows everything and no action
        browser.find("#sign-out").click();
        oidc.enqueueCallback(person("olga", List.of("operator")));
        browser.shown("#oidc-sign-in").click();
        browser.await(30, "signed in as the operator", d -> browser.find("#who").getText().contains("olga"));
        browser.await(15, "the domain page", d -> !browser.all("#audit-title").isEmpty() && !browser.find("#audit").getText().isBlank());
        assertThat(browser.all("[data-action]")).isEmpty();
        browser.assertNoErrors();
    }
}
