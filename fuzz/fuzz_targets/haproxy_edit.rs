//! Parse, apply random typed edits, and check render -> parse -> render is stable
//! (see `src/edit.rs` for the input layout and the edits).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    haproxy_fleet_fuzz::edit::check_edit(data);
});
