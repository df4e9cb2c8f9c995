-- Bundle files that hold a private key are sealed at rest (fleet-core store/bundles.rs).
--
-- A blob whose content holds a PEM private key keeps its `blobs` row (sha256, size) with an
-- empty chunk list and `sealed = 1`; its bytes are the `sealed_secrets` row `blob/<sha256>`,
-- sealed with the master key for the purpose `blob:<sha256>` (so a sealed value cannot stand in
-- for another blob's), which `fleet secrets rotate` reseals with every other secret. The chunks
-- table never holds such bytes.
--
-- sealed: 1 sealed, 0 plain (chunks); NULL for blobs written before this column, which the
-- server checks once when it loads its key ring: those holding a private key are sealed then,
-- the chunks only they used deleted, the others marked 0.

ALTER TABLE blobs ADD COLUMN sealed BIGINT;
