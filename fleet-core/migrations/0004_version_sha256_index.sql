-- Reads find a version's sha256 (the key of the parsed-document cache) without touching its
-- text. In SQLite the text column comes before sha256 in the row, so reading sha256 from the
-- table walks the text's overflow pages (~5 ms for an 18 MB configuration); this covering
-- index answers `WHERE cluster_id = ? AND number = ?` and `ORDER BY number DESC LIMIT 1`
-- on its own.
CREATE INDEX config_versions_sha256 ON config_versions (cluster_id, number, sha256);
