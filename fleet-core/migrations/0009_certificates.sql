-- The certificate store (fleet-core `certs`): uploaded or issued certificates, where each is
-- deployed, and what each node serves.
--
-- A certificate's private key is not here: it is the `sealed_secrets` row `certificate/<id>`
-- (migration 0007), sealed with the master key, so `fleet secrets rotate` reseals it with the
-- others and a wrong key file is found at start.
--
-- cluster_id: NULL for a global certificate (any cluster may use it), else the one cluster that
-- may. facts: JSON of the leaf's subject, SANs, issuer, serial, validity, key and chain
-- (`CertificateFacts`); not_after and fingerprint_sha256 are copied out for lists and metrics.
-- revision: 1 at upload, +1 at each replacement. warned_days: the lowest expiry threshold
-- (30, 14, 7, 0 days) already written to the audit log for this revision.

CREATE TABLE certificates (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    cluster_id BIGINT REFERENCES clusters (id) ON DELETE CASCADE,
    chain_pem TEXT NOT NULL,
    facts TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    fingerprint_sha256 TEXT NOT NULL,
    revision BIGINT NOT NULL,
    warned_days BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Where a certificate is placed: the bundle path of its combined PEM in a cluster, optionally a
-- line in a crt-list file, and the version that last wrote it (revision says which revision).
CREATE TABLE certificate_deployments (
    cluster_id BIGINT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    certificate_id BIGINT NOT NULL REFERENCES certificates (id),
    crt_list TEXT,
    version BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (cluster_id, path)
);

CREATE INDEX certificate_deployments_by_certificate ON certificate_deployments (certificate_id);

-- What each node's HAProxy serves (`show ssl cert`), from its heartbeats: the file name HAProxy
-- knows the certificate by, its SHA-1 (all HAProxy 2.6 prints) and serial.
CREATE TABLE served_certificates (
    agent_id BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    serial TEXT NOT NULL,
    reported_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, filename)
);
