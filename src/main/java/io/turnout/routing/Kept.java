package io.turnout.routing;

import io.turnout.domain.Domain;
import io.turnout.domain.Side;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a value a client writes to a field is kept at a stage. A store writes only its own columns,
 * so a field the authoritative store does not store is kept only if the store mirroring it does and
 * the authority cannot hold the field at all; otherwise the value is accepted only when it equals
 * what Turnout serves for the field after the write.
 */
public enum Kept {
    /** The authoritative store has a column for the field. */
    STORED,
    /** Only the mirroring store has a column for it: the client's value is carried to that store. */
    CARRIED,
    /** No store taking the write can set it: the value must equal the one served after the write. */
    CHECKED;

    public static Kept how(Domain domain, Stage stage, String field) {
        List<Side> sides = stage.writesTo(domain);
        if (sides.isEmpty()) return CHECKED;
        Side first = sides.get(0);
        if (domain.stores(first, field)) return STORED;
        if (sides.size() > 1 && !domain.holds(first, field) && domain.stores(sides.get(1), field)) return CARRIED;
        return CHECKED;
    }

    /** How each of the domain's fields is kept at a stage; it depends on configuration only. */
    public static Map<String, Kept> plan(Domain domain, Stage stage) {
        Map<String, Kept> out = new HashMap<>();
        domain.fields().forEach(f -> out.put(f.name(), how(domain, stage, f.name())));
        return Map.copyOf(out);
    }

    /** The stages at which any value of the field is kept, in stage order. */
    public static List<Stage> writableAt(Domain domain, String field) {
        return Arrays.stream(Stage.values()).filter(s -> how(domain, s, field) != CHECKED).toList();
    }

    /** A write whose value for a field cannot be kept at the stage applied. */
    public static final class Refused extends RuntimeException {
        public final String field;

        Refused(String field, String message) {
            super(message, null, false, false);
            this.field = field;
        }

        static Refused of(Domain domain, Stage stage, String field) {
            List<Side> sides = stage.writesTo(domain);
            if (sides.isEmpty()) return new Refused(field, "No store of domain " + domain.name() + " takes writes at stage " + stage.label());
            Side first = sides.get(0);
            String why = domain.holds(first, field)
                    ? "the " + first.label() + " store, authoritative at this stage, derives it from other fields"
                    : "the " + first.label() + " store, authoritative at this stage, does not hold it";
            List<Stage> at = writableAt(domain, field);
            Optional<Stage> next = at.stream().filter(s -> s.ordinal() > stage.ordinal()).findFirst();
            String when = next.map(s -> "it becomes writable at " + s.label())
                    .orElse(at.isEmpty() ? "no stage of this domain can keep another value" : "it is writable at " + at.get(at.size() - 1).label());
            return new Refused(field, "Field '" + field + "' cannot be kept at stage " + stage.label() + ": " + why
                    + " and no store taking this write stores it; " + when
                    + ". Send the value Turnout serves for it, or leave the field out.");
        }
    }
}
