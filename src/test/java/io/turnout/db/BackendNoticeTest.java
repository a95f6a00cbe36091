package io.turnout.db;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.vertx.sqlclient.Pool;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL's notices (an {@code IF EXISTS} that found nothing, as every chunk of a SQL-mapped
 * backfill meets) are not logged as warnings on every connection of every pool; its warnings still are.
 */
@QuarkusTest
class BackendNoticeTest {
    @Inject
    Databases databases;

    @Test
    void aNoticeIsNotLoggedAndAWarningIs() throws Exception {
        List<String> logged = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(String.valueOf(r.getMessage()));
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger logger = Logger.getLogger("io.vertx.sqlclient.impl.SocketConnectionBase");
        logger.addHandler(handler);
        try {
            for (Database db : databases.all()) {
                for (Pool pool : List.of(db.pool(), db.work())) {
                    run(pool, "DROP TABLE IF EXISTS turnout_notice_check");
                }
            }
            assertThat(logged).as("notices logged").noneMatch(m -> m.contains("turnout_notice_check") || m.contains("NOTICE"));
            run(databases.all().iterator().next().work(), "DO $$ BEGIN RAISE WARNING 'turnout_warning_check'; END $$");
            assertThat(logged).as("the warning logged").anyMatch(m -> m.contains("turnout_warning_check"));
        } finally {
            logger.removeHandler(handler);
        }
    }

    /** Runs {@code sql} on a connection of {@code pool}: a connection taken from a pool reports the notices it gets. */
    private static void run(Pool pool, String sql) throws Exception {
        pool.withConnection(c -> c.query(sql).execute()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
