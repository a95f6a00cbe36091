package io.turnout.store;

import io.turnout.domain.Side;
import io.vertx.pgclient.PgException;
import java.util.Set;

/**
 * A store failed a request. Says whether the fault is the store's (unavailable: retry later) or
 * the request's (a conflict with a record or constraint), and never carries SQL text to clients.
 */
public final class StoreException extends RuntimeException {

    public enum Kind { UNAVAILABLE, CONFLICT, REJECTED }

    private static final Set<String> CONFLICTS = Set.of("23505", "23503", "23P01", "40001", "40P01");

    private final Kind kind;
    private final Side side;
    private final String column;

    private StoreException(Kind kind, Side side, String column, Throwable cause) {
        super(kind + " in " + side.label() + " store: " + cause.getMessage(), cause);
        this.kind = kind;
        this.side = side;
        this.column = column;
    }

    /** Classifies a failure of the given store. */
    public static StoreException of(Side side, Throwable failure) {
        if (failure instanceof StoreException se) return se;
        if (failure instanceof PgException pg) {
            String state = pg.getSqlState() == null ? "" : pg.getSqlState();
            if (CONFLICTS.contains(state)) return new StoreException(Kind.CONFLICT, side, pg.getColumn(), pg);
            if (state.startsWith("22") || state.equals("23502") || state.equals("23514")) {
                return new StoreException(Kind.REJECTED, side, pg.getColumn(), pg);
            }
        }
        return new StoreException(Kind.UNAVAILABLE, side, null, failure);
    }

    public Kind kind() {
        return kind;
    }

    public Side side() {
        return side;
    }

    /** The store column a rejected value was meant for, when the store said. */
    public String column() {
        return column;
    }

    /** The SQLSTATE, when the store gave one. */
    public String sqlState() {
        return getCause() instanceof PgException pg ? pg.getSqlState() : null;
    }
}
