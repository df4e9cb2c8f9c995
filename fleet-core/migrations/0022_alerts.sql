-- Alerts (issue 17): rules, and one row per alert (a rule's subject while its condition holds,
-- or one event). The partial unique indexes make each transition happen once across server
-- replicas: an insert of an open alert or an event that another replica made first does nothing.
CREATE TABLE alert_rules (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    silenced_until BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE alerts (
    id BIGINT PRIMARY KEY,
    rule_id BIGINT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    summary TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    fired_at BIGINT,
    resolved_at BIGINT,
    notified TEXT
);
CREATE UNIQUE INDEX alerts_open ON alerts (rule_id, subject) WHERE state IN ('pending', 'firing');
CREATE UNIQUE INDEX alerts_events ON alerts (rule_id, subject) WHERE state = 'event';
CREATE INDEX alerts_started ON alerts (started_at);
