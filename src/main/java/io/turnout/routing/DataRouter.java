package io.turnout.routing;

import io.micrometer.core.instrument.MeterRegistry;
import io.turnout.db.Database;
import io.turnout.db.Tx;
import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.flags.StageFlags;
import io.turnout.store.Query;
import io.turnout.store.Store;
import io.turnout.store.StoreException;
import io.turnout.sync.Mirror;
import io.turnout.sync.Outbox;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiFunction;
import org.jboss.logging.Logger;

/**
 * Sends each read and write of a domain where its stage says. Writes go to the authoritative store
 * first; only when that commits does the other store follow, in the same transaction when both
 * share a database, or through the outbox when they do not. A failed second write never fails the
 * request: its key stays in the outbox until the relay has mirrored it.
 */
@Singleton
public class DataRouter {
    private static final Logger LOG = Logger.getLogger(DataRouter.class);
    /** How long the relay leaves a fresh cross-database entry to the request that wrote it. */
    private static final Duration INLINE_GRACE = Duration.ofSeconds(5);

    /** A result and where it came from. */
    public record Served<T>(T value, Side origin, Stage stage) {}

    /** What a write did to one key: its state afterwards (null when gone) and whether anything changed. */
    private record Outcome(Object key, Record state, boolean changed, Long outboxId) {
        Outcome withOutbox(long id) {
            return new Outcome(key, state, changed, id);
        }
    }

    private final StageFlags flags;
    private final Outbox outbox;
    private final Mirror mirror;
    private final ShadowReads shadow;

    public DataRouter(StageFlags flags, Outbox outbox, Mirror mirror, MeterRegistry registry) {
        this.flags = flags;
        this.outbox = outbox;
        this.mirror = mirror;
        this.shadow = new ShadowReads(registry);
    }

    public Stage stage(Domain domain) {
        return flags.stage(domain.name());
    }

    public Future<Served<Record>> get(Domain domain, Object key) {
        Stage stage = stage(domain);
        Store store = domain.store(stage.reads());
        return store.get(store.database().pool(), key)
                .recover(e -> Future.failedFuture(StoreException.of(stage.reads(), e)))
                .onSuccess(record -> stage.comparedWith()
                        .filter(other -> ThreadLocalRandom.current().nextDouble() < domain.shadowSampleRate())
                        .ifPresent(other -> shadow.compare(domain, key, record, domain.store(other))))
                .map(record -> new Served<>(record, stage.reads(), stage));
    }

    public Future<Served<List<Record>>> list(Domain domain, Query query) {
        Stage stage = stage(domain);
        Store store = domain.store(stage.reads());
        return store.list(store.database().pool(), query)
                .recover(e -> Future.failedFuture(StoreException.of(stage.reads(), e)))
                .map(records -> new Served<>(records, stage.reads(), stage));
    }

    public Future<Served<Record>> create(Domain domain, Record values) {
        return write(domain, (store, tx) -> store.insert(tx, values)
                .map(r -> new Outcome(r.get(domain.key().name()), r, true, null)))
                .map(s -> new Served<>(s.value().state(), s.origin(), s.stage()));
    }

    /** The record's new state, or a null value when there is no record with that key. */
    public Future<Served<Record>> update(Domain domain, Object key, Record values, boolean replace) {
        return write(domain, (store, tx) -> store.update(tx, key, values, replace)
                .map(r -> new Outcome(key, r, r != null, null)))
                .map(s -> new Served<>(s.value().state(), s.origin(), s.stage()));
    }

    /** Whether there was a record to delete. */
    public Future<Served<Boolean>> delete(Domain domain, Object key) {
        return write(domain, (store, tx) -> store.delete(tx, key).map(found -> new Outcome(key, null, found, null)))
                .map(s -> new Served<>(s.value().changed(), s.origin(), s.stage()));
    }

    private Future<Served<Outcome>> write(Domain domain, BiFunction<Store, SqlClient, Future<Outcome>> op) {
        Stage stage = stage(domain);
        Side first = stage.authoritative();
        Store store = domain.store(first);
        Database db = store.database();
        Future<Outcome> done;
        if (stage.mirror().isEmpty()) {
            // one statement on one store: atomic on its own, no transaction round trips needed
            done = op.apply(store, db.pool());
        } else if (domain.sameDatabase()) {
            Side second = stage.mirror().get();
            done = Tx.run(db, tx -> op.apply(store, tx)
                    .compose(out -> out.changed() ? mirrorInTransaction(tx, domain, first, second, out) : Future.succeededFuture(out)));
        } else {
            Side second = stage.mirror().get();
            done = Tx.run(db, tx -> op.apply(store, tx)
                            .compose(out -> out.changed()
                                    ? outbox.record(tx, domain.name(), domain.keyText(out.key()), first, second, INLINE_GRACE).map(out::withOutbox)
                                    : Future.succeededFuture(out)))
                    .compose(out -> out.outboxId() == null ? Future.succeededFuture(out) : mirrorAcross(domain, db, first, second, out));
        }
        return done.recover(e -> Future.failedFuture(StoreException.of(first, e)))
                .map(out -> new Served<>(out, first, stage));
    }

    /** Both stores in one database: mirror in the same transaction, or fall back to the outbox. */
    private Future<Outcome> mirrorInTransaction(SqlClient tx, Domain domain, Side first, Side second, Outcome out) {
        return tx.query("SAVEPOINT turnout_mirror").execute()
                .compose(v -> mirror.applyInTransaction(tx, domain, second, out.key(), out.state()))
                .compose(v -> tx.query("RELEASE SAVEPOINT turnout_mirror").execute())
                .map(out)
                .recover(e -> {
                    LOG.warnf("Domain %s: %s store write of key %s failed (%s); queued in the outbox",
                            domain.name(), second.label(), out.key(), describe(e));
                    return tx.query("ROLLBACK TO SAVEPOINT turnout_mirror").execute()
                            .compose(v -> outbox.record(tx, domain.name(), domain.keyText(out.key()), first, second, outbox.initialBackoff()))
                            .map(out::withOutbox);
                });
    }

    /** Stores in two databases: the authoritative write has committed with its outbox entry; mirror now. */
    private Future<Outcome> mirrorAcross(Domain domain, Database db, Side first, Side second, Outcome out) {
        long id = Objects.requireNonNull(out.outboxId());
        return mirror.sync(domain, out.key(), first, second)
                .compose(v -> outbox.done(db, id))
                .map(out)
                .recover(e -> {
                    LOG.warnf("Domain %s: %s store write of key %s failed (%s); the outbox relay will retry",
                            domain.name(), second.label(), out.key(), describe(e));
                    return outbox.failed(db, id, 0, describe(e)).otherwise((Void) null).map(out);
                });
    }

    static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
}
