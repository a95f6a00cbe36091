package io.turnout.routing;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.store.Origin;
import io.turnout.support.Flags;
import io.turnout.support.Metrics;
import io.vertx.core.Vertx;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Shadow comparisons never delay a response and never pile up: with the other store hung (its
 * table locked), every sampled read still answers at once from the store the stage reads and every
 * sample is accounted for soon (compared on a connection of their own, not the client reads');
 * with a store that does not answer at all, at most {@link ShadowReads#MAX_IN_FLIGHT} samples wait
 * and the samples beyond that are dropped and counted.
 */
@QuarkusTest
@TestProfile(ShadowConfirmationTest.EveryRead.class)
class ShadowBoundTest {
    private static final int READS = 200;

    @Inject
    Databases databases;

    @Inject
    Domains domains;

    @Inject
    ShadowReads shadowReads;

    @Inject
    Vertx vertx;

    private static double results(String result) {
        return Math.max(0, Metrics.sum("turnout_shadow_reads_total", "domain=\"connections\"", "result=\"" + result + "\""));
    }

    private static double allResults() {
        return List.of("match", "mismatch", "transient", "error", "dropped").stream().mapToDouble(ShadowBoundTest::results).sum();
    }

    @Test
    void comparisonsWithAHungStoreAreBoundedAndNeverWaitedFor() throws Exception {
        Flags.stage("connections", Stage.SHADOW);
        double allBefore = allResults();
        List<Long> millis = new ArrayList<>();
        String url = "jdbc:postgresql://localhost:" + databases.embeddedPort().orElseThrow() + "/main";
        try (Connection lock = DriverManager.getConnection(url, "postgres", "")) {
            lock.setAutoCommit(false);
            lock.createStatement().execute("LOCK TABLE company_connections IN ACCESS EXCLUSIVE MODE");
            ExecutorService pool = Executors.newFixedThreadPool(16);
            List<Future<Long>> reads = new ArrayList<>();
            for (int i = 1; i <= READS; i++) {
                int id = i;
                reads.add(pool.submit(() -> {
                    long start = System.nanoTime();
                    given().get("/data/connections/" + id).then().statusCode(200).header("X-Turnout-Origin", "legacy");
                    return (System.nanoTime() - start) / 1_000_000;
                }));
            }
            for (Future<Long> r : reads) millis.add(r.get(1, TimeUnit.MINUTES));
            pool.shutdown();
            lock.rollback();
        }
        // comparisons wait on the hung store (100 ms each, one after another); no response waited for one
        assertThat(millis.stream().mapToLong(Long::longValue).max().orElseThrow()).as("slowest read, ms").isLessThan(1_500);
        // every sample is accounted for: compared (error after the lock timeout; or, read after the lock went, a match or a
        // difference) or dropped beyond the bound
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> allResults() - allBefore == READS);
        await().atMost(Duration.ofSeconds(5)).until(() -> shadowReads.inFlight() == 0);
        Flags.stage("connections", Stage.LEGACY);
    }

    @Test
    void atMostTheBoundOfSamplesWaitsForAStoreThatDoesNotAnswerAndTheSamplesBeyondAreDropped() throws Exception {
        int bound = ShadowReads.MAX_IN_FLIGHT;
        int samples = bound + 100;
        Flags.stage("connections", Stage.SHADOW);
        await().atMost(Duration.ofSeconds(5)).until(() -> shadowReads.inFlight() == 0);
        Domain connections = domains.find("connections").orElseThrow();
        Origin legacy = connections.origin(Side.LEGACY);
        WatchedOrigin newStore = new WatchedOrigin(connections.origin(Side.NEW)).hold();
        // what the client was served: what the new store holds, so every comparison that runs matches
        List<Object> ids = new ArrayList<>();
        for (long id = 1; id <= samples; id++) ids.add(id);
        Map<Object, Record> served = new HashMap<>();
        for (Record r : connections.origin(Side.NEW).getAll(ids).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)) {
            served.put(r.get("id"), r);
        }
        double matched = results("match");
        double dropped = results("dropped");

        // all taken in one pass of an event loop, as a burst of requests on one would be
        onAnEventLoop(() -> ids.forEach(id -> shadowReads.compare(connections, id, served.get(id), newStore, legacy)));

        assertThat(shadowReads.inFlight()).as("samples waiting").isEqualTo(bound);
        assertThat(results("dropped") - dropped).as("samples dropped beyond the bound").isEqualTo(samples - bound);
        // enough keys to read start a read without waiting out the gathering time
        assertThat(newStore.reads).as("reads of the new store under way").containsExactly(ShadowReads.EARLY_KEYS);
        newStore.answer();
        // the first read answers, and the samples that waited for it are read together, at once
        await().atMost(Duration.ofSeconds(10)).until(() -> results("match") - matched == bound);
        assertThat(newStore.reads).containsExactly(ShadowReads.EARLY_KEYS, bound - ShadowReads.EARLY_KEYS);
        await().atMost(Duration.ofSeconds(5)).until(() -> shadowReads.inFlight() == 0);
        Flags.stage("connections", Stage.LEGACY);
    }

    /**
     * Samples a domain takes close together are read from the other store in one statement, not
     * one each: the first waits up to {@link ShadowReads#GATHER_MILLIS} for others. A lone sample
     * is still read once that time is up.
     */
    @Test
    void samplesTakenTogetherAreComparedInOneReadAndALoneOneAfterTheGatheringTime() throws Exception {
        Flags.stage("connections", Stage.SHADOW);
        await().atMost(Duration.ofSeconds(5)).until(() -> shadowReads.inFlight() == 0);
        Domain connections = domains.find("connections").orElseThrow();
        Origin legacy = connections.origin(Side.LEGACY);
        WatchedOrigin newStore = new WatchedOrigin(connections.origin(Side.NEW));
        List<Object> ids = new ArrayList<>();
        for (long id = 1; id <= 11; id++) ids.add(id);
        Map<Object, Record> served = new HashMap<>();
        for (Record r : connections.origin(Side.NEW).getAll(ids).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)) {
            served.put(r.get("id"), r);
        }
        double matched = results("match");

        onAnEventLoop(() -> ids.subList(0, 10).forEach(id -> shadowReads.compare(connections, id, served.get(id), newStore, legacy)));
        await().atMost(Duration.ofSeconds(10)).until(() -> results("match") - matched == 10);
        assertThat(newStore.reads).as("keys of each read of the new store").containsExactly(10);

        shadowReads.compare(connections, ids.get(10), served.get(ids.get(10)), newStore, legacy);
        await().atMost(Duration.ofSeconds(10)).until(() -> results("match") - matched == 11);
        assertThat(newStore.reads).as("keys of each read of the new store").containsExactly(10, 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> shadowReads.inFlight() == 0);
        Flags.stage("connections", Stage.LEGACY);
    }

    /** Runs the work on one of Vert.x's event loops, as a request's handler does, and waits for it. */
    private void onAnEventLoop(Runnable work) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        vertx.getOrCreateContext().runOnContext(v -> {
            try {
                work.run();
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        done.get(10, TimeUnit.SECONDS);
    }
}
