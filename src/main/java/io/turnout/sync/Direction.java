package io.turnout.sync;

import io.turnout.domain.Side;
import java.util.Locale;
import java.util.Optional;

/** Which way a backfill copies: forward fills the new store, reverse brings the legacy store back. */
public enum Direction {
    FORWARD(Side.LEGACY, Side.NEW),
    REVERSE(Side.NEW, Side.LEGACY);

    public final Side source;
    public final Side target;

    Direction(Side source, Side target) {
        this.source = source;
        this.target = target;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Direction> ofLabel(String label) {
        for (Direction d : values()) {
            if (d.label().equals(label)) return Optional.of(d);
        }
        return Optional.empty();
    }
}
