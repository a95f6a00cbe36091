import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.net.URI;

/**
 * Backfill and verification benchmark on 1,000,000-row tables: Turnout's online, chunked,
 * checkpointed backfill against one INSERT ... SELECT in the same run, and Turnout's verification
 * against one checksum scan of both tables. Run through bench/backfill.
 */
public class BackfillBench {
    /**
     * The control API's client: the JDK's, synchronous. Vert.x's client, driven from this main
     * thread, sometimes handed a response over without the body the server had sent (seen on the
     * wire), when the body arrived before the caller asked for it.
     */
    static final java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    static URI base;
    static Pool main;
    static Pool messages;

    /** Runs the benchmark; a failure ends the process (the Vert.x threads would keep it alive) with its cause. */
    public static void main(String[] args) {
        try {
            run(args);
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
    }

    static void run(String[] args) throws Exception {
        base = URI.create(args[0]);
        int pgPort = Integer.parseInt(args[1]);
        Vertx vertx = Vertx.vertx();
        main = pool(vertx, pgPort, "main");
        messages = pool(vertx, pgPort, "messages");
        long rows = count(main, "SELECT count(*) FROM user_connections");
        int rounds = Integer.parseInt(System.getenv().getOrDefault("BENCH_ROUNDS", "3"));
        // the demo rows were just written: vacuumed now, so autovacuum does not land on one run or another
        sql(main, "VACUUM ANALYZE user_connections, direct_messages, users");

        // baseline: the whole copy as one statement inside PostgreSQL. Each copy measured here starts
        // after a checkpoint, so none pays for flushing what the one before it wrote; baseline and
        // Turnout take turns, round after round
        double[] baselineCopy = new double[rounds];
        double[] oneDb = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            sql(main, "TRUNCATE company_connections");
            sql(main, "CHECKPOINT");
            long t0 = System.nanoTime();
            sql(main, "INSERT INTO company_connections (id, user_id, peer_user_id, status, connection_type, company_id, created_at) "
                    + "SELECT id, user_id, connected_user_id, status, 'direct', NULL, created_at FROM user_connections");
            baselineCopy[r] = seconds(t0);
            sql(main, "TRUNCATE company_connections");
            sql(main, "VACUUM ANALYZE company_connections");
            sql(main, "CHECKPOINT");
            oneDb[r] = backfill("connections", 10000);
        }

        // baseline: one checksum scan of each table, of the tables the last backfill left
        double[] baselineScan = new double[rounds];
        double[] verification = new double[rounds];
        boolean clean = true;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            sql(main, "SELECT count(*), sum(hashtextextended(ROW(id, user_id, connected_user_id, status, created_at)::text, 0)) FROM user_connections");
            sql(main, "SELECT count(*), sum(hashtextextended(ROW(id, user_id, peer_user_id, status, created_at)::text, 0)) FROM company_connections");
            baselineScan[r] = seconds(t0);
            t0 = System.nanoTime();
            clean &= verify("connections").getBoolean("clean");
            verification[r] = seconds(t0);
        }

        // baseline: the fastest copy between two databases there is, binary COPY out of the legacy table
        // piped into COPY of the new one (its indexes and reference checks included), no locks, no chunks
        // as many rounds as the other cases: the first runs the copy's path before the JIT has compiled
        // it, and a median of two would be half that round
        double[] baselinePipe = new double[rounds];
        double[] twoDb = new double[rounds];
        long piped = 0;
        for (int r = 0; r < rounds; r++) {
            sql(messages, "TRUNCATE messages");
            sql(messages, "CHECKPOINT");
            long t0 = System.nanoTime();
            piped = copyPipe(pgPort);
            baselinePipe[r] = seconds(t0);
            sql(messages, "TRUNCATE messages");
            sql(messages, "VACUUM ANALYZE messages");
            sql(messages, "CHECKPOINT");
            twoDb[r] = backfill("messages", 5000);
        }

