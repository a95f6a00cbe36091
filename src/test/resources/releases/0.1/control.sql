-- Turnout's own tables, created in every database it serves. Idempotent.
CREATE TABLE IF NOT EXISTS turnout_outbox (
    id              bigserial PRIMARY KEY,
    domain          text        NOT NULL,
    record_key      text        NOT NULL,
    source          text        NOT NULL CHECK (source IN ('legacy', 'new')),
    target          text        NOT NULL CHECK (target IN ('legacy', 'new')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);
-- What a client wrote to fields only the target store holds (see io.turnout.store.Owned).
ALTER TABLE turnout_outbox ADD COLUMN IF NOT EXISTS owned jsonb;
-- Set when a key has failed too often to keep retrying on its own; see docs/sre.md.
ALTER TABLE turnout_outbox ADD COLUMN IF NOT EXISTS parked_at timestamptz;
-- Only the primary key: every write that crosses databases adds and removes a row here, so each
-- extra index is paid on the hot path. The relay scans in id order, and the table stays small
-- unless a store is down.
DROP INDEX IF EXISTS turnout_outbox_due;
DROP INDEX IF EXISTS turnout_outbox_domain;
-- Creates retried with the same Idempotency-Key: the first answer, kept for turnout.idempotency.retention.
-- Written in the same transaction as the create, in the database of the store that took it first.
CREATE TABLE IF NOT EXISTS turnout_idempotency (
    domain          text        NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    record_key      text,
    answer          jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, idempotency_key)
);
CREATE INDEX IF NOT EXISTS turnout_idempotency_created ON turnout_idempotency (created_at);
