//! Any bytes as haproxy.cfg: the reader must neither panic nor hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts = pharos::conf::haproxy::Options::default();
    let _ = pharos::conf::haproxy::read_str(&text, &opts);
});
