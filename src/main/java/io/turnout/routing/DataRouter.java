package io.turnout.routing;

import io.micrometer.core.instrument.MeterRegistry;
import io.turnout.db.Database;
import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.flags.StageFlags;
import io.turnout.store.Companion;
import io.turnout.store.MirrorNote;
import io.turnout.search.SearchFailure;
import io.turnout.store.Origin;
import io.turnout.store.OutboxNote;
import io.turnout.store.Query;
import io.turnout.store.Store;
import io.turnout.store.StoreException;
import io.turnout.sync.MirrorBatcher;
import io.turnout.sync.Outbox;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.concurrent.ThreadLocalRandom;
import org.jboss.logging.Logger;

/**
 * Sends each read and write of a domain where its stage says. Writes go to the authoritative store
 * first. When both stores share a database, one statement writes both; when they do not, one
 * statement writes the first store and its outbox entry, and the second store follows in batches.
 * A failed second write never fails the request: its key stays in the outbox until the relay has
 * mirrored it.
 */
@Singleton
public class DataRouter {
    private static final Logger LOG = Logger.getLogger(DataRouter.class);
    /** How long the relay leaves a fresh cross-database entry to the request that wrote it. */
    private static final Duration INLINE_GRACE = Duration.ofSeconds(5);

    /** A result, where it came from, and whether that was a fallback from the origin the stage names. */
    public record Served<T>(T value, Side origin, Stage stage, boolean fallback) {
        Served(T value, Side origin, Stage stage) {
            this(value, origin, stage, false);
        }

        /** The value of {@code X-Turnout-Origin}. */
        public String originLabel() {
            return fallback ? origin.label() + "-fallback" : origin.label();
        }
    }

    /** What a write did to one key: its state afterwards (null when gone) and whether anything changed. */
    private record Outcome(Object key, Record state, boolean changed, Long outboxId) {
        Outcome withOutbox(long id) {
            return new Outcome(key, state, changed, id);
        }
    }

    /** A write to run on the authoritative store, with or without an outbox note. */
    private interface Op {
        Future<Outcome> apply(Store store, SqlClient client, Companion companion);
    }

    private final StageFlags flags;
    private final Outbox outbox;
    private final MirrorBatcher batcher;
    private final ShadowReads shadow;

    public DataRouter(StageFlags flags, Outbox outbox, MirrorBatcher batcher, MeterRegistry registry) {
        this.flags = flags;
        this.outbox = outbox;
        this.batcher = batcher;
        this.shadow = new ShadowReads(registry);
    }

    public Stage stage(Domain domain) {
        return flags.stage(domain.name());
    }

    public Future<Served<Record>> get(Domain domain, Object key) {
        Stage stage = stage(domain);
        return read(domain, stage, origin -> origin.get(key))
                .onSuccess(served -> stage.comparedWith()
                        .filter(other -> !served.fallback() && ThreadLocalRandom.current().nextDouble() < domain.shadowSampleRate())
                        .ifPresent(other -> shadow.compare(domain, key, served.value(), domain.origin(other))));
    }

    public Future<Served<List<Record>>> list(Domain domain, Query query) {
        return read(domain, stage(domain), origin -> origin.list(query));
    }

    /**
     * Reads from the origin the stage names. A search origin that cannot answer fails the read
     * (503), unless the domain opted in to serving it from the other store meanwhile.
     */
    private <T> Future<Served<T>> read(Domain domain, Stage stage, Function<Origin, Future<T>> op) {
        Side side = stage.reads();
        Origin origin = domain.origin(side);
        return op.apply(origin)
                .map(v -> new Served<>(v, side, stage))
                .recover(e -> {
                    if (e instanceof SearchFailure && origin.fallsBack()) {
                        Side other = side.other();
                        return op.apply(domain.origin(other))
                                .map(v -> new Served<>(v, other, stage, true))
                                .recover(e2 -> Future.failedFuture(StoreException.of(other, e2)));
                    }
                    return Future.failedFuture(e instanceof SearchFailure ? e : StoreException.of(side, e));
                });
    }

    public Future<Served<Record>> create(Domain domain, Record values) {
        return write(domain, (store, tx, note) -> store.insert(tx, values, note)
                .map(w -> new Outcome(w.state().get(domain.key().name()), w.state(), true, w.outboxId())))
                .map(s -> new Served<>(s.value().state(), s.origin(), s.stage()));
    }

    /** The record's new state, or a null value when there is no record with that key. */
    public Future<Served<Record>> update(Domain domain, Object key, Record values, boolean replace) {
        return write(domain, (store, tx, note) -> store.update(tx, key, values, replace, note)
                .map(w -> new Outcome(key, w.state(), w.changed(), w.outboxId())))
                .map(s -> new Served<>(s.value().state(), s.origin(), s.stage()));
    }

    /** Whether there was a record to delete. */
    public Future<Served<Boolean>> delete(Domain domain, Object key) {
        return write(domain, (store, tx, note) -> store.delete(tx, key, note).map(w -> new Outcome(key, null, w.changed(), w.outboxId())))
                .map(s -> new Served<>(s.value().changed(), s.origin(), s.stage()));
    }

    private Future<Served<Outcome>> write(Domain domain, Op op) {
        Stage stage = stage(domain);
        List<Side> sides = stage.writesTo(domain);
        Side first = sides.get(0);
        Optional<Side> mirror = sides.size() > 1 ? Optional.of(sides.get(1)) : Optional.empty();
        Store store = domain.store(first);
        Database db = store.database();
        Future<Outcome> done;
        if (mirror.isEmpty()) {
            // one statement on one store: atomic on its own, no transaction round trips needed
            done = op.apply(store, db.pool(), null);
        } else if (domain.sameDatabase()) {
            // both writes in one statement; if the second store fails it, the key goes to the outbox instead
            Side second = mirror.get();
            done = op.apply(store, db.pool(), new MirrorNote(domain.name(), domain.store(second)))
                    .recover(e -> {
                        LOG.warnf("Domain %s: write to both stores failed (%s); writing the %s store and queueing the key",
                                domain.name(), describe(e), first.label());
                        return op.apply(store, db.pool(), new OutboxNote(domain.name(), first, second, outbox.initialBackoff()));
                    });
        } else {
            Side second = mirror.get();
            // the write and its outbox entry are one statement: atomic without a transaction block
            done = op.apply(store, db.pool(), new OutboxNote(domain.name(), first, second, INLINE_GRACE))
                    .compose(out -> out.outboxId() == null ? Future.succeededFuture(out) : mirrorAcross(domain, first, second, out));
        }
        return done.recover(e -> Future.failedFuture(StoreException.of(first, e)))
                .map(out -> new Served<>(out, first, stage));
    }

    /** Stores in two databases: the authoritative write has committed with its outbox entry; mirror now. */
    private Future<Outcome> mirrorAcross(Domain domain, Side first, Side second, Outcome out) {
        return batcher.submit(domain, out.key(), Objects.requireNonNull(out.outboxId()), first, second).map(out);
    }

    static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
}
