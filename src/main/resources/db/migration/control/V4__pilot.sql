-- Pilot rows (io.turnout.sync.Pilot): records the new store held before the migration began, found
-- once, before any copy. Extras are kept through the backfill and accepted by verification;
-- collisions (a key both stores held, with different values) hold the backfill unless the domain
-- declares that the legacy record wins.
CREATE TABLE turnout_pilot_snapshot (
    domain     text        PRIMARY KEY,
    taken_at   timestamptz NOT NULL DEFAULT now(),
    stage      text        NOT NULL,
    extras     integer     NOT NULL,
    collisions integer     NOT NULL
);

CREATE TABLE turnout_pilot (
    domain     text   NOT NULL REFERENCES turnout_pilot_snapshot (domain) ON DELETE CASCADE,
    record_key text   NOT NULL,
    kind       text   NOT NULL CHECK (kind IN ('extra', 'collision')),
    fields     text[],
    PRIMARY KEY (domain, record_key)
);

ALTER TABLE turnout_verification ADD COLUMN accepted_extra integer NOT NULL DEFAULT 0;
