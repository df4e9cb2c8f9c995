-- DNS failover (fleet-core `failover`, issue 15): per pool, its settings (JSON of
-- `failover::settings::FailoverSettings` without `active`), the member the record points at,
-- the member last made active by hand (fail-back goes there), the last move, and the decider's
-- lease (one server replica decides for a pool at a time).
CREATE TABLE pool_failover (
    pool_id BIGINT PRIMARY KEY REFERENCES pools (id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    active TEXT,
    preferred TEXT,
    last_move_at BIGINT,
    lease_holder TEXT,
    lease_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The timeline: detection, decision, dns_update, manual, settings, error.
CREATE TABLE failover_events (
    id BIGINT PRIMARY KEY,
    pool_id BIGINT NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX failover_events_pool ON failover_events (pool_id, at);
