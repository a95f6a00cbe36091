package io.turnout.routing;

import io.turnout.domain.Domain;
import io.turnout.domain.Side;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Where a domain's reads and writes go. The order of {@link #writes()} matters: the first store is
 * authoritative, its failure fails the request, and the second only mirrors what the first holds.
 */
public enum Stage {
    LEGACY(Side.LEGACY, null, List.of(Side.LEGACY)),
    DUAL_WRITE(Side.LEGACY, null, List.of(Side.LEGACY, Side.NEW)),
    SHADOW(Side.LEGACY, Side.NEW, List.of(Side.LEGACY, Side.NEW)),
    LIVE(Side.NEW, Side.LEGACY, List.of(Side.NEW, Side.LEGACY)),
    RAMPDOWN(Side.NEW, null, List.of(Side.NEW, Side.LEGACY)),
    COMPLETE(Side.NEW, null, List.of(Side.NEW)),
    RETIRED(Side.NEW, null, List.of(Side.NEW));

    private final Side reads;
    private final Side comparedWith;
    private final List<Side> writes;

    Stage(Side reads, Side comparedWith, List<Side> writes) {
        this.reads = reads;
        this.comparedWith = comparedWith;
        this.writes = writes;
    }

    /** The store that serves reads. */
    public Side reads() {
        return reads;
    }

    /** The store sampled reads are compared against in the background, if any. */
    public Optional<Side> comparedWith() {
        return Optional.ofNullable(comparedWith);
    }

    /** The stores that take writes, authoritative first. */
    public List<Side> writes() {
        return writes;
    }

    /** The stores of this domain a write goes to, authoritative first: a read-only search origin takes none. */
    public List<Side> writesTo(Domain domain) {
        return writes.stream().filter(domain::writable).toList();
    }

    public Side authoritative() {
        return writes.get(0);
    }

    /** Whether one step forward or back from here changes the authoritative store ({@code shadow} and {@code live}). */
    public boolean nextToAuthorityMove() {
        Stage[] all = values();
        int i = ordinal();
        return (i > 0 && all[i - 1].authoritative() != authoritative())
                || (i + 1 < all.length && all[i + 1].authoritative() != authoritative());
    }

    /** The store that mirrors the authoritative one, if the stage writes both. */
    public Optional<Side> mirror() {
        return writes.size() > 1 ? Optional.of(writes.get(1)) : Optional.empty();
    }

    /** The name used in flags, headers and metrics. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Stage> ofLabel(String label) {
        if (label == null) return Optional.empty();
        for (Stage s : values()) {
            if (s.label().equals(label.trim().toLowerCase(Locale.ROOT))) return Optional.of(s);
        }
        return Optional.empty();
    }
}
