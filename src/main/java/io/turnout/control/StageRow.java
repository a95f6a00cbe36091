package io.turnout.control;

import io.turnout.routing.Stage;
import java.time.OffsetDateTime;

/**
 * A domain's row in {@code turnout_stage}: the applied stage and since when, the desired stage last
 * seen, since when the store that mirrors the authoritative one has received every write, and the
 * shadow comparisons counted at the applied stage.
 */
record StageRow(String domain, Stage applied, OffsetDateTime changedAt, Stage desired, OffsetDateTime mirroredSince,
        long shadowCompared, long shadowConfirmed) {

    static StageRow of(StageRecord r) {
        return new StageRow(r.domain, Stage.ofLabel(r.applied).orElse(null), r.changedAt, r.desired == null ? null : Stage.ofLabel(r.desired).orElse(null),
                r.mirroredSince, r.shadowCompared, r.shadowConfirmed);
    }

    /** Since when the mirroring store has received every write (rows written before this was kept: since the stage was applied). */
    OffsetDateTime mirrored() {
        return mirroredSince != null ? mirroredSince : changedAt;
    }
}
