package io.turnout.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The bound every data request runs under (turnout.timeouts.request), on a real Vert.x event loop. */
class RequestBoundTest {
    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    /** Runs {@code DataResource.bounded} on an event loop, as a request does, and waits for its outcome. */
    private <T> CompletableFuture<Object> onEventLoop(long millis, java.util.function.Supplier<Future<T>> work) {
        CompletableFuture<Object> outcome = new CompletableFuture<>();
        vertx.runOnContext(v -> DataResource.bounded(vertx, millis, work.get())
                .onComplete(ar -> outcome.complete(ar.succeeded() ? ar.result() : ar.cause())));
        return outcome;
    }

    @Test
    void workThatNeverAnswersFailsWithATimeoutAtTheBound() throws Exception {
        long start = System.nanoTime();
        Object outcome = onEventLoop(200, () -> Promise.<String>promise().future()).get(5, TimeUnit.SECONDS);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(outcome).isInstanceOf(TimeoutException.class);
        assertThat(millis).isBetween(190L, 2_000L);
    }

    @Test
    void workThatAnswersInTimeGivesItsAnswerOrItsFailure() throws Exception {
        Object answered = onEventLoop(5_000, () -> {
            Promise<String> p = Promise.promise();
            vertx.setTimer(20, t -> p.complete("row"));
            return p.future();
        }).get(5, TimeUnit.SECONDS);
        assertThat(answered).isEqualTo("row");

        IllegalStateException failure = new IllegalStateException("store down");
        Object failed = onEventLoop(5_000, () -> {
            Promise<String> p = Promise.promise();
            vertx.setTimer(20, t -> p.fail(failure));
            return p.future();
        }).get(5, TimeUnit.SECONDS);
        assertThat(failed).isSameAs(failure);

        // answered on the event loop right after the request started: passed on at once
        CompletableFuture<Boolean> cancelled = new CompletableFuture<>();
        vertx.runOnContext(v -> {
            Promise<String> p = Promise.promise();
            Future<String> bounded = DataResource.bounded(vertx, 60_000, p.future());
            p.complete("done");
            cancelled.complete(bounded.succeeded() && "done".equals(bounded.result()));
        });
        assertThat(cancelled.get(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void workAlreadyDoneIsReturnedAsItIs() {
        Future<String> done = Future.succeededFuture("row");
        assertThat(DataResource.bounded(vertx, 1, done)).isSameAs(done);
    }
}
