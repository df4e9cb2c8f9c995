-- Node truth and drift (fleet-core `monitor`, issue 17): the heartbeat interval each agent
-- reports (offline = 3 intervals without a heartbeat), and the managed files that differ on the
-- node from what it applied (JSON of `Vec<monitor::DriftFile>`, bounded to 64 KiB of diff) with
-- the time they were first seen so.
ALTER TABLE agents ADD COLUMN heartbeat_ms BIGINT;
ALTER TABLE agents ADD COLUMN drift TEXT;
ALTER TABLE agents ADD COLUMN drift_since BIGINT;
