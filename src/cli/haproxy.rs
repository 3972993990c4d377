//! `haproxy` command line (placeholder until the haproxy side lands).

use std::ffi::OsString;

/// Runs the haproxy personality; `args[0]` is the program name.
pub fn main(_args: Vec<OsString>) -> i32 {
    eprintln!("haproxy: not available yet");
    1
}

/// `pharos dump haproxy -f FILE…`; `args[0]` is "haproxy".
pub fn dump(_args: Vec<OsString>) -> i32 {
    eprintln!("pharos dump haproxy: not available yet");
    1
}
