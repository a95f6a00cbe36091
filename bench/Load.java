import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/** Load generation shared by the benchmarks: open and closed loops, percentiles, HTTP calls, stage changes. */
public class Load {
    static final int READ_RATE = Integer.getInteger("bench.readRate", 1000);
    static final int SECONDS = Integer.getInteger("bench.seconds", 10);
    static final int WRITERS = Integer.getInteger("bench.writers", 32);

    static HttpClient http;
    /** The API key the benchmark script configured (bench/keys.sh). */
    static final String KEY = System.getenv("TURNOUT_BENCH_KEY");
    static Path flags;
    /** Port of the embedded PostgreSQL; when set, {@link #setStage} records the stage as applied (benchmark setup). */
    static int pgPort;

    record Result(String name, double perSecond, double p50ms, double p99ms, long errors) {
        String line() {
            return String.format("%-40s %10.0f/s   p50 %7.3f ms   p99 %7.3f ms   errors %d", name, perSecond, p50ms, p99ms, errors);
        }
    }

    static Future<io.vertx.core.http.HttpClientResponse> send(HttpMethod method, String path, String json) {
        return send(http, method, path, json);
    }

    static Future<io.vertx.core.http.HttpClientResponse> send(HttpClient client, HttpMethod method, String path, String json) {
        RequestOptions o = new RequestOptions().setMethod(method).setURI(path);
        if (KEY != null) o.putHeader("Authorization", "Bearer " + KEY);
        if (json != null) o.putHeader("Content-Type", "application/json");
        return client.request(o).compose(req -> json == null ? req.send() : req.send(Buffer.buffer(json)));
    }

    static CompletableFuture<Boolean> get(String path) {
        return get(http, path, 200);
    }

    /** A GET whose answer counts as an error unless it has the expected status. */
    static CompletableFuture<Boolean> get(HttpClient client, String path, int status) {
        return send(client, HttpMethod.GET, path, null).compose(r -> r.body().map(b -> r.statusCode() == status))
                .toCompletionStage().toCompletableFuture();
    }

    static String getBody(String path) throws Exception {
        return send(HttpMethod.GET, path, null).compose(r -> r.body()).toCompletionStage().toCompletableFuture().get().toString();
    }

    static CompletableFuture<Boolean> post(String path, String json, ConcurrentLinkedQueue<Long> ids) {
        return send(HttpMethod.POST, path, json).compose(r -> r.body().map(b -> {
            if (r.statusCode() != 201) return false;
            if (ids != null) {
                String body = b.toString();
                int i = body.indexOf("\"id\":") + 5;
                ids.add(Long.parseLong(body.substring(i, body.indexOf(',', i))));
            }
            return true;
        })).toCompletionStage().toCompletableFuture();
    }

    /** Sends at a fixed rate regardless of answers; latency counts from when each request was due. */
    static Result openLoop(String name, Supplier<CompletableFuture<Boolean>> op, int seconds) throws Exception {
        int total = READ_RATE * seconds;
        long[] latencies = new long[total];
        AtomicLong errors = new AtomicLong();
        CompletableFuture<?>[] all = new CompletableFuture<?>[total];
        long start = System.nanoTime();
        long interval = 1_000_000_000L / READ_RATE;
        for (int i = 0; i < total; i++) {
            long due = start + i * interval;
            long wait = due - System.nanoTime();
            if (wait > 0) java.util.concurrent.locks.LockSupport.parkNanos(wait);
            int n = i;
            all[i] = op.get().handle((ok, e) -> {
                latencies[n] = System.nanoTime() - due;
                if (e != null || !ok) errors.incrementAndGet();
                return null;
            });
        }
        CompletableFuture.allOf(all).join();
        double elapsed = (System.nanoTime() - start) / 1e9;
        return summary(name, latencies, total / elapsed, errors.get());
    }

