//! Fuzz target `request`: see `portcullis_fuzz::request` for the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::request(data));
