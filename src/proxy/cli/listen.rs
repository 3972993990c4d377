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
                // A socket file left by an earlier run would fail the bind.
                if std::fs::symlink_metadata(path)
                    .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
                {
                    let _ = std::fs::remove_file(path);
                }
                let l = tokio::net::UnixListener::bind(path)?;
                if let Some(mode) = s.options.unix_mode {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
                }
                tokio::spawn(async move {
                    while let Ok((c, _)) = l.accept().await {
                        tokio::spawn(serve(c, level, Arc::clone(&registry)));
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
                        tokio::spawn(serve(c, level, Arc::clone(&registry)));
                    }
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// One connection: read lines, answer them, close as haproxy does.
async fn serve(
    mut c: impl AsyncRead + AsyncWrite + Unpin,
    level: Level,
    registry: Arc<OnceLock<Registry>>,
) {
    let Some(reg) = registry.get() else { return };
    let mut session = Session::new(level);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // Answer every complete line already received.
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line[..nl]);
            let text = text.strip_suffix('\r').unwrap_or(&text);
            let out = session.line(reg, text);
            if c.write_all(out.as_bytes()).await.is_err() || session.closed {
                return;
            }
            if !session.interactive && !buf.contains(&b'\n') {
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
                if !buf.is_empty() && !session.interactive {
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let out = session.line(reg, text.trim_end_matches('\r'));
                    let _ = c.write_all(out.as_bytes()).await;
                }
                let _ = c.shutdown().await;
                return;
            }
        }
    }
}
