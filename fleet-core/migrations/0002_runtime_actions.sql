-- Runtime actions (drain / ready / maint / weight of a server) queued for every agent of a
-- cluster, and each agent's result. Same portable types as 0001.

CREATE TABLE runtime_actions (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    backend TEXT NOT NULL,
    server TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('drain', 'ready', 'maint', 'weight')),
    value BIGINT,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX runtime_actions_cluster ON runtime_actions (cluster_id, created_at);

CREATE TABLE runtime_results (
    action_id BIGINT NOT NULL REFERENCES runtime_actions (id) ON DELETE CASCADE,
    agent_id BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    ok BIGINT NOT NULL,
    output TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (action_id, agent_id)
);
