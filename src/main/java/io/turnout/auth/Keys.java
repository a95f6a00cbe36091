package io.turnout.auth;

import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Startup;
import io.turnout.TurnoutConfig;
import io.turnout.TurnoutConfig.KeyConfig;
import io.turnout.db.Databases;
import io.turnout.domain.Domain;
import io.turnout.domain.Domains;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * The API keys Turnout accepts ({@code turnout.auth.mode: keys}), by the SHA-256 of the key: only
 * hashes are configured or stored. With no key configured, the keys generated at the first start
 * are kept (as hashes) in {@code turnout_api_key} in the control database; the keys themselves are
 * printed once, on standard output, never through the log.
 */
@Startup
@Singleton
public class Keys {
    private static final Logger LOG = Logger.getLogger(Keys.class);
    private static final Pattern HASH = Pattern.compile("sha256:[0-9a-f]{64}");
    private static final long TIMEOUT_MS = 10_000;
    private static final HexFormat HEX = HexFormat.of();
    private static final ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    private final Map<String, Caller> byHash;

    public Keys(TurnoutConfig config, Domains domains, Databases databases) {
        String mode = config.auth().mode();
        if (!List.of("keys", "oidc", "off").contains(mode)) {
            throw new IllegalStateException("turnout.auth.mode '" + mode + "' must be keys, oidc or off");
        }
        if (mode.equals("off")) {
            boolean prod = LaunchMode.current() == LaunchMode.NORMAL
                    && io.quarkus.runtime.configuration.ConfigUtils.getProfiles().contains("prod");
            if (prod && !config.auth().offAccepted()) {
                throw new IllegalStateException("turnout.auth.mode is off in the prod profile: anyone who reaches Turnout could read and "
                        + "write every domain and change stages. Configure keys or OIDC, or set "
                        + "turnout.auth.off-lets-anyone-read-write-and-change-stages=true to accept that risk");
            }
            LOG.warnf("Authentication is off (turnout.auth.mode=off): every caller may read, write and change stages");
        }
        Set<String> known = domains.all().stream().map(Domain::name).collect(Collectors.toSet());
        List<String> problems = new ArrayList<>();
        Map<String, Caller> hashes = new LinkedHashMap<>();
        config.auth().keys().forEach((name, key) -> {
            if (!HASH.matcher(key.hash().trim().toLowerCase(java.util.Locale.ROOT)).matches()) {
                problems.add("turnout.auth.keys." + name + ".hash must be sha256:<64 hex digits> (the hash, never the key)");
                return;
            }
            Caller c = parse(name, key, known, problems);
            if (hashes.put(key.hash().trim().toLowerCase(java.util.Locale.ROOT).substring(7), c) != null) {
                problems.add("turnout.auth.keys." + name + " has the same hash as another key");
            }
        });
        if (!problems.isEmpty()) throw new IllegalStateException("Invalid API keys: " + String.join("; ", problems));
        if (mode.equals("keys") && hashes.isEmpty()) hashes.putAll(stored(databases, known));
        byHash = Map.copyOf(hashes);
        if (mode.equals("keys")) LOG.infof("API keys accepted: %s", byHash.values().stream().map(Caller::name).sorted().toList());
    }

    private static Caller parse(String name, KeyConfig key, Set<String> known, List<String> problems) {
        List<String> local = new ArrayList<>();
        Caller c = Caller.parse(name, key.roles().orElse(List.of()), key.domains().orElse(List.of()), known, local);
        local.forEach(p -> problems.add("turnout.auth.keys." + name + ": " + p));
        if (local.isEmpty() && c.roles().isEmpty() && c.domains().isEmpty()) {
            problems.add("turnout.auth.keys." + name + " has no roles and no domains: it could do nothing");
        }
        return c;
    }

    /** The caller holding {@code key}, if it is one of the accepted keys. */
    public Optional<Caller> find(String key) {
        return Optional.ofNullable(byHash.get(sha256(key)));
    }

    /** The hex SHA-256 of a key, as configured after {@code sha256:}. */
    public static String sha256(String key) {
        // every request is hashed: one digest per thread rather than a provider lookup per call
        return HEX.formatHex(DIGEST.get().digest(key.getBytes(StandardCharsets.UTF_8)));
    }

    /** The generated keys' hashes; generated (and printed once) when there are none yet. */
    private static Map<String, Caller> stored(Databases databases, Set<String> known) {
        SecureRandom random = new SecureRandom();
        Map<String, String> fresh = new LinkedHashMap<>();
        Map<String, List<String>> freshRoles = Map.of("operator", List.of("operator"), "release-manager", List.of("release-manager"),
                "approver", List.of("approver"), "demo-app", List.of());
        for (String name : List.of("operator", "release-manager", "approver", "demo-app")) {
            byte[] bytes = new byte[24];
            random.nextBytes(bytes);
            fresh.put(name, "trn_" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes));
        }
        List<Tuple> rows = new ArrayList<>();
        fresh.forEach((name, key) -> rows.add(Tuple.of(name, sha256(key), freshRoles.get(name).toArray(String[]::new),
                name.equals("demo-app") ? new String[] {"*:read", "*:write"} : new String[0])));
        var pool = databases.control().work();
        // one replica generates them: the others wait for its lock and find its keys
        Boolean generated;
        try {
            generated = pool.withTransaction(c -> c.query("LOCK TABLE turnout_api_key IN SHARE ROW EXCLUSIVE MODE").execute()
                    .compose(v -> c.query("SELECT count(*) FROM turnout_api_key").execute())
                    .compose(n -> n.iterator().next().getLong(0) > 0 ? io.vertx.core.Future.succeededFuture(false)
                            : c.preparedQuery("INSERT INTO turnout_api_key (name, hash, roles, domains) VALUES ($1, $2, $3, $4)")
                                    .executeBatch(rows).map(true)))
                    .toCompletionStage().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("Could not read or record the API keys in the control database: " + e.getMessage());
        }
        if (generated) {
            StringBuilder out = new StringBuilder("\nTurnout generated these API keys (turnout.auth.keys is empty). They are shown this once; "
                    + "only their hashes are kept, in turnout_api_key:\n");
            fresh.forEach((name, key) -> out.append(String.format("  %-16s %s%n", name, key)));
            out.append("Send one as 'Authorization: Bearer <key>'. demo-app may read and write every domain's records.\n");
            System.out.println(out);
        }
        Map<String, Caller> out = new LinkedHashMap<>();
        try {
            var all = pool.query("SELECT name, hash, roles, domains FROM turnout_api_key ORDER BY name").execute()
                    .toCompletionStage().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            List<String> problems = new ArrayList<>();
            for (Row r : all) {
                out.put(r.getString("hash"), Caller.parse(r.getString("name"), List.of(r.getArrayOfStrings("roles")),
                        List.of(r.getArrayOfStrings("domains")), known, problems));
            }
            if (!problems.isEmpty()) LOG.warnf("Stored API keys: %s (those grants are ignored)", problems);
        } catch (Exception e) {
            throw new IllegalStateException("Could not read the API keys from the control database: " + e.getMessage());
        }
        return out;
    }
}
