//! Fuzz target `differential`: see `portcullis_fuzz::differential` for the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::differential(data));
