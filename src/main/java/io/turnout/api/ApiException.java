package io.turnout.api;

import io.turnout.domain.Side;
import io.turnout.routing.Stage;

/** A request that cannot be served, with what the client should be told (RFC 9457 problem). */
public class ApiException extends RuntimeException {
    final int status;
    final String slug;
    final String title;
    final String field;
    final Side origin;
    final Stage stage;
    final Integer retryAfterSeconds;
    /** The name of the origin that failed, for problems about a search origin. */
    String originName;

    ApiException(int status, String slug, String title, String detail, String field, Side origin, Stage stage,
            Integer retryAfterSeconds) {
        super(detail, null, false, false);
        this.status = status;
        this.slug = slug;
        this.title = title;
        this.field = field;
        this.origin = origin;
        this.stage = stage;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    static ApiException badField(String field, String detail) {
        return new ApiException(400, "invalid-field", "Invalid field", detail, field, null, null, null);
    }

    static ApiException badRequest(String slug, String title, String detail) {
        return new ApiException(400, slug, title, detail, null, null, null, null);
    }

    public static ApiException notFound(String detail) {
        return new ApiException(404, "not-found", "Not found", detail, null, null, null, null);
    }

    ApiException servedBy(Side origin, Stage stage) {
        ApiException e = new ApiException(status, slug, title, getMessage(), field, origin, stage, retryAfterSeconds);
        e.originName = originName;
        return e;
    }

    ApiException naming(String origin) {
        this.originName = origin;
        return this;
    }
}
