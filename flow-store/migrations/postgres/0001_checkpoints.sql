-- One row per step of a run. The primary key makes a second save of a step fail
-- (unique_violation), which is how two processes resuming one run are told apart.
CREATE TABLE typedflow_checkpoints (
    run_id      BIGINT  NOT NULL,
    step        BIGINT  NOT NULL,
    format      BIGINT  NOT NULL,
    flow        TEXT    NOT NULL,
    fingerprint BIGINT  NOT NULL,
    node        TEXT    NOT NULL,
    attempt     BIGINT  NOT NULL,
    time_us     BIGINT  NOT NULL,
    status      TEXT    NOT NULL,
    question    TEXT,
    state       BYTEA   NOT NULL,
    state_sum   BIGINT  NOT NULL,
    PRIMARY KEY (run_id, step)
);
