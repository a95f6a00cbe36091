package io.turnout.control;

import io.turnout.routing.Stage;
import io.vertx.sqlclient.Row;
import java.time.OffsetDateTime;

/**
 * A domain's row in {@code turnout_stage}: the applied stage and since when, the desired stage last
 * seen, since when the store that mirrors the authoritative one has received every write, and the
 * shadow comparisons counted at the applied stage.
 */
record StageRow(String domain, Stage applied, OffsetDateTime changedAt, Stage desired, OffsetDateTime mirroredSince,
        long shadowCompared, long shadowConfirmed) {

    static final String COLUMNS = "domain, applied, changed_at, desired, mirrored_since, shadow_compared, shadow_confirmed";

    static StageRow of(Row r) {
        return new StageRow(r.getString(0), Stage.ofLabel(r.getString(1)).orElse(null), r.getOffsetDateTime(2),
                Stage.ofLabel(r.getString(3)).orElse(null), r.getOffsetDateTime(4), r.getLong(5), r.getLong(6));
    }

    /** Since when the mirroring store has received every write (rows written before this was kept: since the stage was applied). */
    OffsetDateTime mirrored() {
        return mirroredSince != null ? mirroredSince : changedAt;
    }
}
