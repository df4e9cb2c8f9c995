-- Staged rollouts (issue 20): one row per apply of a cluster. `body` holds the stages and every
-- agent's outcome as JSON (fleet_core::rollouts::Rollout), so one compare-and-set on
-- `revision` saves a whole step: a replica's update changes the row only when nobody saved
-- since it read it. `number` counts a cluster's rollouts; its uniqueness orders them and makes
-- two concurrent applies of one cluster conflict instead of interleaving.
CREATE TABLE rollouts (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX rollouts_cluster_number ON rollouts (cluster_id, number);
CREATE INDEX rollouts_state ON rollouts (state);
-- Which version an agent's last report was about, and when: a rollout counts a failure only
-- when it is about its version and came after the agent was told it.
ALTER TABLE agents ADD COLUMN last_report_version BIGINT;
ALTER TABLE agents ADD COLUMN last_report_at BIGINT;
