-- The fleet (io.turnout.fleet.Replicas): every replica that runs, its heartbeat, and the stage it
-- routes each domain by. Stage control takes a forward step only when every live replica routes by
-- the current stage.
CREATE TABLE turnout_replica (
    id           text        PRIMARY KEY,
    host         text        NOT NULL,
    version      text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz
);

CREATE TABLE turnout_replica_stage (
    replica_id text        NOT NULL REFERENCES turnout_replica (id) ON DELETE CASCADE,
    domain     text        NOT NULL,
    stage      text        NOT NULL,
    since      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (replica_id, domain)
);