        // seed 002: one record over two tables, through the SQL mappings of both stores
        long users = count(main, "SELECT count(*) FROM users");
        long integrations = count(main, "SELECT sum(num_nonnulls(gmail_linked_at, calendar_linked_at, telegram_linked_at, signal_linked_at, "
                + "whatsapp_linked_at)) FROM users");
        // baseline: seed 002's normalisation as two statements inside PostgreSQL, no JSON, no chunks
        sql(main, "TRUNCATE accounts.users CASCADE");
        sql(main, "CHECKPOINT");
        long t0 = System.nanoTime();
        sql(main, "INSERT INTO accounts.users (id, email, display_name, created_at, updated_at) "
                + "SELECT id, email, display_name, created_at, updated_at FROM users");
        StringBuilder services = new StringBuilder();
        for (String s : new String[] {"gmail", "calendar", "telegram", "signal", "whatsapp"}) {
            services.append(services.length() == 0 ? "" : ", ").append("('").append(s).append("', u.").append(s).append("_access_token, u.")
                    .append(s).append("_refresh_token, u.").append(s).append("_client_id, u.").append(s).append("_granted_scopes, u.")
                    .append(s).append("_auth_code, u.").append(s).append("_external_id, u.").append(s).append("_linked_at)");
        }
        sql(main, "INSERT INTO accounts.user_integrations (user_id, service_id, access_token, refresh_token, client_id, granted_scopes, "
                + "auth_code, external_id, linked_at) SELECT u.id, v.* FROM users u CROSS JOIN LATERAL (VALUES " + services
                + ") AS v(service_id, access_token, refresh_token, client_id, granted_scopes, auth_code, external_id, linked_at) "
                + "WHERE v.linked_at IS NOT NULL");
        double baselineMapped = seconds(t0);
        sql(main, "TRUNCATE accounts.users CASCADE");
        sql(main, "VACUUM ANALYZE accounts.users");
        sql(main, "VACUUM ANALYZE accounts.user_integrations");
        sql(main, "CHECKPOINT");
        double mapped = backfill("users", 10000);

