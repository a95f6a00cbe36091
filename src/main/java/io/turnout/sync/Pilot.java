package io.turnout.sync;

import io.turnout.control.Audit;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Record;
import io.turnout.domain.Side;
import io.turnout.routing.AppliedStages;
import io.turnout.store.Store;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Records the new store held before the migration began (seed 003's pilot rows in the V3 tables),
 * found once per domain, before any copy, and kept in the control database: records only the new
 * store held (extras), and keys both held with different values (collisions). Backfills never
 * delete the extras and verification accepts them, when the domain says so; a collision holds the
 * backfill unless the domain declares that the legacy record wins.
 */
@Singleton
public class Pilot {
    private static final Logger LOG = Logger.getLogger(Pilot.class);
    /** Keys read per round while the snapshot is taken. */
    private static final int CHUNK = 1000;
    /** Pilot keys a domain may have; more is not a pilot but a second copy of the data, and is refused. */
    public static final int MAX_KEYS = 100_000;

    /** What was found: when, at which stage, and the keys of each kind with the fields that differed for collisions. */
    public record Snapshot(OffsetDateTime takenAt, String stage, Set<Object> extras, Map<Object, List<String>> collisions) {}

    private final Databases databases;
    private final AppliedStages stages;
    private final Audit audit;
    private final Map<String, Snapshot> cache = new ConcurrentHashMap<>();

    public Pilot(Databases databases, AppliedStages stages, Audit audit) {
        this.databases = databases;
        this.stages = stages;
        this.audit = audit;
    }

    private Pool control() {
        return databases.control().work();
    }

    /** The domain's snapshot: taken now if it has none (then it is audited), null for a domain without pilot rows declared. */
    public Future<Snapshot> snapshot(Domain d) {
        if (d.declared().pilot() == null) return Future.succeededFuture(null);
        // the keys are read again only when the stored snapshot is not the one held here
        return control().preparedQuery("SELECT taken_at FROM turnout_pilot_snapshot WHERE domain = $1").execute(Tuple.of(d.name()))
                .compose(rows -> {
                    Snapshot known = cache.get(d.name());
                    if (rows.size() == 0) return take(d);
                    if (known != null && known.takenAt().equals(rows.iterator().next().getOffsetDateTime(0))) return Future.succeededFuture(known);
                    return load(d).compose(s -> s != null ? Future.succeededFuture(s) : take(d));
                });
    }

    /** The keys a backfill must not delete from the new store and verification accepts: the extras, if the domain accepts them. */
    public Future<Set<Object>> kept(Domain d) {
        if (d.declared().pilot() == null || !d.declared().pilot().acceptExtra()) return Future.succeededFuture(Set.of());
        return snapshot(d).map(Snapshot::extras);
    }

    private Future<Snapshot> load(Domain d) {
        return control().preparedQuery("SELECT s.taken_at, s.stage, p.record_key, p.kind, p.fields FROM turnout_pilot_snapshot s "
                        + "LEFT JOIN turnout_pilot p ON p.domain = s.domain WHERE s.domain = $1")
                .execute(Tuple.of(d.name())).map(rows -> {
                    if (rows.size() == 0) return null;
                    Set<Object> extras = ConcurrentHashMap.newKeySet();
                    Map<Object, List<String>> collisions = new LinkedHashMap<>();
                    OffsetDateTime at = null;
                    String stage = null;
                    for (Row r : rows) {
                        at = r.getOffsetDateTime(0);
                        stage = r.getString(1);
                        if (r.getString(2) == null) continue;
                        Object key = d.key().type().fromText(r.getString(2));
                        if ("extra".equals(r.getString(3))) extras.add(key);
                        else collisions.put(key, r.getArrayOfStrings(4) == null ? List.of() : List.of(r.getArrayOfStrings(4)));
                    }
                    Snapshot s = new Snapshot(at, stage, Set.copyOf(extras), Map.copyOf(collisions));
                    cache.put(d.name(), s);
                    return s;
                });
    }

    /** Compares every record of the new store with the legacy one, a chunk of keys at a time, and stores what it finds. */
    private Future<Snapshot> take(Domain d) {
        Store legacy = d.store(Side.LEGACY);
        Store target = d.store(Side.NEW);
        Set<Object> extras = ConcurrentHashMap.newKeySet();
        Map<Object, List<String>> collisions = new ConcurrentHashMap<>();
        String stage = stages.get(d.name()).label();
        return scan(d, legacy, target, null, extras, collisions).compose(v -> {
            List<Tuple> rows = new ArrayList<>();
            extras.forEach(k -> rows.add(Tuple.of(d.name(), d.keyText(k), "extra", null)));
            collisions.forEach((k, f) -> rows.add(Tuple.of(d.name(), d.keyText(k), "collision", f.toArray(new String[0]))));
            return control().withTransaction(tx -> tx.preparedQuery("INSERT INTO turnout_pilot_snapshot (domain, stage, extras, collisions) "
                            + "VALUES ($1, $2, $3, $4) ON CONFLICT (domain) DO NOTHING RETURNING domain")
                    .execute(Tuple.of(d.name(), stage, extras.size(), collisions.size()))
                    .compose(inserted -> inserted.size() == 0 || rows.isEmpty() ? Future.succeededFuture(inserted.size() > 0)
                            : tx.preparedQuery("INSERT INTO turnout_pilot (domain, record_key, kind, fields) VALUES ($1, $2, $3, $4)")
                                    .executeBatch(rows).map(true)));
        }).compose(mine -> {
            if (mine) {
                LOG.infof("Domain %s: pilot rows found at %s before any copy: %d only in the new store, %d in both with different values",
                        d.name(), stage, extras.size(), collisions.size());
                if (!stage.equals("legacy")) {
                    LOG.warnf("Domain %s: pilot rows were looked for at %s, after copies may have begun; records copied by then count as pilot rows",
                            d.name(), stage);
                }
                Map<String, Object> detail = new HashMap<>();
                detail.put("extras", extras.size());
                detail.put("collisions", collisions.size());
                detail.put("collisionKeys", collisions.keySet().stream().limit(100).map(d::keyText).toList());
                detail.put("stage", stage);
                audit.record(d.name(), "pilot-found", Audit.TURNOUT, null, null, "records the new store held before the migration", detail);
            }
            // another replica may have taken it first: theirs is the one kept
            cache.remove(d.name());
            return load(d);
        });
    }

    private Future<Void> scan(Domain d, Store legacy, Store target, Object after, Set<Object> extras, Map<Object, List<String>> collisions) {
        return target.keys(target.database().work(), after, null, CHUNK).compose(keys -> {
            if (keys.isEmpty()) return Future.<Void>succeededFuture();
            if (extras.size() + collisions.size() + keys.size() > MAX_KEYS) {
                return Future.failedFuture(new IllegalStateException("the new store of " + d.name() + " holds more than " + MAX_KEYS
                        + " records before the migration: too many for pilot rows"));
            }
            Future<List<Record>> theirs = target.getAll(target.database().work(), keys);
            Future<List<Record>> ours = legacy.getAll(legacy.database().work(), keys);
            return Future.all(theirs, ours).compose(v -> {
                Map<Object, Record> inLegacy = new HashMap<>();
                ours.result().forEach(r -> inLegacy.put(r.get(d.key().name()), r));
                for (Record r : theirs.result()) {
                    Object key = r.get(d.key().name());
                    Record l = inLegacy.get(key);
                    if (l == null) {
                        extras.add(key);
                        continue;
                    }
                    List<String> differ = d.normalization().differingFields(d.fields(), l, r);
                    if (!differ.isEmpty()) collisions.put(key, differ);
                }
                return scan(d, legacy, target, keys.get(keys.size() - 1), extras, collisions);
            });
        });
    }
}
