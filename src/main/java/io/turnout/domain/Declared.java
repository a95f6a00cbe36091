package io.turnout.domain;

import java.util.List;

/**
 * What a domain declares beyond its fields and stores: the record a SQL mapping must read back as
 * written, the domains its records refer to, how records that only the new store held before the
 * migration (pilot rows) are treated, and how its legacy tables are retired.
 *
 * @param example the record the start-up round trip writes and reads back, or null
 * @param parents names of the domains this one's records refer to by foreign key
 * @param pilot how pilot rows are kept, or null when the domain has none
 * @param retireRenameSuffix the suffix the legacy tables are renamed with at retirement, or null to drop them
 */
public record Declared(Record example, List<String> parents, Pilot pilot, String retireRenameSuffix) {

    public static final Declared NONE = new Declared(null, List.of(), null, null);

    /**
     * Pilot rows: kept through the backfill and accepted by verification when {@code acceptExtra};
     * a key both stores held with different values before any copy blocks, unless the legacy
     * record is declared to win.
     */
    public record Pilot(boolean acceptExtra, boolean legacyWins) {}
}
