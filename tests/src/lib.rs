//! Workspace-level integration tests live in `tests/it/` (one binary, one module per concern);
//! they run the real `haproxy` and `keepalived` binaries, inside network namespaces when they
//! need interfaces or addresses. This library is empty: the package exists for its tests.
