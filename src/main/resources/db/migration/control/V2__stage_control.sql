-- Stage control (io.turnout.control.StageControl): the desired stage last seen, since when the
-- store mirroring the authoritative one has received every write, and the shadow comparisons
-- counted at the applied stage (reset by every step).
-- an earlier release may have made these already: PostgreSQL's notices that it skips them are not news
SET client_min_messages = warning;
ALTER TABLE turnout_stage ADD COLUMN IF NOT EXISTS desired text;
ALTER TABLE turnout_stage ADD COLUMN IF NOT EXISTS mirrored_since timestamptz;
ALTER TABLE turnout_stage ADD COLUMN IF NOT EXISTS shadow_compared bigint NOT NULL DEFAULT 0;
ALTER TABLE turnout_stage ADD COLUMN IF NOT EXISTS shadow_confirmed bigint NOT NULL DEFAULT 0;

-- Append-only: who changed what in a domain's migration, and why (io.turnout.control.Audit).
CREATE TABLE IF NOT EXISTS turnout_audit (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    domain     text        NOT NULL,
    action     text        NOT NULL,
    actor      text        NOT NULL,
    from_stage text,
    to_stage   text,
    reason     text,
    detail     jsonb
);
CREATE INDEX IF NOT EXISTS turnout_audit_domain ON turnout_audit (domain, id);

-- The last confirmed shadow mismatches per domain: key and field names, never values.
CREATE TABLE IF NOT EXISTS turnout_shadow_mismatch (
    id         bigserial   PRIMARY KEY,
    domain     text        NOT NULL,
    stage      text        NOT NULL,
    record_key text        NOT NULL,
    fields     text[]      NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS turnout_shadow_mismatch_domain ON turnout_shadow_mismatch (domain, id);
