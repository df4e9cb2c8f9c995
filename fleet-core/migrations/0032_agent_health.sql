-- What a rollout watches of each agent's last facts (`rollouts::Observation`): HAProxy's runtime
-- summary present (0/1) and the share of its servers up. Every heartbeat with facts writes them
-- beside the facts, so a rollout tick over 10,000 agents reads two numbers per agent instead of
-- parsing 10,000 facts documents. NULL: not written since this migration (the facts are read).
ALTER TABLE agents ADD COLUMN haproxy_running BIGINT;
ALTER TABLE agents ADD COLUMN server_up_ratio DOUBLE PRECISION;
