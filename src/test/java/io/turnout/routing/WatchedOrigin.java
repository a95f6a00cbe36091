package io.turnout.routing;

import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.store.Origin;
import io.turnout.store.Query;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A real origin seen through a window: records how many keys each comparison read asks for and,
 * while {@link #hold()} is on, keeps those reads unanswered (a store that has stopped answering)
 * until {@link #answer()} lets the real origin answer them.
 */
final class WatchedOrigin implements Origin {
    private final Origin inner;
    /** Keys asked for by each comparison read, in order. */
    final List<Integer> reads = Collections.synchronizedList(new ArrayList<>());
    private final List<Runnable> held = new ArrayList<>();
    private boolean holding;

    WatchedOrigin(Origin inner) {
        this.inner = inner;
    }

    synchronized WatchedOrigin hold() {
        holding = true;
        return this;
    }

    /** Stops holding and lets the real origin answer the reads held so far. */
    void answer() {
        List<Runnable> now;
        synchronized (this) {
            holding = false;
            now = new ArrayList<>(held);
            held.clear();
        }
        now.forEach(Runnable::run);
    }

    @Override
    public Future<List<Record>> compareAll(List<Object> keys) {
        reads.add(keys.size());
        synchronized (this) {
            if (holding) {
                Promise<List<Record>> later = Promise.promise();
                held.add(() -> inner.compareAll(keys).onComplete(later));
                return later.future();
            }
        }
        return inner.compareAll(keys);
    }

    @Override
    public Side side() {
        return inner.side();
    }

    @Override
    public String describe() {
        return inner.describe();
    }

    @Override
    public Future<Record> get(Object key) {
        return inner.get(key);
    }

    @Override
    public Future<List<Record>> getAll(List<Object> keys) {
        return inner.getAll(keys);
    }

    @Override
    public Future<List<Record>> list(Query query) {
        return inner.list(query);
    }
}
