//! Fuzz target `ruleset`: see `portcullis_fuzz::ruleset` for the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::ruleset(data));
