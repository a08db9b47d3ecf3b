-- The parts of a step: the output of each call inside a fan-out or a map, saved as the
-- call ends, after the checkpoint of `step`. The key names the call within the step; the
-- primary key makes a second save of one call fail (unique_violation).
CREATE TABLE typedflow_parts (
    run_id    BIGINT NOT NULL,
    step      BIGINT NOT NULL,
    key       TEXT   NOT NULL,
    value     BYTEA  NOT NULL,
    value_sum BIGINT NOT NULL,
    PRIMARY KEY (run_id, step, key)
);
