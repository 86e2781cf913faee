#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| netdx::fuzzing::ssdp(data));
