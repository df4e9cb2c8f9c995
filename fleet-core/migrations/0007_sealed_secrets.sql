-- Secrets the server reads back, sealed with its master key (fleet-core `secrets`): the
-- self-signed CA's private key today; certificate keys and credentials later.
--
-- In the database rather than in files beside it: server replicas sharing PostgreSQL share the
-- CA, and `fleet secrets rotate` reseals every row in one transaction.
--
-- name: what the secret is (`tls/ca`); purpose: the associated data it was sealed with;
-- public: its public half when it has one (the CA certificate, PEM); sealed: the
-- `fleet-sealed:v1:<key id>:...` text.

CREATE TABLE sealed_secrets (
    name TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    public TEXT,
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
