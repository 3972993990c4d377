//! Entry point: dispatch on argv[0] (`keepalived`, `haproxy`) or on the first
//! argument of `pharos`.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::exit(pharos::cli::dispatch(args));
}
