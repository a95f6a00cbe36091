package io.turnout.search;

/**
 * A search origin could not answer. Says why in words fit for a client (never the service's own
 * response text) and, when the breaker is open, how long until it lets a trial call through.
 */
public final class SearchFailure extends RuntimeException {

    /** Why a call failed; also the {@code outcome} tag of the call metric. */
    public enum Kind {
        TIMEOUT("timeout"),
        ERROR_STATUS("error"),
        CONNECTION("connection"),
        MALFORMED("malformed"),
        REJECTED("rejected"),
        BREAKER_OPEN("breaker_open"),
        BULKHEAD_FULL("bulkhead_full");

        public final String tag;

        Kind(String tag) {
            this.tag = tag;
        }
    }

    private final String origin;
    private final Kind kind;
    private final boolean transientFault;
    private final long retryAfterSeconds;

    /** A failure a client may retry after a second: the breaker will open if it persists. */
    SearchFailure(String origin, Kind kind, String reason, boolean transientFault, Throwable cause) {
        this(origin, kind, reason, transientFault, 1, cause);
    }

    SearchFailure(String origin, Kind kind, String reason, boolean transientFault, long retryAfterSeconds, Throwable cause) {
        super(reason, cause, false, false);
        this.origin = origin;
        this.kind = kind;
        this.transientFault = transientFault;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** Name of the search origin under {@code turnout.search}. */
    public String origin() {
        return origin;
    }

    public Kind kind() {
        return kind;
    }

    /** Whether a retry of the same idempotent call may succeed (connection failures, 502/503/504). */
    boolean transientFault() {
        return transientFault;
    }

    /** Seconds a client should wait before trying again. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
