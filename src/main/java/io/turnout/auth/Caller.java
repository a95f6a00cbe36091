package io.turnout.auth;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Who makes a request and what they may do: control roles, and per domain whether the data API
 * may be read and written ({@code *} stands for every domain).
 *
 * @param name the principal: a key's name, or the OIDC token's client or subject
 */
public record Caller(String name, Set<Role> roles, Map<String, Set<Access>> domains) {

    /** What an application may do with one domain's records. */
    public enum Access { READ, WRITE }

    /** Where Turnout keeps the caller of a request (a routing context attribute). */
    public static final String ATTRIBUTE = "turnout.caller";

    /** The caller when authentication is off: may do everything, named as such in the audit. */
    public static final Caller ANYONE = new Caller("anonymous", EnumSet.allOf(Role.class), Map.of("*", EnumSet.allOf(Access.class)));

    public boolean has(Role role) {
        return roles.contains(role);
    }

    /** Whether the caller may read the control API: any role does. */
    public boolean mayReadControl() {
        return !roles.isEmpty();
    }

    public boolean may(String domain, Access access) {
        return domains.getOrDefault(domain, Set.of()).contains(access) || domains.getOrDefault("*", Set.of()).contains(access);
    }

    /**
     * Parses roles and grants ({@code connections:read}, {@code *:write}); what cannot be understood
     * is added to {@code problems} and grants nothing.
     */
    public static Caller parse(String name, List<String> roleNames, List<String> grants, Set<String> knownDomains, List<String> problems) {
        Set<Role> roles = EnumSet.noneOf(Role.class);
        for (String r : roleNames) {
            Role.ofLabel(r.trim()).ifPresentOrElse(roles::add,
                    () -> problems.add("role '" + r + "' is not one of operator, release-manager, approver"));
        }
        Map<String, Set<Access>> domains = new TreeMap<>();
        for (String g : grants) {
            String[] parts = g.trim().split(":", -1);
            Access access = parts.length != 2 ? null : switch (parts[1]) {
                case "read" -> Access.READ;
                case "write" -> Access.WRITE;
                default -> null;
            };
            if (access == null) {
                problems.add("grant '" + g + "' must be <domain>:read or <domain>:write");
            } else if (!parts[0].equals("*") && !knownDomains.contains(parts[0])) {
                problems.add("grant '" + g + "' names no domain Turnout serves");
            } else {
                domains.computeIfAbsent(parts[0], k -> EnumSet.noneOf(Access.class)).add(access);
            }
        }
        return new Caller(name, Set.copyOf(roles), Map.copyOf(domains));
    }

    /** The grants in the configuration's form, for display. */
    public List<String> grants() {
        List<String> out = new ArrayList<>();
        domains.forEach((d, a) -> a.forEach(x -> out.add(d + ":" + x.name().toLowerCase(java.util.Locale.ROOT))));
        return out;
    }
}
