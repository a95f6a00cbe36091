package io.turnout.support;

import io.restassured.RestAssured;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The API keys the test suite configures (as hashes, like a user) and sends. {@link #SUITE} holds
 * every role and every domain; the others hold one role or one application's grants.
 */
public final class TestKeys {
    public static final String SUITE = "trn_test_0BxC_xukuwDKaCqwIJXcKdYz";
    public static final String OPERATOR = "trn_test_un_w6uSaki7dzE36WCaa_EjT";
    public static final String RELEASE_MANAGER = "trn_test_nd8WAIX9JPQzSxe1uF6-iT-B";
    public static final String APPROVER = "trn_test_XhZcPQoSkIPJUhfvw5LBNIj9";
    /** Reads and writes connections only. */
    public static final String APP_CONNECTIONS = "trn_test_nFVNiSy4VfByK6NaQpeoEObH";
    /** Reads connections only. */
    public static final String APP_READONLY = "trn_test_vGILRhGw1lgjISIgg561t4zh";
    /** A second release manager and approver, to request and approve as two people. */
    public static final String SECOND_APPROVER = "trn_test_Qm7Zr2VYx0bLcHs4pW9nDkAe";

    private TestKeys() {}

    /** The configuration of every test key, by property name: only hashes. */
    public static Map<String, String> config() {
        Map<String, String> out = new LinkedHashMap<>();
        key(out, "suite", SUITE, "operator,release-manager,approver", "*:read,*:write");
        key(out, "ops", OPERATOR, "operator", null);
        key(out, "rm", RELEASE_MANAGER, "release-manager", null);
        key(out, "approver", APPROVER, "approver", null);
        key(out, "approver2", SECOND_APPROVER, "approver", null);
        key(out, "crmapp", APP_CONNECTIONS, null, "connections:read,connections:write");
        key(out, "reportapp", APP_READONLY, null, "connections:read");
        return out;
    }

    /** {@link #config()} as environment variables of a Turnout process. */
    public static Map<String, String> env() {
        Map<String, String> out = new LinkedHashMap<>();
        config().forEach((k, v) -> out.put(k.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_'), v));
        return out;
    }

    private static void key(Map<String, String> out, String name, String key, String roles, String domains) {
        String p = "turnout.auth.keys." + name + ".";
        out.put(p + "hash", "sha256:" + sha256(key));
        if (roles != null) out.put(p + "roles", roles);
        if (domains != null) out.put(p + "domains", domains);
    }

    static String sha256(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Every RestAssured request sends {@code key} unless it sets its own Authorization header (an
     * empty one sends no credential). A null key: none by default.
     */
    public static void sendByDefault(String key) {
        RestAssured.replaceFiltersWith((request, response, ctx) -> {
            if (key != null && !request.getHeaders().hasHeaderWithName("Authorization")) request.header("Authorization", "Bearer " + key);
            return ctx.next(request, response);
        });
    }
}
