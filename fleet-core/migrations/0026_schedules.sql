-- Schedules (issue 18): cron expressions in a time zone that run a target (a job on a cluster),
-- and their history. `next_run_at` is the claim: a replica runs a run time only when its
-- `UPDATE schedules SET next_run_at = <next> WHERE id = <id> AND next_run_at = <due>` changed
-- the row, so each run time runs once however many replicas tick; the unique index on
-- (schedule_id, scheduled_for) guards the history the same way. NULL: disabled.
CREATE TABLE schedules (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    cluster_id BIGINT REFERENCES clusters (id) ON DELETE CASCADE,
    next_run_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_next_run ON schedules (next_run_at);

CREATE TABLE schedule_runs (
    id BIGINT PRIMARY KEY,
    schedule_id BIGINT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    scheduled_for BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    catch_up BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    created TEXT,
    detail TEXT NOT NULL,
    replica TEXT NOT NULL,
    alive_at BIGINT
);
CREATE UNIQUE INDEX schedule_runs_time ON schedule_runs (schedule_id, scheduled_for);
CREATE INDEX schedule_runs_outcome ON schedule_runs (outcome);
