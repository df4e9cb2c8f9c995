//! Any UTF-8 input: parsing never panics and `lossless(parse(s)) == s` (see `src/roundtrip.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    haproxy_fleet_fuzz::roundtrip::check_roundtrip(data);
});
