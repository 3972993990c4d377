//! Command lines. `dispatch` picks the personality from argv[0]
//! (`keepalived`, `haproxy`) or from `pharos <subcommand>`.

pub mod haproxy;
pub mod keepalived;

use std::ffi::OsString;
use std::path::Path;

/// Runs the program named by `args[0]` (or the `pharos` subcommand) and
/// returns the process exit status.
pub fn dispatch(args: Vec<OsString>) -> i32 {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.as_str() {
        "keepalived" => keepalived::main(args),
        "haproxy" => haproxy::main(args),
        _ => pharos_main(args),
    }
}

const PHAROS_USAGE: &str = "\
Usage: pharos keepalived [OPTION...]      behave as keepalived
       pharos haproxy [OPTION...]         behave as haproxy
       pharos dump keepalived [-i ID] -f FILE   print the model of a keepalived.conf as JSON
       pharos dump haproxy -f FILE [-f FILE...] print the model of a haproxy.cfg as JSON
       pharos --version
The binary also answers to the names `keepalived` and `haproxy` (argv[0]).
";

fn pharos_main(mut args: Vec<OsString>) -> i32 {
    if args.len() < 2 {
        eprint!("{PHAROS_USAGE}");
        return 1;
    }
    let sub = args[1].to_string_lossy().into_owned();
    match sub.as_str() {
        // Drop "pharos" so the personality sees argv[0] = its own name.
        "keepalived" => keepalived::main(args.split_off(1)),
        "haproxy" => haproxy::main(args.split_off(1)),
        "dump" => {
            let rest = args.split_off(2);
            match rest
                .first()
                .map(|s| s.to_string_lossy().into_owned())
                .as_deref()
            {
                Some("keepalived") => keepalived::dump(rest),
                Some("haproxy") => haproxy::dump(rest),
                _ => {
                    eprint!("{PHAROS_USAGE}");
                    1
                }
            }
        }
        "-v" | "--version" | "version" => {
            println!("pharos {}", env!("CARGO_PKG_VERSION"));
            0
        }
        "-h" | "--help" | "help" => {
            print!("{PHAROS_USAGE}");
            0
        }
        _ => {
            eprint!("{PHAROS_USAGE}");
            1
        }
    }
}
