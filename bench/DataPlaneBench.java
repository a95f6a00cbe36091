import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Tuple;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Data-plane benchmark: reads by id (open loop at a fixed rate, latency from the intended send
 * time) and writes (closed loop, fixed concurrency) through Turnout at legacy, dual_write and live,
 * against the same single-row SELECT and INSERT sent straight to PostgreSQL in the same run.
 * Run through bench/data-plane, which starts Turnout on its embedded default.
 */
public class DataPlaneBench {
    static final int READ_RATE = Integer.getInteger("bench.readRate", 1000);
    static final int SECONDS = Integer.getInteger("bench.seconds", 10);
    static final int WRITERS = Integer.getInteger("bench.writers", 32);

    static String base;
    static Path flags;
    static HttpClient http;

    record Result(String name, double perSecond, double p50ms, double p99ms, long errors) {
        String line() {
            return String.format("%-34s %10.0f/s   p50 %7.3f ms   p99 %7.3f ms   errors %d", name, perSecond, p50ms, p99ms, errors);
        }
    }

    public static void main(String[] args) throws Exception {
        base = args[0];
        int pgPort = Integer.parseInt(args[1]);
        flags = Path.of(args[2]);
        Vertx vertx = Vertx.vertx();
        URI uri = URI.create(base);
        http = vertx.createHttpClient(new HttpClientOptions().setDefaultHost(uri.getHost()).setDefaultPort(uri.getPort())
                .setKeepAlive(true).setMaxPoolSize(64));
        Pool pg = PgBuilder.pool().with(new PoolOptions().setMaxSize(16))
                .connectingTo(new PgConnectOptions().setPort(pgPort).setHost("localhost").setUser("postgres").setDatabase("main")
                        .setCachePreparedStatements(true))
                .using(vertx).build();

        List<Result> results = new ArrayList<>();
        // warm up both paths, and every write path at each stage, before measuring anything
        for (String stage : List.of("dual_write", "live", "legacy")) {
            setStage(stage);
            closedLoop("warm-up", () -> post("/data/messages", "{\"sender_id\":1,\"recipient_id\":2,\"content\":\"warm-up\"}", null), 3);
            closedLoop("warm-up", () -> post("/data/connections", "{\"user_id\":1,\"connected_user_id\":2}", null), 3);
        }
        openLoop("warm-up", () -> get("/data/messages/" + randomLegacyId()), 3);
        openLoop("warm-up", () -> sql(pg, "SELECT * FROM direct_messages WHERE id = $1", Tuple.of(randomLegacyId())), 3);

        Result directRead = openLoop("direct SELECT by id", () -> sql(pg, "SELECT * FROM direct_messages WHERE id = $1",
                Tuple.of(randomLegacyId())), SECONDS);
        Result directWrite = closedLoop("direct INSERT", () -> sql(pg,
                "INSERT INTO direct_messages (sender_id, receiver_id, body) VALUES ($1, $2, $3)",
                Tuple.of(1, 2, "bench " + System.nanoTime())), SECONDS);
        results.add(directRead);
        results.add(directWrite);

        List<Long> bothStores = new ArrayList<>();
        List<Result> pairedDirect = new ArrayList<>();
        Result legacyWrite = null, dualWrite = null, legacyWriteOne = null, dualWriteOne = null;
        for (String stage : List.of("legacy", "dual_write", "live")) {
            setStage(stage);
            // reads first, each paired with the direct query measured just before it, so both run in
            // the same state of the database (not in the wake of a write phase's vacuum)
            Result direct = openLoop(stage + ": direct SELECT by id", () -> sql(pg, "SELECT * FROM direct_messages WHERE id = $1",
                    Tuple.of(randomLegacyId())), SECONDS);
            results.add(direct);
            pairedDirect.add(direct);
            List<Long> readable = stage.equals("live") ? bothStores : null;
            Result r = openLoop(stage + ": GET messages by id", () -> get("/data/messages/"
                    + (readable == null ? randomLegacyId() : readable.get(ThreadLocalRandom.current().nextInt(readable.size())))), SECONDS);
            ConcurrentLinkedQueue<Long> created = new ConcurrentLinkedQueue<>();
            Result w = closedLoop(stage + ": POST messages", () -> post("/data/messages",
                    "{\"sender_id\":1,\"recipient_id\":2,\"content\":\"bench " + System.nanoTime() + "\"}", created), SECONDS);
            Result wc = closedLoop(stage + ": POST connections", () -> post("/data/connections",
                    "{\"user_id\":1,\"connected_user_id\":2}", null), SECONDS);
            if (stage.equals("dual_write")) bothStores.addAll(created);
            results.add(r);
            results.add(w);
            results.add(wc);
            if (stage.equals("legacy")) {
                legacyWrite = w;
                legacyWriteOne = wc;
            }
            if (stage.equals("dual_write")) {
                dualWrite = w;
                dualWriteOne = wc;
            }
        }
        setStage("legacy");

        System.out.println();
        System.out.println("Turnout data-plane benchmark: reads open-loop at " + READ_RATE + "/s, writes closed-loop with "
                + WRITERS + " clients, " + SECONDS + " s each, on " + Runtime.getRuntime().availableProcessors() + " cores");
        results.forEach(r -> System.out.println(r.line()));
        System.out.println();
        int pair = 0;
        for (Result r : results) {
            if (r.name().contains("GET")) {
                Result d = pairedDirect.get(pair++);
                System.out.printf("%-34s p99 %.3f ms - direct p99 %.3f ms = %+.3f ms (aim: within 1 ms)%n",
                        r.name(), r.p99ms(), d.p99ms(), r.p99ms() - d.p99ms());
            }
        }
        System.out.printf("dual_write / legacy write throughput (messages, two databases): %.2fx (aim: at least 0.6x)%n",
                dualWrite.perSecond() / legacyWrite.perSecond());
        System.out.printf("dual_write / legacy write throughput (connections, one database): %.2fx%n",
                dualWriteOne.perSecond() / legacyWriteOne.perSecond());
        System.out.printf("legacy POST / direct INSERT throughput: %.2fx%n", legacyWrite.perSecond() / directWrite.perSecond());
        pg.close();
        vertx.close();
        System.exit(0);
    }

