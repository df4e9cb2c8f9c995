-- Rule hits (fleet-core `rules::hits`): each agent's latest reading of each rate-limit rule's
-- stick table (`show table fleet_rl_<rule>`), replaced by every heartbeat that carries them.
CREATE TABLE rule_hits (
    agent_id BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    tracked BIGINT NOT NULL,
    over_limit BIGINT NOT NULL,
    max_rate BIGINT NOT NULL,
    measured_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, rule)
);
