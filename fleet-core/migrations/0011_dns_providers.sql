-- DNS providers (fleet-core `dns`): the zones ACME DNS-01 and DNS failover change.
--
-- settings: the kind's fields that are not secret, as JSON written from
-- `dns::DnsProviderSettings` (`{"kind":"rfc2136","server":...,"tsig_key_name":...}`), so a new
-- kind adds no column. The secret (a TSIG key) is not here: it lives in sealed_secrets under
-- secret_name (`dns-provider/<id>`), sealed with the master key, so `fleet secrets rotate`
-- reseals it with every other secret. Both rows are written and deleted in one transaction.

CREATE TABLE dns_providers (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    zone TEXT NOT NULL,
    settings TEXT NOT NULL,
    secret_name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
