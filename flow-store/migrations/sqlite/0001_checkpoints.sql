-- One row per step of a run. The primary key makes a second save of a step fail, which
-- is how two processes resuming one run are told apart. WITHOUT ROWID keeps a run's
-- steps together in the key's order, so "latest" and "history" read one range.
CREATE TABLE checkpoints (
    run_id      INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    format      INTEGER NOT NULL,
    flow        TEXT    NOT NULL,
    fingerprint INTEGER NOT NULL,
    node        TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    time_us     INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    question    TEXT,
    state       BLOB    NOT NULL,
    state_sum   INTEGER NOT NULL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
