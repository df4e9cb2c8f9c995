-- Stats history (fleet-core `monitor::stats`, issue 17): one series per agent and `show stat`
-- row (frontend, backend or server), with the last sample's counters to compute the next
-- deltas, and its points: tier 0 = raw 10 s buckets (kept 24 h), tier 1 = 5 min rollups (kept 30
-- days). A point holds counter increases over `span_ms` (rates = increase / span), the time up,
-- and gauges. `stats_compaction` remembers how far raw points were rolled up. No index on age:
-- retention deletes through the primary key, series by series (an index would cost ~25% more).
CREATE TABLE stats_series (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    agent_id BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    proxy TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    check_status TEXT NOT NULL,
    last_at BIGINT NOT NULL,
    last_pid BIGINT,
    last_sessions BIGINT NOT NULL,
    last_requests BIGINT NOT NULL,
    last_bytes_in BIGINT NOT NULL,
    last_bytes_out BIGINT NOT NULL,
    last_hrsp_4xx BIGINT NOT NULL,
    last_hrsp_5xx BIGINT NOT NULL
);
CREATE UNIQUE INDEX stats_series_key ON stats_series (agent_id, proxy, name);
CREATE INDEX stats_series_cluster ON stats_series (cluster_id, proxy, name);

CREATE TABLE stats_points (
    series_id BIGINT NOT NULL REFERENCES stats_series (id) ON DELETE CASCADE,
    tier SMALLINT NOT NULL,
    at BIGINT NOT NULL,
    span_ms BIGINT NOT NULL,
    up_ms BIGINT NOT NULL,
    sessions BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    bytes_in BIGINT NOT NULL,
    bytes_out BIGINT NOT NULL,
    hrsp_4xx BIGINT NOT NULL,
    hrsp_5xx BIGINT NOT NULL,
    scur BIGINT NOT NULL,
    qcur BIGINT NOT NULL,
    rtime BIGINT NOT NULL,
    PRIMARY KEY (series_id, tier, at)
);

CREATE TABLE stats_compaction (
    id BIGINT PRIMARY KEY,
    rolled_until BIGINT NOT NULL
);
