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
 * Run through bench/data-plane, which starts Turnout on its embedded default; shares {@link Load}.
 */
public class DataPlaneBench extends Load {
    static final List<String> DOMAINS = List.of("connections", "messages");

    static String base;

    public static void main(String[] args) throws Exception {
        base = args[0];
        int pgPort = Integer.parseInt(args[1]);
        flags = Path.of(args[2]);
        Load.pgPort = pgPort;
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
            setStage(stage, DOMAINS);
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
            setStage(stage, DOMAINS);
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
        setStage("legacy", DOMAINS);

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

}
