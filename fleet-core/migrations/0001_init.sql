-- One schema for SQLite and PostgreSQL: only BIGINT, TEXT and portable constraints.
-- Ids are random positive integers below 2^53 chosen by the application (no SERIAL/AUTOINCREMENT,
-- which the two databases spell differently). Times are Unix milliseconds. JSON is TEXT.

CREATE TABLE pools (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE clusters (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    pool_id BIGINT NOT NULL REFERENCES pools (id),
    settings TEXT NOT NULL,
    desired_version BIGINT,
    created_at BIGINT NOT NULL
);

-- The chain of immutable versions. The primary key is what makes two concurrent commits on the
-- same base fail for all but one, in any number of processes.
CREATE TABLE config_versions (
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    text TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    parent BIGINT,
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (cluster_id, number)
);

CREATE TABLE transactions (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    base_version BIGINT NOT NULL,
    ops TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'committed', 'discarded', 'outdated')),
    author TEXT NOT NULL,
    committed_version BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX transactions_cluster ON transactions (cluster_id, state);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id BIGINT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE enrolments (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    allowed_cidrs TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    id BIGINT PRIMARY KEY,
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    hostname TEXT NOT NULL,
    facts TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    last_seen_at BIGINT,
    applied_version BIGINT,
    last_outcome TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (cluster_id, name)
);

CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    cluster_id BIGINT,
    version BIGINT,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_cluster ON audit_log (cluster_id, at);
