-- Open transactions per user are bounded (issue 12 §5, fleet-core/src/limits.rs): `begin`
-- counts the user's open transactions, which this index answers without a scan of every
-- transaction ever made.
CREATE INDEX transactions_author_open ON transactions (author, state);
