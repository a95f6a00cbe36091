package io.turnout.control;

import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.vertx.core.runtime.context.VertxContextSafetyToggle;
import io.smallrye.common.vertx.VertxContext;
import io.smallrye.mutiny.Uni;
import io.turnout.db.Databases;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * Runs work on the control records (Hibernate Reactive) from any thread: each unit on a fresh
 * duplicated Vert.x context of its own, in one transaction, and never waited on longer than its
 * bound.
 */
@Singleton
public class ControlRecords {
    private final Vertx vertx;
    private final Databases databases;

    public ControlRecords(Vertx vertx, Databases databases) {
        this.vertx = vertx;
        this.databases = databases;
    }

    /** {@code work} in one transaction, failing with what it was for when it has not finished within {@code timeout}. */
    public <T> Future<T> transaction(Duration timeout, String what, Supplier<Uni<T>> work) {
        Context context = VertxContext.createNewDuplicatedContext(vertx.getOrCreateContext());
        VertxContextSafetyToggle.setContextSafe(context, true);
        Promise<T> done = Promise.promise();
        // the control tables may still be being brought up to date while Turnout starts
        databases.whenReady().onComplete(ready -> {
            if (ready.failed()) {
                done.fail(ready.cause());
                return;
            }
            context.runOnContext(v -> Panache.withTransaction(work)
                    .ifNoItem().after(timeout).failWith(() -> new IllegalStateException("timed out after " + timeout.toMillis()
                            + " ms trying to " + what))
                    .subscribe().with(done::tryComplete, done::tryFail));
        });
        return done.future();
    }
}
