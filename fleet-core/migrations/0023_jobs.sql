-- Remote jobs (issue 18): a typed job of a closed set (fleet-core `jobs`) queued for some or all
-- agents of a cluster, and one run per agent with its status, bounded output, exit code and
-- duration. Delivery marks a run `running` (the agent holds the jobs long-poll); the agent
-- posts how it ended. `cancel_requested_at` asks running runs to stop; `cancel_sent_at` says the
-- agent was told, so a long-poll does not answer the same cancel twice.
CREATE TABLE jobs (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    timeout_ms BIGINT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    cancel_requested_at BIGINT
);
CREATE INDEX jobs_cluster ON jobs (cluster_id, created_at);

CREATE TABLE job_runs (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    agent_id BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    agent_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
    output TEXT NOT NULL,
    exit_code BIGINT,
    started_at BIGINT,
    finished_at BIGINT,
    cancel_sent_at BIGINT,
    PRIMARY KEY (job_id, agent_id)
);
CREATE INDEX job_runs_agent ON job_runs (agent_id, status);
