-- Shadow comparisons per domain, stage and minute, summed over the fleet as stage control adds them
-- to the stage row: the match rate over time that the console charts. Kept for a day.
CREATE TABLE turnout_shadow_history (
    domain    text        NOT NULL,
    stage     text        NOT NULL,
    minute    timestamptz NOT NULL,
    compared  bigint      NOT NULL,
    confirmed bigint      NOT NULL,
    PRIMARY KEY (domain, minute, stage)
);
