-- Traffic rules (fleet-core `rules`, issue 21): a cluster's rules, each rendered into the
-- cluster's configuration by every change. `spec` is the rule as `rules::Rule` JSON (its kind,
-- the kind's fields, frontends, priority, enabled, dry_run), so a new kind adds no column.
CREATE TABLE traffic_rules (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (cluster_id, name)
);
