-- Snapshots (issue 18): what a node ran, uploaded by a `snapshot` job as a bundle (its managed
-- tree, its keepalived.conf, the unmanaged files under the managed directory). Files are blobs
-- of the bundle store (0005): chunked and shared, files holding a private key sealed. A snapshot
-- outlives its agent (disaster recovery restores a dead node's files elsewhere): the agent's id
-- and name are kept as plain columns.
CREATE TABLE snapshots (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    agent_id BIGINT NOT NULL,
    agent_name TEXT NOT NULL,
    job_id BIGINT,
    digest TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX snapshots_cluster ON snapshots (cluster_id, created_at);

CREATE TABLE snapshot_files (
    snapshot_id BIGINT NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    mode BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (snapshot_id, position)
);
