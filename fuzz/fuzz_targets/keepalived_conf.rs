//! Any bytes as keepalived.conf: the reader must neither panic nor hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts = pharos::conf::keepalived::Options { config_id: Some("main".into()), ..Default::default() };
    let outcome = pharos::conf::keepalived::read_str(&text, &opts);
    let _ = outcome.status();
});
