-- HAProxy's alerts of an agent's last apply, located in the version's text (JSON array of
-- diagnostics: severity, position {line, column}, message).

ALTER TABLE agents ADD COLUMN last_diagnostics TEXT NOT NULL DEFAULT '[]';