    static long randomLegacyId() {
        return 1 + ThreadLocalRandom.current().nextInt(10_000);
    }

    static CompletableFuture<Boolean> sql(Pool pg, String sql, Tuple t) {
        Future<Boolean> f = pg.preparedQuery(sql).execute(t).map(rows -> true);
        return f.toCompletionStage().toCompletableFuture();
    }

    static Future<io.vertx.core.http.HttpClientResponse> send(HttpMethod method, String path, String json) {
        RequestOptions o = new RequestOptions().setMethod(method).setURI(path);
        if (json != null) o.putHeader("Content-Type", "application/json");
        return http.request(o).compose(req -> json == null ? req.send() : req.send(Buffer.buffer(json)));
    }

    static CompletableFuture<Boolean> get(String path) {
        return send(HttpMethod.GET, path, null).compose(r -> r.body().map(b -> r.statusCode() == 200))
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

    static void setStage(String stage) throws Exception {
        StringBuilder json = new StringBuilder("{\"version\":2,\"features\":[");
        String sep = "";
        for (String domain : List.of("connections", "messages")) {
            json.append(sep).append("{\"name\":\"turnout.").append(domain).append(".stage\",\"enabled\":true,\"strategies\":[{\"name\":\"default\",")
                    .append("\"parameters\":{},\"variants\":[{\"name\":\"").append(stage)
                    .append("\",\"weight\":1000,\"weightType\":\"variable\",\"stickiness\":\"default\"}]}],\"variants\":[]}");
            sep = ",";
        }
        Path tmp = Files.createTempFile(flags.toAbsolutePath().getParent(), "flags", ".json");
        Files.writeString(tmp, json.append("]}"));
        Files.move(tmp, flags, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            String body = getBody("/data");
            if (body.split("\"stage\":\"" + stage + "\"", -1).length - 1 == 2) return;
            java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);
        }
        throw new IllegalStateException("Turnout did not apply stage " + stage + " within 10 s");
    }
}
