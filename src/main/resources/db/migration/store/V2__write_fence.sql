-- The write fence of each domain in this database (io.turnout.fleet.StoreFence): the stage every write
-- and copy into this database must be routed by. A write or copy calls turnout_enter(domain, stage)
-- in its own statement or transaction; it takes the domain's fence lock shared until it commits, and
-- fails with SQLSTATE TRNFC when the row names another stage, or none while a switch is under way.
-- A stage change takes the lock exclusively to update the row, so it waits for every write and copy
-- that entered under the old stage, and none enters under the old stage after it.
CREATE TABLE IF NOT EXISTS turnout_fence (
    domain     text        PRIMARY KEY,
    stage      text,
    epoch      bigint      NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION turnout_enter(p_domain text, p_stage text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- 0x54524e46 ('TRNF') keeps these locks apart from every single-key advisory lock
    PERFORM pg_advisory_xact_lock_shared(1414680134, hashtext(p_domain));
    -- a statement of its own, so it sees a change committed while the lock was awaited
    PERFORM 1 FROM turnout_fence WHERE domain = p_domain AND stage = p_stage;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'domain % is not at stage % in this database (a stage change is under way)', p_domain, p_stage
            USING ERRCODE = 'TRNFC';
    END IF;
    RETURN true;
END
$$;
