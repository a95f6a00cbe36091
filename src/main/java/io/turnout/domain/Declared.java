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
 * @param retirement how the legacy tables are archived and removed at the end
 */
public record Declared(Record example, List<String> parents, Pilot pilot, Retirement retirement) {

    public static final Declared NONE = new Declared(null, List.of(), null, Retirement.DROP);

    /**
     * How the legacy tables are retired: archived (under {@code archiveNames}, or
     * {@code <table>_archive_<yyyymmdd>}), then dropped, or renamed with {@code renameSuffix} when
     * one is set. {@code safetyWindow} is null where the global default applies.
     */
    public record Retirement(String renameSuffix, java.time.Duration safetyWindow, java.util.Map<String, String> archiveNames) {
        public static final Retirement DROP = new Retirement(null, null, java.util.Map.of());
    }

    /**
     * Pilot rows: kept through the backfill and accepted by verification when {@code acceptExtra};
     * a key both stores held with different values before any copy blocks, unless the legacy
     * record is declared to win.
     */
    public record Pilot(boolean acceptExtra, boolean legacyWins) {}
}
