package io.turnout.routing;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import jakarta.inject.Singleton;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Holds a domain's writes while its authoritative store changes. Client writes and copies between
 * the stores enter and leave the fence; {@link #close} stops new ones (writes wait, copies are
 * refused and retried by their owners) and completes once none is in flight; {@link #open} lets
 * the waiting writes through, which then route by the stage applied meanwhile. Nothing waits
 * unbounded: stage control opens the fence again within its time limit whatever happens.
 */
@Singleton
public class WriteFence {
    /** Writes a closed fence holds at most per domain; beyond that a write is refused (503) rather than queued. */
    static final int MAX_HELD = 10_000;

    /** A copy refused while the fence is closed: its owner retries it later. */
    public static final class Fenced extends RuntimeException {
        public Fenced(String domain) {
            super("Domain " + domain + " is switching its authoritative store; copies wait until it has");
        }

        private Fenced(String message, boolean exact) {
            super(message);
        }

        /** A write or copy refused for the reason given. */
        public static Fenced because(String message) {
            return new Fenced(message, true);
        }
    }

    private static final class Gate {
        int writes;
        int copies;
        boolean closed;
        Promise<Void> idle;
        final Queue<Runnable> held = new ArrayDeque<>();
    }

    private final Map<String, Gate> gates = new ConcurrentHashMap<>();

    private Gate gate(String domain) {
        return gates.computeIfAbsent(domain, d -> new Gate());
    }

    /** Completes when the write may run; call {@link #leaveWrite} once it has. */
    public Future<Void> enterWrite(String domain) {
        Gate g = gate(domain);
        synchronized (g) {
            if (!g.closed) {
                g.writes++;
                return Future.succeededFuture();
            }
            if (g.held.size() >= MAX_HELD) return Future.failedFuture(new Fenced(domain));
            Promise<Void> go = Promise.promise();
            Context context = Vertx.currentContext();
            g.held.add(() -> {
                if (context == null) go.complete();
                else context.runOnContext(v -> go.complete());
            });
            return go.future();
        }
    }

    public void leaveWrite(String domain) {
        leave(domain, false);
    }

    /** Admits a copy into either store, or fails with {@link Fenced} while the fence is closed. */
    public Future<Void> enterCopy(String domain) {
        Gate g = gate(domain);
        synchronized (g) {
            if (g.closed) return Future.failedFuture(new Fenced(domain));
            g.copies++;
            return Future.succeededFuture();
        }
    }

    public void leaveCopy(String domain) {
        leave(domain, true);
    }

    private void leave(String domain, boolean copy) {
        Gate g = gate(domain);
        Promise<Void> idle;
        synchronized (g) {
            if (copy) g.copies--;
            else g.writes--;
            idle = idle(g);
        }
        if (idle != null) idle.tryComplete();
    }

    /** Stops new writes and copies; completes when none is in flight any more. */
    public Future<Void> close(String domain) {
        Gate g = gate(domain);
        Promise<Void> promise = Promise.promise();
        Promise<Void> idle;
        synchronized (g) {
            g.closed = true;
            g.idle = promise;
            idle = idle(g);
        }
        if (idle != null) idle.tryComplete();
        return promise.future();
    }

    /** Lets writes through again; returns how many waited. */
    public int open(String domain) {
        Gate g = gate(domain);
        Runnable[] waiting;
        synchronized (g) {
            g.closed = false;
            g.idle = null;
            waiting = g.held.toArray(new Runnable[0]);
            g.held.clear();
            g.writes += waiting.length;
        }
        for (Runnable r : waiting) r.run();
        return waiting.length;
    }

    /** Writes waiting at the closed fence right now. */
    public int held(String domain) {
        Gate g = gate(domain);
        synchronized (g) {
            return g.held.size();
        }
    }

    /** The promise to complete (outside the lock) when the closed fence has nothing in flight. */
    private static Promise<Void> idle(Gate g) {
        return g.closed && g.idle != null && g.writes == 0 && g.copies == 0 ? g.idle : null;
    }
}
