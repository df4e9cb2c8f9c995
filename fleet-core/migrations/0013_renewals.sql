-- Renewal of ACME certificates (fleet-core certs::renewal, store/renewals.rs).
--
-- renewals: one row per certificate the scheduler keeps renewed. certificate_id is the
-- certificate store's id (no foreign key: the row is written by the ACME issue path, which
-- owns that link). names: JSON array of the DNS names (lowercase). renew_at is the picked
-- instant (RFC 9773 uniform pick in window_start..window_end, or a third of the lifetime left);
-- source: 'ari' | 'lifetime'. ari_next_check_at: when to ask the CA's renewalInfo again (NULL: the
-- certificate has no ARI CertID or no directory). failures/retry_at: backoff after failed
-- orders. Times are Unix ms.
CREATE TABLE renewals (
    certificate_id BIGINT PRIMARY KEY,
    names TEXT NOT NULL,
    account_id BIGINT,
    directory_url TEXT,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    cert_id TEXT,
    renew_at BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('ari', 'lifetime')),
    explanation_url TEXT,
    ari_next_check_at BIGINT,
    failures BIGINT NOT NULL DEFAULT 0,
    retry_at BIGINT,
    last_error TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX renewals_renew_at ON renewals (renew_at);

-- At most one order per name in flight across every server replica: a replica takes a name by
-- inserting its row, or by taking over a row whose lease expired, in one conditional statement
-- (INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at <= now); it extends expires_at while the
-- order runs and deletes the row at the end. A crashed holder's rows expire.
CREATE TABLE renewal_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Every renewal order started, one row per name: the runaway guard counts a name's rows of the
-- last 24 hours. order_id: the ACME order (acme_orders.id) placed for the attempt, once placed;
-- its `replaces` is this row's. outcome: NULL while in flight, then 'issued' or 'failed'.
CREATE TABLE renewal_orders (
    attempt_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    certificate_id BIGINT NOT NULL,
    holder TEXT NOT NULL,
    replaces TEXT,
    order_id BIGINT,
    started_at BIGINT NOT NULL,
    outcome TEXT CHECK (outcome IN ('issued', 'failed')),
    error TEXT,
    finished_at BIGINT,
    PRIMARY KEY (attempt_id, name)
);
CREATE INDEX renewal_orders_name_started ON renewal_orders (name, started_at);
CREATE INDEX renewal_orders_order ON renewal_orders (order_id);
