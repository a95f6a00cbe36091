package io.turnout.auth;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.IdentityProviderManager;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.runtime.QuarkusPrincipal;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.quarkus.vertx.http.runtime.security.ChallengeData;
import io.quarkus.vertx.http.runtime.security.HttpAuthenticationMechanism;
import io.smallrye.mutiny.Uni;
import io.turnout.TurnoutConfig;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Singleton;

/**
 * {@code Authorization: Bearer <key>} with one of the API keys ({@link Keys}). A request without
 * the header is anonymous; a key Turnout does not hold fails authentication. With
 * {@code turnout.auth.mode: oidc} it steps aside for the OIDC mechanism.
 */
@Singleton
public class ApiKeyMechanism implements HttpAuthenticationMechanism {
    private final Keys keys;
    private final boolean enabled;

    public ApiKeyMechanism(Keys keys, TurnoutConfig config) {
        this.keys = keys;
        this.enabled = config.auth().mode().equals("keys");
    }

    @Override
    public Uni<SecurityIdentity> authenticate(RoutingContext context, IdentityProviderManager identityProviderManager) {
        if (!enabled) return Uni.createFrom().nullItem();
        String token = bearer(context);
        if (token == null) return Uni.createFrom().nullItem();
        return keys.find(token)
                .map(c -> Uni.createFrom().<SecurityIdentity>item(QuarkusSecurityIdentity.builder()
                        .setPrincipal(new QuarkusPrincipal(c.name()))
                        .addRoles(c.roles().stream().map(Role::label).collect(java.util.stream.Collectors.toSet()))
                        .addAttribute(Caller.ATTRIBUTE, c)
                        .build()))
                .orElseGet(() -> Uni.createFrom().failure(new AuthenticationFailedException()));
    }

    /** The bearer credential of the request, or null when it sends none. */
    static String bearer(RoutingContext context) {
        String header = context.request().getHeader("Authorization");
        if (header == null || header.isBlank()) return null;
        String h = header.trim();
        if (h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) return "";
        return h.substring(7).trim();
    }

    @Override
    public Uni<ChallengeData> getChallenge(RoutingContext context) {
        return Uni.createFrom().item(new ChallengeData(401, "WWW-Authenticate", "Bearer"));
    }

    @Override
    public int getPriority() {
        // before the OIDC mechanism, which this one leaves every request to in oidc mode
        return DEFAULT_PRIORITY + 100;
    }
}
