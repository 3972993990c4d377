//! Entry point: dispatch on argv[0] (`keepalived`, `haproxy`) or on the first
//! argument of `pharos`.

// Config reading builds many small strings; mimalloc makes that markedly
// cheaper than glibc's allocator (benches/config-parse.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::exit(pharos::cli::dispatch(args));
}
