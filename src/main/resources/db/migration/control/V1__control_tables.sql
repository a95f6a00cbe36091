-- Turnout 0.1's control tables, in the control database only. Written so that it also adopts a control
-- database that Turnout 0.1 created before its tables were versioned: every statement is idempotent.
-- an earlier release may have made these already: PostgreSQL's notices that it skips them are not news
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS turnout_backfill (
    id             bigserial   PRIMARY KEY,
    domain         text        NOT NULL,
    direction      text        NOT NULL CHECK (direction IN ('forward', 'reverse')),
    state          text        NOT NULL,
    reason         text,
    chunk_size     integer     NOT NULL,
    rows_per_second integer,
    cursor_key     text,
    exhausted      boolean     NOT NULL DEFAULT false,
    next_chunk     integer     NOT NULL DEFAULT 0,
    rows_copied    bigint      NOT NULL DEFAULT 0,
    estimated_rows bigint      NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
-- the run's shared schedule: each chunk books its rows' time, so all workers together keep rows_per_second
ALTER TABLE turnout_backfill ADD COLUMN IF NOT EXISTS paced_until timestamptz NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS turnout_backfill_domain ON turnout_backfill (domain, direction, id DESC);

-- The checkpoint log: one row per chunk, leased by one worker at a time, done exactly once.
CREATE TABLE IF NOT EXISTS turnout_backfill_chunk (
    run_id      bigint      NOT NULL REFERENCES turnout_backfill (id) ON DELETE CASCADE,
    chunk_no    integer     NOT NULL,
    after_key   text,
    up_to_key   text,
    state       text        NOT NULL CHECK (state IN ('leased', 'done')),
    owner       text        NOT NULL,
    lease_until timestamptz NOT NULL,
    attempts    integer     NOT NULL DEFAULT 1,
    last_error  text,
    rows_copied integer,
    done_by     text,
    done_at     timestamptz,
    PRIMARY KEY (run_id, chunk_no)
);

CREATE TABLE IF NOT EXISTS turnout_preflight (
    domain       text        NOT NULL,
    name         text        NOT NULL,
    level        text        NOT NULL,
    problem_rows bigint,
    error        text,
    checked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, name)
);

CREATE TABLE IF NOT EXISTS turnout_verification (
    id          bigserial   PRIMARY KEY,
    domain      text        NOT NULL,
    state       text        NOT NULL,
    reason      text,
    cursor_key  text,
    exhausted   boolean     NOT NULL DEFAULT false,
    ranges      integer     NOT NULL DEFAULT 0,
    rows_legacy bigint      NOT NULL DEFAULT 0,
    rows_new    bigint      NOT NULL DEFAULT 0,
    missing     integer     NOT NULL DEFAULT 0,
    extra       integer     NOT NULL DEFAULT 0,
    different   integer     NOT NULL DEFAULT 0,
    transient   integer     NOT NULL DEFAULT 0,
    owner       text,
    heartbeat   timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE TABLE IF NOT EXISTS turnout_verification_diff (
    run_id     bigint NOT NULL REFERENCES turnout_verification (id) ON DELETE CASCADE,
    record_key text   NOT NULL,
    kind       text   NOT NULL CHECK (kind IN ('missing', 'extra', 'different')),
    fields     text[],
    repaired   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, record_key)
);

-- The stage each domain is routed by. A stage change updates its row, and every copy into a store
-- (backfill chunk, repair batch) holds the row FOR SHARE while it commits: no copy commits after
-- the change that made its target authoritative or stopped it receiving writes.
CREATE TABLE IF NOT EXISTS turnout_stage (
    domain     text        PRIMARY KEY,
    applied    text        NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
