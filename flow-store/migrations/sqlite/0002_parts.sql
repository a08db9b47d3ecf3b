-- The parts of a step: the output of each call inside a fan-out or a map, saved as the
-- call ends, after the checkpoint of `step`. The key names the call within the step; the
-- primary key makes a second save of one call fail.
CREATE TABLE parts (
    run_id    INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    value     BLOB    NOT NULL,
    value_sum INTEGER NOT NULL,
    PRIMARY KEY (run_id, step, key)
) WITHOUT ROWID;
