package io.turnout.api;

import io.turnout.TurnoutConfig;
import io.vertx.ext.web.Router;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/**
 * Refuses a request whose declared body is larger than {@code turnout.api.max-body-bytes} before
 * the body is read, with a problem document like every other refusal (the HTTP server's own limit
 * would answer an empty 413).
 */
@Singleton
public class BodyLimit {

    void install(@Observes Router router, TurnoutConfig config) {
        int max = config.api().maxBodyBytes();
        // a body without a declared length that passes the HTTP server's ceiling fails the route with 413
        router.route().order(Integer.MIN_VALUE).failureHandler(rc -> {
            if (rc.statusCode() != 413 || rc.response().headWritten()) {
                rc.next();
                return;
            }
            refuse(rc, "The body is larger than the server accepts; at most " + max + " bytes are accepted");
        });
        router.route().order(Integer.MIN_VALUE).handler(rc -> {
            String declared = rc.request().getHeader("Content-Length");
            long length = -1;
            try {
                length = declared == null ? -1 : Long.parseLong(declared.trim());
            } catch (NumberFormatException ignored) {
                // the HTTP server refuses a malformed length itself
            }
            if (length <= max) {
                rc.next();
                return;
            }
            refuse(rc, "The body has " + length + " bytes; at most " + max + " are accepted");
        });
    }

    private static void refuse(io.vertx.ext.web.RoutingContext rc, String detail) {
        ApiException e = new ApiException(413, "body-too-large", "Body too large", detail, null, null, null, null);
        rc.response().setStatusCode(413).putHeader("Content-Type", Problems.PROBLEM_JSON)
                .putHeader("Connection", "close").end(Problems.response(e).getEntity().toString());
    }
}
