package io.turnout.auth;

import java.util.Locale;
import java.util.Optional;

/** What a person may do with the control API (docs/sre.md, "Access control"). */
public enum Role {
    /** Reads the control API, the audit and the metrics. */
    OPERATOR,
    /** Moves stages, runs backfills, verifications and repairs, requests retirement; reads like an operator. */
    RELEASE_MANAGER,
    /** Approves a retirement another principal requested; reads like an operator. */
    APPROVER;

    /** The name used in configuration and tokens: {@code release-manager}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static Optional<Role> ofLabel(String label) {
        for (Role r : values()) {
            if (r.label().equals(label)) return Optional.of(r);
        }
        return Optional.empty();
    }
}
