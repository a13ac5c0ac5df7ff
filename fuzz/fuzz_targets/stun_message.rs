#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cinemesh_fuzzing::stun_message(data));
