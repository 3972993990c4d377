//! The `stats socket` listeners: UNIX (`mode`, replacing a stale socket
//! file) and TCP (`ipv4@`/`ipv6@`/bare addresses). Each connection is a
//! [`Session`]: lines are answered in order; without `prompt` the
//! connection closes once the lines already received are answered, as
//! haproxy does. `timeout` is haproxy's default CLI client timeout (10 s).

use super::{Level, Session};
use crate::model::Endpoint;
use crate::model::haproxy::StatsSocket;
use crate::proxy::statspage::Registry;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// haproxy's `stats timeout` default.
const IDLE: Duration = Duration::from_secs(10);
/// A command line longer than this is cut (haproxy's buffer is 16 kB).
const MAX_LINE: usize = 16 * 1024;

/// Binds every `stats socket` and serves it on the current tokio runtime.
pub(crate) fn listen(
    sockets: &[StatsSocket],
    registry: &Arc<OnceLock<Registry>>,
) -> std::io::Result<()> {
    for s in sockets {
        let level = Level::parse(s.options.level.as_deref());
        let registry = Arc::clone(registry);
        match &s.address {
            Endpoint::Unix { path } => {
                let make = move || Stats {
                    session: Session::new(level),
                    registry: Arc::clone(&registry),
                };
                let l = bind_unix(path, s.options.unix_mode)?;
                let expose = s.options.expose_fd_listeners;
                tokio::spawn(async move {
                    while let Ok((c, _)) = l.accept().await {
                        tokio::spawn(serve_stats_unix(c, make(), expose));
                    }
                });
            }
            Endpoint::Inet {
                host: crate::model::Host::Ip(ip),
                ports: Some((port, _)),
                ..
            } => {
                let std = std::net::TcpListener::bind(SocketAddr::new(*ip, *port))?;
                std.set_nonblocking(true)?;
                let l = tokio::net::TcpListener::from_std(std)?;
                tokio::spawn(async move {
                    while let Ok((c, _)) = l.accept().await {
                        let lines = Stats {
                            session: Session::new(level),
                            registry: Arc::clone(&registry),
                        };
                        tokio::spawn(serve(c, lines, Vec::new()));
                    }
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// What answers the lines of one CLI connection.
pub(crate) trait Lines: Send + 'static {
    /// Runs one input line (without its newline): the answer.
    fn line(&mut self, line: &str) -> String;
    /// `quit` (or a command that ends the connection) was read.
    fn closed(&self) -> bool;
    /// `prompt` mode: the connection stays open between lines.
    fn interactive(&self) -> bool;
}

/// A stats socket connection.
struct Stats {
    session: Session,
    registry: Arc<OnceLock<Registry>>,
}

impl Lines for Stats {
    fn line(&mut self, line: &str) -> String {
        match self.registry.get() {
            Some(reg) => self.session.line(reg, line),
            None => String::new(),
        }
    }
    fn closed(&self) -> bool {
        self.session.closed
    }
    fn interactive(&self) -> bool {
        self.session.interactive
    }
}

/// Binds a UNIX CLI socket (`mode` applied, a stale socket file replaced)
/// and serves each connection with a fresh `make()` on the current runtime.
pub(crate) fn listen_unix<L: Lines>(
    path: &std::path::Path,
    mode: Option<u32>,
    make: impl Fn() -> L + Send + 'static,
) -> std::io::Result<()> {
    let l = bind_unix(path, mode)?;
    tokio::spawn(async move {
        while let Ok((c, _)) = l.accept().await {
            tokio::spawn(serve(c, make(), Vec::new()));
        }
    });
    Ok(())
}

/// A stats socket connection on a unix socket: `_getsocks` first (a new
/// process started with `-x`) gets the listening sockets when the socket
/// has `expose-fd listeners`, and the connection closes; anything else is
/// a CLI session.
async fn serve_stats_unix(mut c: tokio::net::UnixStream, lines: impl Lines, expose: bool) {
    const ASK: &[u8] = b"_getsocks\n";
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while buf.len() < ASK.len() && ASK.starts_with(&buf) {
        match tokio::time::timeout(IDLE, c.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    if !buf.starts_with(ASK) {
        return serve(c, lines, buf).await;
    }
    if !expose {
        return;
    }
    // The descriptors go with sendmsg(2) on the socket itself, blocking
    // with a one-second timeout as haproxy does: off the runtime's thread.
    if let Ok(mut std) = c.into_std() {
        let _ = tokio::task::spawn_blocking(move || {
            crate::proxy::listener::transfer::send_sockets(&mut std)
        })
        .await;
    }
}

/// Binds a UNIX CLI socket: `mode` applied, a stale socket file replaced.
fn bind_unix(
    path: &std::path::Path,
    mode: Option<u32>,
) -> std::io::Result<tokio::net::UnixListener> {
    // A socket file left by an earlier run would fail the bind.
    if std::fs::symlink_metadata(path)
        .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
    {
        let _ = std::fs::remove_file(path);
    }
    let l = tokio::net::UnixListener::bind(path)?;
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(l)
}

/// One connection (`buf`: what was read of it already): read lines,
/// answer them, close as haproxy does.
async fn serve(
    mut c: impl AsyncRead + AsyncWrite + Unpin,
    mut lines: impl Lines,
    mut buf: Vec<u8>,
) {
    let mut chunk = [0u8; 4096];
    loop {
        // Answer every complete line already received.
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line[..nl]);
            let text = text.strip_suffix('\r').unwrap_or(&text);
            let out = lines.line(text);
            if c.write_all(out.as_bytes()).await.is_err() || lines.closed() {
                return;
            }
            if !lines.interactive() && !buf.contains(&b'\n') {
                let _ = c.shutdown().await;
                return;
            }
        }
        if buf.len() > MAX_LINE {
            return;
        }
        match tokio::time::timeout(IDLE, c.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => {
                // EOF on a last line without its newline: haproxy runs it.
                if !buf.is_empty() && !lines.interactive() {
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let out = lines.line(text.trim_end_matches('\r'));
                    let _ = c.write_all(out.as_bytes()).await;
                }
                let _ = c.shutdown().await;
                return;
            }
        }
    }
}
