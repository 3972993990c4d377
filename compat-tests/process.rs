//! Running one child with a deadline: its exit status and its combined output.
//! The test stays the parent of every child, kills it by pid on timeout and waits for it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one `-t` / `-c` run may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exited with this status.
    Exit(i32),
    /// Killed by this signal (a crash, e.g. 11 = SIGSEGV).
    Signal(i32),
    /// Still running at the deadline; killed.
    Timeout,
    /// Could not be started.
    SpawnFailed(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exit(c) => write!(f, "exit {c}"),
            Outcome::Signal(s) => write!(f, "signal {s}"),
            Outcome::Timeout => write!(f, "timeout"),
            Outcome::SpawnFailed(e) => write!(f, "spawn failed: {e}"),
        }
    }
}

/// One finished run.
#[derive(Clone, Debug)]
pub struct Run {
    pub outcome: Outcome,
    /// stdout followed by stderr.
    pub output: String,
    pub elapsed: Duration,
}

/// A command line to run: program, arguments, working directory, environment.
pub struct Job<'a> {
    pub program: &'a Path,
    pub args: Vec<String>,
    pub cwd: &'a Path,
    pub env: &'a [(String, String)],
    pub timeout: Duration,
}

/// Runs `job` with a clean environment (PATH plus `job.env`) and returns how it ended.
pub fn run(job: Job<'_>) -> Run {
    use std::os::unix::process::ExitStatusExt;

    let start = Instant::now();
    let mut cmd = Command::new(job.program);
    cmd.args(&job.args)
        .current_dir(job.cwd)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Own process group: on timeout the whole group (the child and anything it
        // started, e.g. the program behind `ip netns exec`) is killed by its id.
        .process_group(0);
    for (k, v) in job.env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Run {
                outcome: Outcome::SpawnFailed(format!("{}: {e}", job.program.display())),
                output: String::new(),
                elapsed: start.elapsed(),
            };
        }
    };
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err_t = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );

    let deadline = start + job.timeout;
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                break match (status.code(), status.signal()) {
                    (Some(c), _) => Outcome::Exit(c),
                    (None, Some(s)) => Outcome::Signal(s),
                    (None, None) => Outcome::SpawnFailed("no status".into()),
                };
            }
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&mut child);
                break Outcome::Timeout;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                kill_group(&mut child);
                break Outcome::SpawnFailed(format!("wait: {e}"));
            }
        }
    };
    // A killed `ip netns exec` may leave a grandchild holding the pipes; do not wait forever.
    let join = |t: std::thread::JoinHandle<Vec<u8>>| {
        let until = Instant::now() + Duration::from_secs(2);
        while !t.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        if t.is_finished() {
            t.join().unwrap_or_default()
        } else {
            b"<output not collected>".to_vec()
        }
    };
    let mut output = String::from_utf8_lossy(&join(out_t)).into_owned();
    output.push_str(&String::from_utf8_lossy(&join(err_t)));
    Run {
        outcome,
        output,
        elapsed: start.elapsed(),
    }
}

/// SIGKILLs the process group led by `child` (created with `process_group(0)`), then reaps it.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Finds an installed program: `/usr/sbin/NAME`, `/usr/local/sbin/NAME`, or on PATH.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = vec!["/usr/sbin".into(), "/usr/local/sbin".into(), "/sbin".into()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The Pharos binary built for this test run.
pub fn pharos() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pharos"))
}

/// True when the test runs as root (namespaces need it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
