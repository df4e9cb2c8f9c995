-- Bundles: a version is every file a node runs (fleet-core `bundle`).
--
-- Storage is content-addressed twice so a long history of a large bundle stays small:
-- a file's content (blob) is a list of content-defined chunks, and a chunk is stored once
-- however many files, versions and clusters hold it. Changing one line of a 5 MB map stores
-- the one or two chunks around that line and a new chunk list, not a second 5 MB.
--
-- BYTEA: PostgreSQL's binary type; SQLite accepts the name and stores the bytes as a BLOB.

CREATE TABLE chunks (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    content BYTEA NOT NULL
);

-- A file's content: the SHA-256 of each chunk in order, 32 raw bytes each.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    chunks BYTEA NOT NULL
);

-- The files of each version in bundle order (position). The first config file (position 0)
-- is the version's `text` column and has no blob. A version without rows here (made before
-- bundles) is the one-file bundle of its text.
CREATE TABLE version_files (
    cluster_id BIGINT NOT NULL,
    number BIGINT NOT NULL,
    position BIGINT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    mode BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (cluster_id, number, position),
    UNIQUE (cluster_id, number, path),
    FOREIGN KEY (cluster_id, number) REFERENCES config_versions (cluster_id, number) ON DELETE CASCADE
);

-- The bundle digest agents compare (`known`); NULL for versions made before bundles, whose
-- digest is computed from the one-file bundle of their text.
ALTER TABLE config_versions ADD COLUMN digest TEXT;
