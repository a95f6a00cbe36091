package io.turnout.store;

import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.vertx.core.Future;
import java.util.List;

/**
 * Where a domain's reads can be served from: a table {@link Store}, or a read-only search origin
 * that the domain's writes never reach.
 */
public interface Origin {

    Side side();

    /** How problems and logs name this origin, e.g. {@code new store} or {@code search origin 'connectra'}. */
    String describe();

    /** The record with this key, or null. */
    Future<Record> get(Object key);

    /** The records with these keys that exist. */
    Future<List<Record>> getAll(List<Object> keys);

    /**
     * The records with these keys that exist, read for a comparison (a shadow read): on
     * connections of their own where the origin has them, so a comparison with a hung store
     * never waits in line with, or delays, the reads clients are served.
     */
    default Future<List<Record>> compareAll(List<Object> keys) {
        return keys.size() == 1 ? get(keys.get(0)).map(r -> r == null ? List.<Record>of() : List.of(r)) : getAll(keys);
    }

    /** Records matching the query, in key order. */
    Future<List<Record>> list(Query query);

    /** Why this origin cannot express a filter operator, or null when it can. */
    default String unsupported(Filter.Op op) {
        return null;
    }

    /** Whether reads may be served by the other store while this origin cannot answer. */
    default boolean fallsBack() {
        return false;
    }
}