        System.out.println();
        System.out.printf("Backfill and verification benchmark, %d rows per table, %d cores; medians of %d rounds%n",
                rows, Runtime.getRuntime().availableProcessors(), rounds);
        System.out.printf("  seconds a round: baseline INSERT ... SELECT %s; Turnout one database %s%n", list(baselineCopy), list(oneDb));
        System.out.printf("  seconds a round: baseline COPY pipe %s; Turnout two databases %s%n", list(baselinePipe), list(twoDb));
        System.out.printf("  seconds a round: baseline checksum scan %s; Turnout verification %s%n", list(baselineScan), list(verification));
        // each round's baseline ran right before Turnout's: the ratio within a round leaves out what the machine did between rounds
        System.out.printf("  ratio within each round: one database %s; verification %s%n", list(ratios(baselineCopy, oneDb)),
                list(ratios(baselineScan, verification)));
        System.out.printf("baseline INSERT INTO new SELECT ... FROM legacy   %10.0f rows/s  (%.2f s)%n", rows / median(baselineCopy), median(baselineCopy));
        System.out.printf("Turnout backfill, one database (connections)     %10.0f rows/s  (%.2f s)  = %.2fx baseline (aim: at least 0.7x)%n",
                rows / median(oneDb), median(oneDb), median(baselineCopy) / median(oneDb));
        long messageRows = count(main, "SELECT count(*) FROM direct_messages");
        System.out.printf("baseline COPY out of legacy piped into COPY into new (messages) %10.0f rows/s  (%.2f s)%n",
                piped / median(baselinePipe), median(baselinePipe));
        System.out.printf("Turnout backfill, two databases (messages)       %10.0f rows/s  (%.2f s)  = %.2fx baseline (aim: at least 100,000 rows/s)%n",
                messageRows / median(twoDb), median(twoDb), median(baselinePipe) / median(twoDb) * messageRows / piped);
        System.out.printf("Turnout backfill, SQL-mapped (users, seed 002)  %10.0f records/s (%.2f s, %d users + %d integrations) "
                + "= %.2fx the one-database rate per record (aim: at least 0.5x)%n",
                users / mapped, mapped, users, integrations, (users / mapped) / (rows / median(oneDb)));
        System.out.printf("  baseline: the same normalisation as two INSERT ... SELECT  %10.0f records/s (%.2f s); Turnout = %.2fx of it%n",
                users / baselineMapped, baselineMapped, baselineMapped / mapped);
        System.out.printf("baseline checksum scan of both tables            %10.0f rows/s  (%.2f s)%n", 2 * rows / median(baselineScan),
                median(baselineScan));
        System.out.printf("Turnout verification (connections)               %10.0f rows/s  (%.2f s)  = %.2fx baseline (aim: at least 0.5x); every run clean=%s%n",
                2 * rows / median(verification), median(verification), median(baselineScan) / median(verification), clean);
        vertx.close();
        System.exit(0);
    }

    /** Copies every legacy message into the new table through a binary COPY pipe; returns the rows copied. */
    static long copyPipe(int port) throws Exception {
        String out = "COPY (SELECT id, sender_id, receiver_id, body, is_read, deleted_by_sender AND deleted_by_receiver, deleted_by_sender, "
                + "deleted_by_receiver, parent_message_id, attachment_url, attachment_name, created_at, updated_at, read_at "
                + "FROM direct_messages ORDER BY id) TO STDOUT (FORMAT binary)";
        String in = "COPY messages (id, sender_id, recipient_id, content, is_read, is_deleted, is_deleted_by_sender, is_deleted_by_recipient, "
                + "reply_to_id, file_url, file_name, created_at, updated_at, read_at) FROM STDIN (FORMAT binary)";
        try (java.sql.Connection from = java.sql.DriverManager.getConnection("jdbc:postgresql://localhost:" + port + "/main", "postgres", "");
                java.sql.Connection to = java.sql.DriverManager.getConnection("jdbc:postgresql://localhost:" + port + "/messages", "postgres", "")) {
            java.io.PipedInputStream pipeIn = new java.io.PipedInputStream(1 << 20);
            java.io.PipedOutputStream pipeOut = new java.io.PipedOutputStream(pipeIn);
            java.util.concurrent.CompletableFuture<Long> reading = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try (pipeOut) {
                    return new org.postgresql.copy.CopyManager(from.unwrap(org.postgresql.core.BaseConnection.class)).copyOut(out, pipeOut);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long rows = new org.postgresql.copy.CopyManager(to.unwrap(org.postgresql.core.BaseConnection.class)).copyIn(in, pipeIn);
            reading.join();
            return rows;
        }
    }

    static Pool pool(Vertx vertx, int port, String db) {
        return PgBuilder.pool().with(new PoolOptions().setMaxSize(2))
                .connectingTo(new PgConnectOptions().setHost("localhost").setPort(port).setUser("postgres").setDatabase(db))
                .using(vertx).build();
    }

    static double backfill(String domain, int chunk) throws Exception {
        long t0 = System.nanoTime();
        JsonObject started = call(HttpMethod.POST, "/admin/migrations/" + domain + "/backfill", "{\"chunkSize\":" + chunk + "}");
        if (!started.getString("state").equals("running")) throw new IllegalStateException(started.encode());
        while (true) {
            JsonObject run = poll("/admin/migrations/" + domain + "/backfill");
            if (run.getString("state").equals("done")) return seconds(t0);
            if (!run.getString("state").equals("running")) throw new IllegalStateException(run.encode());
            pollInterval();
        }
    }

    static JsonObject verify(String domain) throws Exception {
        long id = call(HttpMethod.POST, "/admin/migrations/" + domain + "/verification", null).getLong("run");
        while (true) {
            JsonObject run = poll("/admin/migrations/" + domain + "/verification/" + id);
            if (!run.getString("state").equals("running")) return run;
            pollInterval();
        }
    }

    /** A status read; one that fails is reported and read again, a few times at most. */
    static JsonObject poll(String path) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return call(HttpMethod.GET, path, null);
            } catch (Exception e) {
                if (attempt == 5) throw e;
                System.err.println("  status read failed, reading again: " + e.getMessage());
            }
        }
    }

    static JsonObject call(HttpMethod method, String path, String body) throws Exception {
        java.net.http.HttpRequest.Builder request = java.net.http.HttpRequest.newBuilder(base.resolve(path))
                .timeout(java.time.Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .method(method.name(), body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
                        : java.net.http.HttpRequest.BodyPublishers.ofString(body));
        String key = System.getenv("TURNOUT_BENCH_KEY");
        if (key != null) request.header("Authorization", "Bearer " + key);
        java.net.http.HttpResponse<String> r = http.send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) throw new IllegalStateException(method + " " + path + " answered " + r.statusCode() + ": " + r.body());
        if (r.body().isEmpty()) throw new IllegalStateException(method + " " + path + " answered " + r.statusCode() + " without a body");
        return new JsonObject(r.body());
    }

    /** Between two status reads of a run that is still going. */
    static void pollInterval() {
        java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
    }

    static void sql(Pool pool, String sql) throws Exception {
        long t0 = System.nanoTime();
        pool.query(sql).execute().toCompletionStage().toCompletableFuture().get();
        System.err.printf("  %.2f s  %s%n", seconds(t0), sql.length() > 60 ? sql.substring(0, 60) + "..." : sql);
    }

    static long count(Pool pool, String sql) throws Exception {
        return pool.query(sql).execute().toCompletionStage().toCompletableFuture().get().iterator().next().getLong(0);
    }

    /** Each round's baseline time over Turnout's: Turnout's speed as a share of the baseline's in that round. */
    static double[] ratios(double[] baseline, double[] turnout) {
        double[] out = new double[baseline.length];
        for (int i = 0; i < out.length; i++) out[i] = baseline[i] / turnout[i];
        return out;
    }

    /** The middle value; of an even number, the mean of the two middle ones. */
    static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static String list(double[] values) {
        StringBuilder out = new StringBuilder();
        for (double v : values) out.append(out.length() == 0 ? "" : " ").append(String.format("%.2f", v));
        return out.toString();
    }

    static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
