package io.turnout.routing;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.turnout.TurnoutConfig;
import io.turnout.db.Database;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import org.jboss.logging.Logger;

/**
 * Creates retried with the same {@code Idempotency-Key} header (IETF httpapi idempotency-key
 * draft): the key is claimed in the transaction of the create, in the database of the store that
 * takes the write first, and the answer is stored with it. A retry with the same key and the same
 * body gets the first answer again; with another body, a 422. A key is kept for
 * {@code turnout.idempotency.retention}; after that it counts as new.
 */
@Singleton
public class Idempotency {
    private static final Logger LOG = Logger.getLogger(Idempotency.class);
    /** Longest key accepted, in characters. */
    public static final int MAX_KEY_LENGTH = 255;
    private static final Duration CLEANUP_INTERVAL = Duration.ofMinutes(10);
    private static final int CLEANUP_BATCH = 10_000;

    /** A create's claim: the client's key and a hash of the body it sent. */
    public record Claim(String key, String requestHash) {
        public static Claim of(String key, byte[] body) {
            try {
                return new Claim(key, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body)));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** The first answer to a key, given again: the created record's key and its state as answered then. */
    public static final class Replay extends RuntimeException {
        public final String recordKey;
        public final String answer;

        Replay(String recordKey, String answer) {
            super("replayed", null, false, false);
            this.recordKey = recordKey;
            this.answer = answer;
        }
    }

    /** The key was used before for a create with another body. */
    public static final class Mismatch extends RuntimeException {
        Mismatch(String key) {
            super("Idempotency-Key '" + key + "' was used for a create with a different body; use a new key for a new request",
                    null, false, false);
        }
    }

    private final Databases databases;
    private final Vertx vertx;
    private final long retentionMillis;
    private volatile long timerId = -1;

    public Idempotency(TurnoutConfig config, Databases databases, Vertx vertx) {
        this.databases = databases;
        this.vertx = vertx;
        this.retentionMillis = config.idempotency().retention().toMillis();
    }

    /**
     * Claims the key in the create's transaction. Completes when the create may go ahead; fails with
     * {@link Replay} or {@link Mismatch} when the key was used before. A concurrent create with the
     * same key waits for this one's transaction (bounded by the lock timeout) and then replays it.
     */
    Future<Void> claim(SqlClient tx, Domain domain, Claim claim) {
        return tx.preparedQuery("INSERT INTO turnout_idempotency (domain, idempotency_key, request_hash) VALUES ($1, $2, $3) "
                        + "ON CONFLICT (domain, idempotency_key) DO UPDATE SET request_hash = EXCLUDED.request_hash, "
                        + "record_key = NULL, answer = NULL, created_at = now() "
                        + "WHERE turnout_idempotency.created_at < now() - $4 * interval '1 millisecond' RETURNING 1")
                .execute(Tuple.of(domain.name(), claim.key(), claim.requestHash(), retentionMillis))
                .compose(claimed -> claimed.size() > 0 ? Future.<Void>succeededFuture() : tx
                        .preparedQuery("SELECT request_hash, record_key, answer::text FROM turnout_idempotency "
                                + "WHERE domain = $1 AND idempotency_key = $2")
                        .execute(Tuple.of(domain.name(), claim.key()))
                        .compose(rows -> {
                            var row = rows.iterator().next();
                            if (!row.getString(0).equals(claim.requestHash())) return Future.failedFuture(new Mismatch(claim.key()));
                            return Future.failedFuture(new Replay(row.getString(1), row.getString(2)));
                        }));
    }

    /** Stores the answer with the claimed key, in the create's transaction. */
    Future<Void> answer(SqlClient tx, Domain domain, Claim claim, Object recordKey, Record state) {
        return tx.preparedQuery("UPDATE turnout_idempotency SET record_key = $3, answer = $4::text::jsonb "
                        + "WHERE domain = $1 AND idempotency_key = $2")
                .execute(Tuple.of(domain.name(), claim.key(), domain.keyText(recordKey), domain.toJson(state).toString()))
                .mapEmpty();
    }

    void start(@Observes StartupEvent event) {
        timerId = vertx.setPeriodic(CLEANUP_INTERVAL.toMillis(), id -> forgetExpired());
    }

    void stop(@Observes ShutdownEvent event) {
        if (timerId >= 0) vertx.cancelTimer(timerId);
    }

    /** Deletes expired keys, a bounded batch per database and pass. */
    Future<Void> forgetExpired() {
        Future<Void> chain = Future.succeededFuture();
        for (Database db : databases.all()) {
            chain = chain.compose(v -> db.work().preparedQuery("DELETE FROM turnout_idempotency WHERE ctid = ANY(ARRAY("
                            + "SELECT ctid FROM turnout_idempotency WHERE created_at < now() - $1 * interval '1 millisecond' LIMIT $2))")
                    .execute(Tuple.of(retentionMillis, CLEANUP_BATCH))
                    .<Void>mapEmpty()
                    .recover(e -> {
                        LOG.warnf("Could not delete expired idempotency keys in database %s: %s", db.name(), e.getMessage());
                        return Future.succeededFuture();
                    }));
        }
        return chain;
    }
}
