package io.turnout.routing;

import io.micrometer.core.instrument.MeterRegistry;
import io.turnout.db.Database;
import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.flags.StageFlags;
import io.turnout.store.Companion;
import io.turnout.store.MirrorNote;
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

    /** A result and where it came from. */
    public record Served<T>(T value, Side origin, Stage stage) {}

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
        Side first = stage.authoritative();
        Store store = domain.store(first);
        Database db = store.database();
        Future<Outcome> done;
        if (stage.mirror().isEmpty()) {
            // one statement on one store: atomic on its own, no transaction round trips needed
            done = op.apply(store, db.pool(), null);
        } else if (domain.sameDatabase()) {
            // both writes in one statement; if the second store fails it, the key goes to the outbox instead
            Side second = stage.mirror().get();
            done = op.apply(store, db.pool(), new MirrorNote(domain.name(), domain.store(second)))
                    .recover(e -> {
                        LOG.warnf("Domain %s: write to both stores failed (%s); writing the %s store and queueing the key",
                                domain.name(), describe(e), first.label());
                        return op.apply(store, db.pool(), new OutboxNote(domain.name(), first, second, outbox.initialBackoff()));
                    });
        } else {
            Side second = stage.mirror().get();
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
