-- Accounts (issue 12 section 3): case- and confusable-insensitive usernames, pool-scoped roles,
-- TOTP second factor with hashed recovery codes, login throttling, API token expiry, server
-- settings. Same portable types as 0001; columns are added, never retyped, so SQLite needs no
-- table rebuild.

-- The username skeleton (auth::usernames::skeleton) that uniqueness and login compare. NULL only
-- for rows made before this migration until the store backfills them at open; NULLs never clash.
ALTER TABLE users ADD COLUMN username_key TEXT;
-- (Not named users_username_key: PostgreSQL gives that name to the UNIQUE of users.username.)
CREATE UNIQUE INDEX users_skeleton ON users (username_key);
-- 1: the user has no global role (users.role is unused) and acts only through pool_roles.
ALTER TABLE users ADD COLUMN scoped BIGINT NOT NULL DEFAULT 0;
-- The confirmed TOTP secret (base32), and one being enrolled until its first code is confirmed.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
-- The last TOTP time step accepted, so a code is never accepted twice.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- 1: this user must use a second factor even when the server setting does not ask for it.
ALTER TABLE users ADD COLUMN mfa_required BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at BIGINT;

-- A session that may only enrol a second factor (its user must have one and has none yet).
ALTER TABLE sessions ADD COLUMN enrol_only BIGINT NOT NULL DEFAULT 0;

CREATE TABLE pool_roles (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pool_id BIGINT NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    PRIMARY KEY (user_id, pool_id)
);

-- One-time recovery codes, stored as SHA-256 (they are 80-bit random values).
CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- The first login step's answer when a second factor is due: a short-lived token (hashed).
CREATE TABLE mfa_challenges (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);

-- Failed logins per username skeleton and per source network (auth::throttle). Bounded: rows
-- whose window ended are pruned, and the table never holds more than a fixed number of keys.
CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);
CREATE INDEX login_throttle_last ON login_throttle (last_failure_at);

ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
-- The token's first characters, enough to recognise it in a list, never enough to use it.
ALTER TABLE api_tokens ADD COLUMN prefix TEXT NOT NULL DEFAULT '';

-- Server-wide settings by name (JSON values), e.g. `mfa_required_for_admins`.
CREATE TABLE server_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
