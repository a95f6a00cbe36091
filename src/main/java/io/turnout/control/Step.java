package io.turnout.control;

import io.turnout.routing.Stage;

/** One move of the applied stage to a neighbouring stage. */
public record Step(Stage from, Stage to) {

    /** The step from {@code applied} toward {@code desired}, or null when they are the same. */
    static Step toward(Stage applied, Stage desired) {
        if (applied == desired) return null;
        int dir = desired.ordinal() > applied.ordinal() ? 1 : -1;
        return new Step(applied, Stage.values()[applied.ordinal() + dir]);
    }

    public boolean forward() {
        return to.ordinal() > from.ordinal();
    }

    /** Whether the step changes which store takes writes first, so it runs under the write fence. */
    public boolean movesAuthority() {
        return from.authoritative() != to.authoritative();
    }

    @Override
    public String toString() {
        return from.label() + " -> " + to.label();
    }
}
