//! Fuzz target `roundtrip`: see `portcullis_fuzz::roundtrip` for the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::roundtrip(data));
