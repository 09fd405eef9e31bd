//! Fuzz target `parse`: see `portcullis_fuzz::parse` for the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::parse(data));
