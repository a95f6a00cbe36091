import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.PreparedQuery;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.format.DateTimeFormatter;

/**
 * The anchor of the data-path benchmark: the fastest shape a Java HTTP-to-PostgreSQL path takes
 * (TechEmpower's top Vert.x/Quarkus reactive entries). One event loop per core, each with one
 * pipelined PostgreSQL connection and cached prepared statements; one prepared SELECT by key, one
 * prepared INSERT ... RETURNING and one prepared UPDATE ... RETURNING of a status by key, of the same
 * row and columns Turnout serves for connections at legacy, their JSON written straight into the
 * response. No validation, no routing by stage, no
 * metrics, no authentication: what is left is the floor Turnout's ratios are measured against.
 * With {@code consolidated} as a third argument, its connections send the statements an event loop
 * queues in one pass in one write, as Turnout's pipelined reads do (Netty's FlushConsolidationHandler):
 * the same floor with that one technique added, to show what Turnout's own work costs on top.
 *
 *   java -cp "target/quarkus-app/lib/main/*:classes" Anchor HTTP_PORT PG_PORT [consolidated]
 */
public class Anchor extends AbstractVerticle {
    private static final String SELECT = "SELECT id, user_id, connected_user_id, status, created_at FROM user_connections WHERE id = $1";
    private static final String INSERT = "INSERT INTO user_connections (user_id, connected_user_id, status) VALUES ($1, $2, $3) "
            + "RETURNING id, user_id, connected_user_id, status, created_at";
    private static final String UPDATE = "UPDATE user_connections SET status = $2 WHERE id = $1 "
            + "RETURNING id, user_id, connected_user_id, status, created_at";

    private final int httpPort;
    private final int pgPort;
    private final boolean consolidated;
    private SqlClient pg;
    private PreparedQuery<RowSet<Row>> select;
    private PreparedQuery<RowSet<Row>> insert;
    private PreparedQuery<RowSet<Row>> update;

    Anchor(int httpPort, int pgPort, boolean consolidated) {
        this.consolidated = consolidated;
        this.httpPort = httpPort;
        this.pgPort = pgPort;
    }

    public static void main(String[] args) {
        int httpPort = Integer.parseInt(args[0]);
        int pgPort = Integer.parseInt(args[1]);
        boolean consolidated = args.length > 2 && args[2].equals("consolidated");
        int loops = Runtime.getRuntime().availableProcessors();
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops).setPreferNativeTransport(true));
        vertx.deployVerticle(() -> new Anchor(httpPort, pgPort, consolidated), new DeploymentOptions().setInstances(loops))
                .onSuccess(id -> System.out.println("anchor listening on " + httpPort + " with " + loops + " event loops"))
                .onFailure(e -> {
                    e.printStackTrace();
                    System.exit(1);
                });
    }

    @Override
    public void start(io.vertx.core.Promise<Void> started) {
        PgConnectOptions options = new PgConnectOptions().setHost("localhost").setPort(pgPort).setDatabase("main").setUser("postgres")
                .setPassword("").setCachePreparedStatements(true).setPipeliningLimit(256);
        // one connection for this event loop: its requests pipeline over it
        var builder = PgBuilder.client().with(new io.vertx.sqlclient.PoolOptions().setMaxSize(1)).connectingTo(options).using(vertx);
        if (consolidated) builder.withConnectHandler(Anchor::consolidateFlushes);
        pg = builder.build();
        select = pg.preparedQuery(SELECT);
        insert = pg.preparedQuery(INSERT);
        update = pg.preparedQuery(UPDATE);
        vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setTcpFastOpen(true))
                .requestHandler(this::handle)
                .listen(httpPort)
                .<Void>mapEmpty()
                .onComplete(started);
    }

    private void handle(HttpServerRequest req) {
        String path = req.path();
        String method = req.method().name();
        if ((method.equals("GET") || method.equals("PATCH")) && path.startsWith("/db/")) {
            long id;
            try {
                id = Long.parseLong(path.substring(4));
            } catch (NumberFormatException e) {
                req.response().setStatusCode(400).end();
                return;
            }
            if (method.equals("GET")) {
                select.execute(Tuple.of(id)).onComplete(ar -> one(req, ar));
            } else {
                req.body().onSuccess(body -> update.execute(Tuple.of(id, body.toJsonObject().getString("status"))).onComplete(ar -> one(req, ar)));
            }
        } else if (method.equals("POST") && path.equals("/db")) {
            req.body().onSuccess(body -> {
                JsonObject in = body.toJsonObject();
                insert.execute(Tuple.of(in.getLong("user_id"), in.getLong("connected_user_id"), in.getString("status", "pending")))
                        .onComplete(ar -> {
                            if (ar.failed()) req.response().setStatusCode(500).end();
                            else json(req.response(), 201, ar.result().iterator().next());
                        });
            });
        } else {
            req.response().setStatusCode(404).end();
        }
    }

    /** Answers with the one row a statement by key returned, 404 when it returned none. */
    private static void one(HttpServerRequest req, io.vertx.core.AsyncResult<RowSet<Row>> ar) {
        if (ar.failed()) {
            req.response().setStatusCode(500).end();
        } else if (ar.result().size() == 0) {
            req.response().setStatusCode(404).end();
        } else {
            json(req.response(), 200, ar.result().iterator().next());
        }
    }

    private static void json(HttpServerResponse response, int status, Row r) {
        StringBuilder b = new StringBuilder(128).append("{\"id\":").append(r.getLong(0)).append(",\"user_id\":").append(r.getLong(1))
                .append(",\"connected_user_id\":").append(r.getLong(2)).append(",\"status\":\"").append(r.getString(3))
                .append("\",\"connection_type\":\"direct\",\"company_id\":null,\"created_at\":\"")
                .append(DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(r.getOffsetDateTime(4))).append("\"}");
        response.setStatusCode(status).putHeader("Content-Type", "application/json").end(Buffer.buffer(b.toString()));
    }

    private static void consolidateFlushes(io.vertx.sqlclient.SqlConnection connection) {
        io.vertx.sqlclient.impl.Connection c = ((io.vertx.sqlclient.impl.SqlConnectionInternal) connection).unwrap();
        while (c instanceof io.vertx.sqlclient.impl.pool.SqlConnectionPool.PooledConnection pooled) c = pooled.unwrap();
        ((io.vertx.sqlclient.impl.SocketConnectionBase) c).socket().channelHandlerContext().pipeline()
                .addFirst(new io.netty.handler.flush.FlushConsolidationHandler(64, true));
        connection.close();
    }
}
