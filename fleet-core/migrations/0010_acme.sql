-- ACME (RFC 8555) accounts and orders (fleet-core `certs::acme`, issue 13).
--
-- An account's credentials (its private key, as instant-acme serialises them) are a sealed
-- secret (`sealed_secrets`, name `acme/account/<id>`), so `fleet secrets rotate` reseals them
-- with the rest; so is an order's certificate key (`acme/order/<id>/key`) from the moment it is
-- made, so a server that stops between finalisation and storage can finish the order later.

CREATE TABLE acme_accounts (
    id BIGINT PRIMARY KEY,
    directory_url TEXT NOT NULL,
    -- JSON array of `mailto:` URLs.
    contact TEXT NOT NULL,
    -- PEM of the root that signs the directory's TLS certificate (a private CA), or NULL.
    ca_pem TEXT,
    -- The external account binding's key id, when the CA asked for one (the HMAC is used once
    -- at registration and not kept).
    eab_kid TEXT,
    -- The account URL the CA assigned (its `kid`).
    account_url TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE acme_orders (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES acme_accounts (id),
    -- JSON array of DNS names; the first names the default path.
    names TEXT NOT NULL,
    challenge TEXT NOT NULL CHECK (challenge IN ('http-01', 'dns-01')),
    -- JSON arrays: cluster ids, and the frontends that answer HTTP-01.
    clusters TEXT NOT NULL,
    frontends TEXT NOT NULL,
    -- The certificate store's entry this order fills, when there is one.
    certificate_id BIGINT,
    -- Where the combined PEM goes in each cluster's bundle.
    path TEXT NOT NULL,
    key_type TEXT NOT NULL,
    auto_apply BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
    -- The order's URL at the CA, once created there.
    order_url TEXT,
    -- The CA's problem detail or our reason, for an invalid order.
    error TEXT,
    -- The issued chain (public), once valid.
    certificate_pem TEXT,
    -- A server task holds the order until then (Unix ms); another replica takes it over after.
    lease_until BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX acme_orders_status ON acme_orders (status, lease_until);

-- What happened to an order, in order.
CREATE TABLE acme_order_events (
    order_id BIGINT NOT NULL REFERENCES acme_orders (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);
