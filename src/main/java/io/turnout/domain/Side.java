package io.turnout.domain;

import java.util.Locale;

/** Which of a domain's two stores. */
public enum Side {
    LEGACY,
    NEW;

    public Side other() {
        return this == LEGACY ? NEW : LEGACY;
    }

    /** The name used in headers, metrics and the outbox. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Side ofLabel(String label) {
        return valueOf(label.toUpperCase(Locale.ROOT));
    }
}