    /** A fixed number of clients, each sending its next request when the last one is answered. */
    static Result closedLoop(String name, Supplier<CompletableFuture<Boolean>> op, int seconds) {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        AtomicLong errors = new AtomicLong();
        long start = System.nanoTime();
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int c = 0; c < WRITERS; c++) {
            clients.add(loop(op, end, latencies, errors));
        }
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).join();
        double elapsed = (System.nanoTime() - start) / 1e9;
        long[] l = latencies.stream().mapToLong(Long::longValue).toArray();
        return summary(name, l, l.length / elapsed, errors.get());
    }

    static CompletableFuture<Void> loop(Supplier<CompletableFuture<Boolean>> op, long end, ConcurrentLinkedQueue<Long> latencies, AtomicLong errors) {
        if (System.nanoTime() >= end) return CompletableFuture.completedFuture(null);
        long t0 = System.nanoTime();
        return op.get().handle((ok, e) -> {
            latencies.add(System.nanoTime() - t0);
            if (e != null || !ok) errors.incrementAndGet();
            return null;
        }).thenCompose(v -> loop(op, end, latencies, errors));
    }

    static Result summary(String name, long[] latencies, double rate, long errors) {
        long[] sorted = latencies.clone();
        Arrays.sort(sorted);
        return new Result(name, rate, pct(sorted, 0.50), pct(sorted, 0.99), errors);
    }

    static double pct(long[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }

    /** Writes the flag file with these domains at {@code stage} and waits until Turnout applies it to all of them. */
    static void setStage(String stage, List<String> domains) throws Exception {
        StringBuilder json = new StringBuilder("{\"version\":2,\"features\":[");
        String sep = "";
        for (String domain : domains) {
            json.append(sep).append("{\"name\":\"turnout.").append(domain).append(".stage\",\"enabled\":true,\"strategies\":[{\"name\":\"default\",")
                    .append("\"parameters\":{},\"variants\":[{\"name\":\"").append(stage)
                    .append("\",\"weight\":1000,\"weightType\":\"variable\",\"stickiness\":\"default\"}]}],\"variants\":[]}");
            sep = ",";
        }
        Path tmp = Files.createTempFile(flags.toAbsolutePath().getParent(), "flags", ".json");
        Files.writeString(tmp, json.append("]}"));
        Files.move(tmp, flags, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        if (pgPort > 0) force(stage, domains);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            String body = getBody("/data");
            if (domains.stream().allMatch(d -> java.util.regex.Pattern.compile("\"name\":\"" + d + "\",\"key\":\"[^\"]*\",\"stage\":\"" + stage + "\"")
                    .matcher(body).find())) {
                return;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);
        }
        throw new IllegalStateException("Turnout did not apply stage " + stage + " within 30 s");
    }

    /**
     * Puts the domains at {@code stage} without walking the gates, as setup for measuring a stage:
     * once Turnout has read the flag, the control database records the stage as applied.
     */
    static void force(String stage, List<String> domains) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        for (String d : domains) {
            while (!getBody("/admin/migrations/" + d).contains("\"desired\":\"" + stage + "\"")) {
                if (System.nanoTime() > deadline) throw new IllegalStateException("Turnout did not read the flag of " + d);
                java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);
            }
        }
        io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
        try {
            io.vertx.sqlclient.SqlConnection c = io.vertx.pgclient.PgConnection.connect(vertx, new io.vertx.pgclient.PgConnectOptions()
                    .setPort(pgPort).setHost("localhost").setUser("postgres").setDatabase("main")).toCompletionStage().toCompletableFuture().get();
            for (String d : domains) {
                c.preparedQuery("UPDATE turnout_stage SET applied = $2, desired = $2, changed_at = clock_timestamp(), "
                                + "mirrored_since = CASE WHEN $2 IN ('dual_write', 'shadow', 'live', 'rampdown') THEN clock_timestamp() END WHERE domain = $1")
                        .execute(io.vertx.sqlclient.Tuple.of(d, stage)).toCompletionStage().toCompletableFuture().get();
            }
            c.close();
        } finally {
            vertx.close();
        }
    }
}
