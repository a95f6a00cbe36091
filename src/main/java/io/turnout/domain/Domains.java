package io.turnout.domain;

import io.turnout.TurnoutConfig.DomainConfig;
import io.turnout.TurnoutConfig.FieldConfig;
import io.turnout.TurnoutConfig.SearchStoreConfig;
import io.turnout.TurnoutConfig.SqlMappingConfig;
import io.turnout.TurnoutConfig.StoreConfig;
import io.turnout.TurnoutConfig;
import io.turnout.db.Database;
import io.turnout.db.Databases;
import io.turnout.search.SearchClient;
import io.turnout.search.SearchOrigins;
import io.turnout.search.SearchStore;
import io.turnout.store.MappedStore;
import io.turnout.store.Origin;
import io.turnout.store.TableStore;
import io.vertx.pgclient.PgException;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * The domains from configuration, validated. Every problem found is reported at once, each naming
 * its domain, and stops start-up: a proxy with a wrong mapping would copy wrong data.
 */
@Singleton
public class Domains {
    private static final Logger LOG = Logger.getLogger(Domains.class);
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,62}");
    private static final Pattern TABLE = Pattern.compile("([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,62}");
    private static final Pattern COLUMN = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final Pattern UNSAFE_EXPRESSION = Pattern.compile(";|--|/\\*|\\$");

    private final Map<String, Domain> byName = new LinkedHashMap<>();

    public Domains(TurnoutConfig config, Databases databases, SearchOrigins search) {
        List<String> problems = new ArrayList<>(SearchOrigins.problems(config));
        byName.putAll(build(config, databases::find, search::find, problems));
        checkParents(byName, problems);
        if (problems.isEmpty()) {
            byName.values().forEach(d -> probe(d, problems));
        }
        if (problems.isEmpty()) {
            byName.replaceAll((name, d) -> d.requiring(mustGive(d, problems)));
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("Invalid domain configuration:\n  - " + String.join("\n  - ", problems));
        }
        LOG.infof("Serving domains %s", byName.keySet());
    }

    /** Builds every domain that is valid and adds a line per problem, each naming its domain. */
    static Map<String, Domain> build(TurnoutConfig config, Function<String, Optional<Database>> databases,
            Function<String, Optional<SearchClient>> search, List<String> problems) {
        Map<String, Domain> out = new LinkedHashMap<>();
        if (config.domains().isEmpty()) problems.add("no domains are declared under turnout.domains");
        config.domains().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            List<String> own = new ArrayList<>();
            Domain d = build(e.getKey(), e.getValue(), databases, search, own);
            own.forEach(p -> problems.add("domain '" + e.getKey() + "': " + p));
            if (d != null && own.isEmpty()) out.put(d.name(), d);
        });
        return out;
    }

    private static Domain build(String name, DomainConfig cfg, Function<String, Optional<Database>> databases,
            Function<String, Optional<SearchClient>> search, List<String> problems) {
        if (!NAME.matcher(name).matches()) {
            problems.add("name must be lower-case letters, digits and _, starting with a letter");
            return null;
        }
        List<Field> fields = new ArrayList<>();
        cfg.fields().forEach((fname, fc) -> {
            Field f = field(fname, fc, problems);
            if (f != null) fields.add(f);
        });
        if (fields.isEmpty()) {
            problems.add("declares no fields");
            return null;
        }
        Optional<Field> key = fields.stream().filter(f -> f.name().equals(cfg.key())).findFirst();
        if (key.isEmpty()) {
            problems.add("key '" + cfg.key() + "' is not a declared field");
            return null;
        }
        if (!key.get().type().keyable()) {
            problems.add("key '" + cfg.key() + "' is of type " + key.get().type().lower() + "; a key must be an integer, a uuid or a string");
            return null;
        }
        fields.sort(Comparator.comparing((Field f) -> !f.name().equals(cfg.key())).thenComparing(Field::name));
        if (cfg.shadowSampleRate() < 0 || cfg.shadowSampleRate() > 1) {
            problems.add("shadow-sample-rate must be between 0 and 1");
        }
        Origin legacy = origin(Side.LEGACY, cfg.legacy(), cfg.fields().keySet(), fields, key.get(), databases, search, problems);
        Origin target = origin(Side.NEW, cfg.target(), cfg.fields().keySet(), fields, key.get(), databases, search, problems);
        if (fields.size() < cfg.fields().size()) return null;
        if (legacy == null || target == null) return null;
        Set<String> legacyFilters = legacy instanceof MappedStore m ? m.filterNames() : Set.of();
        Set<String> newFilters = target instanceof MappedStore m ? m.filterNames() : Set.of();
        if (!legacyFilters.equals(newFilters)) {
            problems.add("both stores must declare the same sql.filters, so a filter answers at every stage (legacy: "
                    + new java.util.TreeSet<>(legacyFilters) + ", new: " + new java.util.TreeSet<>(newFilters) + ")");
        }
        String flag = cfg.flag().orElse("turnout." + name + ".stage");
        List<String> ignored = cfg.verifyIgnore().orElse(List.of());
        for (String f : ignored) {
            if (!cfg.fields().containsKey(f)) problems.add("verify-ignore names unknown field '" + f + "'");
        }
        String precision = cfg.verifyTimestampPrecision().orElse(null);
        if (precision != null && !Normalization.PRECISIONS.contains(precision)) {
            problems.add("verify-timestamp-precision must be one of " + Normalization.PRECISIONS);
        }
        List<PreflightCheck> checks = new ArrayList<>();
        cfg.preflight().forEach((checkName, pc) -> {
            String where = "pre-flight check '" + checkName + "'";
            Optional<Database> db = databases.apply(pc.database());
            if (db.isEmpty()) problems.add(where + ": database '" + pc.database() + "' is not declared under turnout.databases");
            if (!pc.level().equals("warn") && !pc.level().equals("block")) problems.add(where + ": level must be warn or block");
            String sql = pc.sql().trim();
            if (!sql.matches("(?is)(SELECT|WITH)\\b.*") || sql.contains(";")) {
                problems.add(where + ": sql must be one SELECT returning a count, without ;");
            }
            db.ifPresent(d -> checks.add(new PreflightCheck(checkName, d, sql, pc.level().equals("block"))));
        });
        Declared declared = declared(cfg, fields, key.get(), legacy, target, problems);
        Domain domain = new Domain(name, flag, key.get(), List.copyOf(fields), legacy, target, cfg.shadowSampleRate(),
                Normalization.NONE, List.copyOf(checks), declared);
        // a field one store does not hold is never compared: its stand-in there is no value to agree with
        Set<String> notCompared = new java.util.TreeSet<>(ignored);
        notCompared.addAll(domain.heldByOneOnly());
        return new Domain(name, flag, key.get(), List.copyOf(fields), legacy, target, cfg.shadowSampleRate(),
                new Normalization(Set.copyOf(notCompared), precision), List.copyOf(checks), declared);
    }

    /** The example record, parents, pilot rows and retirement a domain declares. */
    private static Declared declared(DomainConfig cfg, List<Field> fields, Field key, Origin legacy, Origin target, List<String> problems) {
        boolean mapped = legacy instanceof MappedStore || target instanceof MappedStore;
        Record example = null;
        if (!cfg.example().isEmpty() || mapped) {
            Map<String, Object> values = new LinkedHashMap<>();
            for (Field f : fields) {
                String text = cfg.example().get(f.name());
                try {
                    values.put(f.name(), text != null ? f.type().fromText(text) : exampleValue(f, f == key));
                } catch (IllegalArgumentException e) {
                    problems.add("example field '" + f.name() + "' " + e.getMessage());
                }
            }
            cfg.example().keySet().stream().filter(n -> fields.stream().noneMatch(f -> f.name().equals(n)))
                    .forEach(n -> problems.add("example names unknown field '" + n + "'"));
            example = new Record(values);
        }
        List<String> parents = cfg.parents().orElse(List.of());
        Declared.Pilot pilot = null;
        if (cfg.pilot().isPresent()) {
            String collisions = cfg.pilot().get().collisions();
            if (!collisions.equals("block") && !collisions.equals("legacy")) {
                problems.add("pilot.collisions must be block or legacy (a pilot record cannot replace a legacy one: the legacy store is authoritative until live)");
            }
            if (!(legacy instanceof io.turnout.store.Store) || !(target instanceof io.turnout.store.Store)) {
                problems.add("pilot applies to domains whose two stores are databases");
            }
            pilot = new Declared.Pilot(cfg.pilot().get().acceptExtra(), collisions.equals("legacy"));
        }
        String suffix = cfg.retirement().flatMap(r -> r.renameSuffix()).orElse(null);
        if (suffix != null && !COLUMN.matcher("t" + suffix).matches()) {
            problems.add("retirement.rename-suffix '" + suffix + "' must be lower-case letters, digits and _");
        }
        Map<String, String> archives = cfg.retirement().map(r -> r.archiveNames()).orElse(Map.of());
        List<String> legacyTables = legacy instanceof io.turnout.store.Store s ? s.tables() : List.of();
        archives.forEach((table, archive) -> {
            if (!legacyTables.contains(table)) {
                problems.add("retirement.archive-names names '" + table + "', which is not a legacy table of this domain " + legacyTables);
            }
            if (!TABLE.matcher(archive).matches()) {
                problems.add("retirement.archive-names." + table + " '" + archive + "' must be a table name (lower-case letters, digits and _)");
            }
        });
        java.time.Duration window = cfg.retirement().flatMap(r -> r.safetyWindow()).orElse(null);
        if (window != null && window.isNegative()) problems.add("retirement.safety-window must not be negative");
        return new Declared(example, List.copyOf(parents), pilot, new Declared.Retirement(suffix, window, Map.copyOf(archives)));
    }

    /** A value for a field the example leaves out; a key far from any real one. */
    private static Object exampleValue(Field f, boolean isKey) {
        return switch (f.type()) {
            case STRING -> "turnout round trip";
            case INTEGER -> isKey ? -7_461_001L : 42L;
            case BOOLEAN -> Boolean.TRUE;
            case TIMESTAMP -> java.time.OffsetDateTime.parse("2001-02-03T04:05:06.789012Z");
            case UUID -> java.util.UUID.fromString("00000000-7e57-4000-8000-000000000001");
            case JSON -> com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        };
    }

    /** Parents must be declared domains, without cycles. */
    static void checkParents(Map<String, Domain> domains, List<String> problems) {
        for (Domain d : domains.values()) {
            for (String p : d.declared().parents()) {
                if (!domains.containsKey(p)) problems.add("domain '" + d.name() + "': parents names unknown domain '" + p + "'");
                else if (p.equals(d.name()) || ancestors(domains, p).contains(d.name())) {
                    problems.add("domain '" + d.name() + "': parents form a cycle through '" + p + "'");
                }
            }
        }
    }

    private static Set<String> ancestors(Map<String, Domain> domains, String name) {
        Set<String> out = new java.util.LinkedHashSet<>();
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(List.of(name));
        while (!todo.isEmpty()) {
            Domain d = domains.get(todo.pop());
            if (d == null) continue;
            for (String p : d.declared().parents()) if (out.add(p)) todo.push(p);
        }
        return out;
    }

    private static Field field(String name, FieldConfig fc, List<String> problems) {
        if (!NAME.matcher(name).matches()) {
            problems.add("field '" + name + "': name must be lower-case letters, digits and _");
            return null;
        }
        FieldType type;
        try {
            type = FieldType.of(fc.type());
        } catch (IllegalArgumentException e) {
            problems.add("field '" + name + "': unknown type '" + fc.type() + "' (string, integer, boolean, timestamp, uuid, json)");
            return null;
        }
        if (fc.maxLength().isPresent() && (type != FieldType.STRING || fc.maxLength().get() < 1)) {
            problems.add("field '" + name + "': max-length applies to string fields and must be at least 1");
        }
        return new Field(name, type, fc.required(), fc.maxLength().orElse(null));
    }

    private static Origin origin(Side side, StoreConfig cfg, Set<String> declared, List<Field> fields, Field key,
            Function<String, Optional<Database>> databases, Function<String, Optional<SearchClient>> search, List<String> problems) {
        String where = side.label() + " store";
        if (cfg.sql().isPresent()) {
            if (cfg.search().isPresent() || cfg.table().isPresent() || !cfg.columns().isEmpty() || !cfg.expressions().isEmpty()
                    || !cfg.absent().isEmpty()) {
                problems.add(where + ": a SQL-mapped store takes database and sql, not table, search, columns, expressions or absent");
                return null;
            }
            return mappedStore(side, cfg, fields, key, databases, problems);
        }
        for (Field f : fields) {
            if (f.type() == FieldType.JSON) problems.add(where + ": field '" + f.name() + "' is json, which only a SQL-mapped store (sql) can hold");
        }
        if (cfg.search().isPresent()) {
            if (cfg.database().isPresent() || cfg.table().isPresent() || !cfg.columns().isEmpty() || !cfg.expressions().isEmpty()
                    || !cfg.absent().isEmpty()) {
                problems.add(where + ": a search store takes search.origin, search.index and search.attributes, not database, table, columns, expressions or absent");
                return null;
            }
            return searchStore(side, cfg.search().get(), declared, fields, key, search, problems);
        }
        if (cfg.database().isEmpty() || cfg.table().isEmpty()) {
            problems.add(where + ": needs database and table (a table store), database and sql (a SQL-mapped store), or search (a search store)");
            return null;
        }
        return tableStore(side, cfg, declared, fields, key, databases, problems);
    }

    private static MappedStore mappedStore(Side side, StoreConfig cfg, List<Field> fields, Field key,
            Function<String, Optional<Database>> databases, List<String> problems) {
        String where = side.label() + " store";
        int before = problems.size();
        SqlMappingConfig sql = cfg.sql().get();
        if (cfg.database().isEmpty()) problems.add(where + ": a SQL-mapped store needs database");
        Optional<Database> db = cfg.database().flatMap(databases);
        if (cfg.database().isPresent() && db.isEmpty()) {
            problems.add(where + ": database '" + cfg.database().get() + "' is not declared under turnout.databases");
        }
        if (sql.tables().isEmpty()) problems.add(where + ": sql.tables must name at least the table holding one row per record");
        for (String t : sql.tables()) {
            if (!TABLE.matcher(t).matches()) problems.add(where + ": sql.tables entry '" + t + "' is not a plain identifier");
        }
        String keyColumn = sql.keyColumn().orElse(key.name());
        if (!COLUMN.matcher(keyColumn).matches()) problems.add(where + ": sql.key-column '" + keyColumn + "' is not a plain identifier");
        statement(where + ": sql.select", sql.select(), "(SELECT|WITH)\\b.*", problems);
        if (sql.upsert().isEmpty()) problems.add(where + ": sql.upsert needs at least one statement");
        for (int i = 0; i < sql.upsert().size(); i++) {
            statement(where + ": sql.upsert[" + i + "]", sql.upsert().get(i), "(INSERT|UPDATE|DELETE|WITH)\\b.*", problems);
        }
        if (sql.delete().isEmpty()) problems.add(where + ": sql.delete needs at least one statement");
        for (int i = 0; i < sql.delete().size(); i++) {
            statement(where + ": sql.delete[" + i + "]", sql.delete().get(i), "(DELETE|UPDATE|WITH)\\b.*", problems);
        }
        sql.newKey().ifPresent(k -> {
            if (k.isBlank() || UNSAFE_EXPRESSION.matcher(k).find()) {
                problems.add(where + ": sql.new-key must be one SQL expression without ; comments or $ parameters");
            }
        });
        sql.filters().forEach((name, condition) -> {
            if (!NAME.matcher(name).matches()) problems.add(where + ": sql.filters name '" + name + "' must be lower-case letters, digits and _");
            if (fields.stream().anyMatch(f -> f.name().equals(name))) {
                problems.add(where + ": sql.filters '" + name + "' has the name of a field; fields are filtered without declaring them");
            }
            if (!condition.contains(":value")) problems.add(where + ": sql.filters '" + name + "' must use :value for the value asked for");
            statement(where + ": sql.filters '" + name + "'", condition.replace(":value", "NULL"), ".*", problems);
        });
        if (problems.size() > before) return null;
        return new MappedStore(side, db.get(), sql.tables(), keyColumn, fields, key, sql.select(), sql.upsert(), sql.delete(),
                sql.newKey().orElse(null), sql.filters());
    }

    /** One SQL statement of a mapping: not blank, no ; (one statement), starting as {@code shape} says. */
    private static void statement(String what, String sql, String shape, List<String> problems) {
        String s = sql == null ? "" : sql.strip();
        if (s.isEmpty() || s.contains(";") || s.contains("$") || !s.matches("(?is)" + shape)) {
            problems.add(what + " must be one SQL statement (" + shape.replace("\\b.*", "").replace("|", ", ").replace(".*", "any")
                    + ") without ; or $ parameters");
        }
    }

    private static SearchStore searchStore(Side side, SearchStoreConfig cfg, Set<String> declared, List<Field> fields, Field key,
            Function<String, Optional<SearchClient>> search, List<String> problems) {
        String where = side.label() + " store";
        int before = problems.size();
        if (side == Side.LEGACY) problems.add(where + ": a search store is read-only, so it can only be the new store");
        Optional<SearchClient> client = search.apply(cfg.origin());
        if (client.isEmpty()) problems.add(where + ": search origin '" + cfg.origin() + "' is not declared under turnout.search");
        if (!COLUMN.matcher(cfg.index()).matches()) problems.add(where + ": index '" + cfg.index() + "' must be lower-case letters, digits and _");
        for (String f : cfg.attributes().keySet()) {
            if (!declared.contains(f)) problems.add(where + ": attributes names unknown field '" + f + "'");
        }
        if (problems.size() > before) return null;
        return new SearchStore(side, client.get(), cfg.index(), List.copyOf(fields), key, cfg.attributes(), cfg.fallback());
    }

    private static TableStore tableStore(Side side, StoreConfig cfg, Set<String> declared, List<Field> fields, Field key,
            Function<String, Optional<Database>> databases, List<String> problems) {
        String where = side.label() + " store";
        int before = problems.size();
        String table = cfg.table().get();
        Optional<Database> db = databases.apply(cfg.database().get());
        if (db.isEmpty()) problems.add(where + ": database '" + cfg.database().get() + "' is not declared under turnout.databases");
        if (!TABLE.matcher(table).matches()) problems.add(where + ": table '" + table + "' is not a plain identifier");
        for (String f : cfg.columns().keySet()) {
            if (!declared.contains(f)) problems.add(where + ": columns names unknown field '" + f + "'");
        }
        for (String f : cfg.expressions().keySet()) {
            if (!declared.contains(f)) problems.add(where + ": expressions names unknown field '" + f + "'");
            if (cfg.columns().containsKey(f)) problems.add(where + ": field '" + f + "' has both a column and an expression");
        }
        for (String f : cfg.absent().keySet()) {
            if (!declared.contains(f)) problems.add(where + ": absent names unknown field '" + f + "'");
            if (cfg.columns().containsKey(f)) problems.add(where + ": field '" + f + "' is both a column and absent");
            if (cfg.expressions().containsKey(f)) problems.add(where + ": field '" + f + "' is both an expression and absent");
        }
        List<TableStore.Mapping> mappings = new ArrayList<>();
        for (Field f : fields) {
            String derived = cfg.expressions().get(f.name());
            String standIn = cfg.absent().get(f.name());
            String expression = derived != null ? derived : standIn;
            if (expression != null) {
                String kind = derived != null ? "expression" : "absent value";
                if (expression.isBlank() || UNSAFE_EXPRESSION.matcher(expression).find()) {
                    problems.add(where + ": " + kind + " of field '" + f.name() + "' must be one SQL expression without ; comments or $ parameters");
                }
                if (f == key) problems.add(where + ": key field '" + f.name() + "' must be a column, not an " + kind);
                mappings.add(new TableStore.Mapping(f, null, expression, derived == null));
            } else {
                String column = cfg.columns().getOrDefault(f.name(), f.name());
                if (!COLUMN.matcher(column).matches()) {
                    problems.add(where + ": column '" + column + "' of field '" + f.name() + "' is not a plain identifier");
                }
                mappings.add(new TableStore.Mapping(f, column, null, false));
            }
        }
        if (problems.size() > before) return null;
        return new TableStore(side, db.get(), table, mappings, key.name());
    }

    /** Reads zero rows through each store's mapping, so a missing table or column stops start-up. */
    static void probe(Domain d, List<String> problems) {
        for (Side side : Side.values()) {
            if (d.origin(side) instanceof MappedStore mapped) {
                roundTrip(d, mapped, problems);
                continue;
            }
            if (!(d.origin(side) instanceof TableStore store)) continue;
            try {
                store.database().work().query(store.probeSql()).execute()
                        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                String reason = cause instanceof PgException pg ? pg.getErrorMessage() : cause.toString();
                problems.add("domain '" + d.name() + "': " + side.label() + " store does not match its database '"
                        + store.database().name() + "': " + reason);
            }
        }
    }

    /**
     * Writes the domain's example record through a SQL mapping and reads it back, in a transaction
     * that is rolled back: a mapping that loses or changes a field would copy wrong data, so it
     * stops start-up naming the field. Deleting it must leave nothing to read.
     */
    private static void roundTrip(Domain d, MappedStore store, List<String> problems) {
        String where = "domain '" + d.name() + "': " + d.origin(store.side()).describe() + " (sql)";
        Record example = d.declared().example();
        Object key = example.get(d.key().name());
        try {
            List<String> found = store.database().work().getConnection().compose(conn -> conn.begin().compose(tx -> conn
                            .query(store.probeSql()).execute()
                            .compose(v -> store.putAll(conn, List.of(example), null))
                            .compose(v -> store.get(conn, key))
                            .compose(read -> {
                                List<String> out = new ArrayList<>();
                                if (read == null) {
                                    out.add(where + ": the example record written by sql.upsert is not read back by sql.select (key "
                                            + d.key().name() + " = " + key + ")");
                                    return io.vertx.core.Future.succeededFuture(out);
                                }
                                for (Field f : d.fields()) {
                                    Object wrote = example.get(f.name());
                                    Object back = read.get(f.name());
                                    if (!java.util.Objects.equals(wrote, back)) {
                                        out.add(where + ": field '" + f.name() + "' does not round-trip: wrote " + f.type().toJson(wrote)
                                                + ", read back " + f.type().toJson(back));
                                    }
                                }
                                return store.deleteAll(conn, List.of(key)).compose(v -> store.get(conn, key)).map(after -> {
                                    if (after != null) out.add(where + ": sql.delete leaves the example record readable");
                                    return out;
                                });
                            })
                            .eventually(() -> tx.rollback()))
                    .eventually(() -> conn.close()))
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            problems.addAll(found);
        } catch (Exception e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            String reason = cause instanceof PgException pg ? pg.getErrorMessage() : cause.toString();
            problems.add(where + " does not work in database '" + store.database().name() + "': " + reason);
        }
    }

    /**
     * Fields a create must carry because a store that takes writes has a NOT NULL column for them
     * with no default: declared required or not, a create without them would fail in that store. A
     * UUID key is not among them, since Turnout generates one (see {@link Domain#generatesKey}).
     */
    private static Set<String> mustGive(Domain d, List<String> problems) {
        Set<String> out = new java.util.TreeSet<>();
        for (Side side : Side.values()) {
            if (!(d.origin(side) instanceof TableStore store)) continue;
            try {
                var rows = store.database().work().preparedQuery(store.requiredColumnsSql()).execute(store.requiredColumnsParams())
                        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
                rows.forEach(r -> store.fieldOfColumn(r.getString(0)).ifPresent(out::add));
            } catch (Exception e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                problems.add("domain '" + d.name() + "': cannot read the columns of the " + side.label() + " store: " + cause.getMessage());
            }
        }
        if (d.generatesKey()) out.remove(d.key().name());
        return out;
    }

    public Optional<Domain> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public Collection<Domain> all() {
        return byName.values();
    }
}
