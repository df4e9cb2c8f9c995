-- What is left of an agent that was decommissioned, or whose cluster or pool was deleted with
-- force: its token's hash, so a call with that token answers 410 Gone and tells the node whether
-- to stop HAProxy (the agent then exits instead of retrying forever). Kept on purpose without a
-- foreign key: the cluster may be gone. The audit log holds the same event for people.
CREATE TABLE agent_tombstones (
    token_hash TEXT PRIMARY KEY,
    agent_id BIGINT NOT NULL,
    cluster_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('decommissioned', 'cluster_deleted')),
    stop_haproxy BIGINT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);
