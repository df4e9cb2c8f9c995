-- Virtual IPs (fleet-core `vip`, issue 14).
--
-- vips.spec: the group as `vip::Vip` without id/cluster/name/times (JSON), so new fields add
-- no column. The VRRPv2 auth secret is not here: it is a sealed secret `vip/<id>/auth`.
CREATE TABLE vips (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (cluster_id, name)
);

-- Which agents' heartbeats show a group's addresses now, since when.
CREATE TABLE vip_holders (
    vip_id BIGINT NOT NULL REFERENCES vips (id) ON DELETE CASCADE,
    agent_id BIGINT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (vip_id, agent_id)
);

-- Acquired/released as heartbeats showed them.
CREATE TABLE vip_transitions (
    id BIGINT PRIMARY KEY,
    vip_id BIGINT NOT NULL REFERENCES vips (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    agent TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX vip_transitions_vip ON vip_transitions (vip_id, at);

-- What each agent last reported of keepalived and its interfaces (JSON, NULL: nothing yet).
ALTER TABLE agents ADD COLUMN keepalived TEXT;
ALTER TABLE agents ADD COLUMN interfaces TEXT;
