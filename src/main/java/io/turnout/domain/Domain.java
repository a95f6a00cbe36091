package io.turnout.domain;

import io.turnout.store.Store;
import java.util.List;
import java.util.Optional;

/** A family of records with a legacy and a new store, moved between them by one stage flag. */
public record Domain(String name, String flag, Field key, List<Field> fields, Store legacy, Store target,
        double shadowSampleRate, Normalization normalization, List<PreflightCheck> preflight) {

    public Store store(Side side) {
        return side == Side.LEGACY ? legacy : target;
    }

    public Optional<Field> field(String name) {
        return fields.stream().filter(f -> f.name().equals(name)).findFirst();
    }

    /** Whether a dual write commits both stores in one transaction. */
    public boolean sameDatabase() {
        return legacy.database().name().equals(target.database().name());
    }

    /** The key as text, for the outbox and lock names. */
    public String keyText(Object key) {
        return String.valueOf(key);
    }
}
