-- ACME DNS-01 (issue 13): the DNS provider an order was told to use. NULL: each name's
-- `_acme-challenge` record goes to the provider whose zone holds it (the longest match).
ALTER TABLE acme_orders ADD COLUMN dns_provider_id BIGINT;
