-- API keys generated at the first start when none is configured (io.turnout.auth.Keys): only the
-- SHA-256 of each key is kept; the keys themselves are printed once and never stored.
CREATE TABLE turnout_api_key (
    name       text        PRIMARY KEY,
    hash       text        NOT NULL UNIQUE,
    roles      text[]      NOT NULL,
    domains    text[]      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Retirement of a domain's legacy tables (io.turnout.control.Retirement): requested by one
-- principal, approved by another, then carried out step by step; each step is recorded here
-- before the next begins, so a restart resumes where it stopped.
CREATE TABLE turnout_retirement (
    id           bigserial   PRIMARY KEY,
    domain       text        NOT NULL,
    -- retire: archive, then drop or rename, then stage retired; drop-renamed: drop the renamed tables
    kind         text        NOT NULL CHECK (kind IN ('retire', 'drop-renamed')),
    state        text        NOT NULL CHECK (state IN ('requested', 'approved', 'archived', 'removed', 'done', 'expired', 'failed')),
    reason       text        NOT NULL,
    requested_by text        NOT NULL,
    -- times of the retirement clock (turnout.clock.offset included)
    requested_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    approved_by  text,
    approved_at  timestamptz,
    -- legacy table -> archive table, and legacy table -> its name once renamed
    archives     jsonb       NOT NULL DEFAULT '{}',
    renamed      jsonb       NOT NULL DEFAULT '{}',
    attempts     integer     NOT NULL DEFAULT 0,
    failure      text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX turnout_retirement_open ON turnout_retirement (domain) WHERE state IN ('requested', 'approved', 'archived', 'removed');

-- The row count and checksum of each legacy table when the domain was applied at complete (when
-- no replica writes it any more): the retirement checklist shows that no write reached it since,
-- and the archive must equal it.
CREATE TABLE turnout_legacy_fingerprint (
    domain     text        NOT NULL,
    table_name text        NOT NULL,
    since      timestamptz NOT NULL,
    row_count  bigint      NOT NULL,
    checksum   text        NOT NULL,
    taken_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, table_name)
);
