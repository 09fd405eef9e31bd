//! Fuzz target `compile_eval`: see `portcullis_fuzz::compile_eval` for the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::compile_eval(data));
