//! The haproxy part of the model: what a haproxy.cfg means once `defaults`
//! sections have been applied to every proxy. Plain typed data, no I/O.
//! Written by `conf::haproxy`, read by the proxy runtime; it never holds
//! configuration text except where haproxy itself keeps an expression
//! (sample fetches, log formats, regexes) for the runtime to compile.

mod proxy;
mod rules;

pub use proxy::*;
pub use rules::*;

use super::common::{Duration, Endpoint};
use serde::Serialize;
use std::path::PathBuf;

/// A whole haproxy configuration.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HaproxyConfig {
    /// Merged `global` sections.
    pub global: Global,
    /// Frontends, backends and listens in declaration order, defaults applied.
    pub proxies: Vec<Proxy>,
    /// `userlist` sections.
    pub userlists: Vec<Userlist>,
    /// Sections Pharos accepts but does not act on yet (`peers`, `resolvers`…).
    pub other_sections: Vec<OtherSection>,
}

impl HaproxyConfig {
    /// The proxy called `name` with the given capability, if any.
    pub fn proxy(&self, name: &str, kind: ProxyKind) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find(|p| p.name == name && p.kind == kind)
    }

    /// The backend-capable proxy (backend or listen) called `name`.
    pub fn backend(&self, name: &str) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find(|p| p.name == name && p.kind.has_backend())
    }
}

/// A directive recorded word for word: accepted, not acted on yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RawDirective {
    /// 1-based line in its file.
    pub line: u32,
    /// The words after tokenization (keyword first).
    pub words: Vec<String>,
}

/// A section kept as raw directives (`peers`, `resolvers`, `cache`…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OtherSection {
    /// Section keyword (`peers`, `resolvers`, `mailers`…).
    pub kind: String,
    /// Section name, when it has one.
    pub name: Option<String>,
    /// Body lines.
    pub directives: Vec<RawDirective>,
}

/// The `global` section.
#[derive(Clone, Debug, Serialize)]
pub struct Global {
    /// `log` lines.
    pub logs: Vec<LogTarget>,
    /// `log-tag`.
    pub log_tag: Option<String>,
    /// `log-send-hostname [name]`: `Some(None)` = the system host name.
    pub log_send_hostname: Option<Option<String>>,
    /// `maxconn` (`None` = derived from the file descriptor limit).
    pub maxconn: Option<u32>,
    /// `maxconnrate`, `maxsessrate`, `maxsslconn`.
    pub maxconnrate: Option<u32>,
    pub maxsessrate: Option<u32>,
    pub maxsslconn: Option<u32>,
    /// `ulimit-n`.
    pub ulimit_n: Option<u32>,
    /// `user`/`uid`, `group`/`gid`.
    pub user: Option<String>,
    pub uid: Option<u32>,
    pub group: Option<String>,
    pub gid: Option<u32>,
    /// `chroot`.
    pub chroot: Option<PathBuf>,
    /// `pidfile`.
    pub pidfile: Option<PathBuf>,
    /// `daemon`.
    pub daemon: bool,
    /// `master-worker` (optionally `no-exit-on-failure`).
    pub master_worker: bool,
    /// `nbthread`.
    pub nbthread: Option<u32>,
    /// `stats socket` lines.
    pub stats_sockets: Vec<StatsSocket>,
    /// `stats timeout` (default 10 s).
    pub stats_timeout: Duration,
    /// `stats maxconn` (default 10).
    pub stats_maxconn: u32,
    /// `spread-checks` percentage.
    pub spread_checks: u32,
    /// `hard-stop-after`.
    pub hard_stop_after: Option<Duration>,
    /// `ca-base`, `crt-base`.
    pub ca_base: Option<PathBuf>,
    pub crt_base: Option<PathBuf>,
    /// `node`, `description`.
    pub node: Option<String>,
    pub description: Option<String>,
    /// `quiet`.
    pub quiet: bool,
    /// `zero-warning`.
    pub zero_warning: bool,
    /// `tune.*` settings.
    pub tune: Tune,
    /// `ssl-default-*` and `ssl-server-verify`.
    pub ssl: SslDefaults,
    /// `setenv`/`presetenv`/`unsetenv`/`resetenv`, in order.
    pub environment: Vec<EnvChange>,
    /// Accepted global keywords that are not active yet.
    pub other: Vec<RawDirective>,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            logs: Vec::new(),
            log_tag: None,
            log_send_hostname: None,
            maxconn: None,
            maxconnrate: None,
            maxsessrate: None,
            maxsslconn: None,
            ulimit_n: None,
            user: None,
            uid: None,
            group: None,
            gid: None,
            chroot: None,
            pidfile: None,
            daemon: false,
            master_worker: false,
            nbthread: None,
            stats_sockets: Vec::new(),
            stats_timeout: Duration::from_secs(10),
            stats_maxconn: 10,
            spread_checks: 0,
            hard_stop_after: None,
            ca_base: None,
            crt_base: None,
            node: None,
            description: None,
            quiet: false,
            zero_warning: false,
            tune: Tune::default(),
            ssl: SslDefaults::default(),
            environment: Vec::new(),
            other: Vec::new(),
        }
    }
}

/// An environment change made while parsing `global`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum EnvChange {
    Set { name: String, value: String },
    Preset { name: String, value: String },
    Unset { names: Vec<String> },
    Reset { keep: Vec<String> },
}

/// `tune.*`: the typed ones and the rest as text.
#[derive(Clone, Debug, Serialize)]
pub struct Tune {
    /// `tune.bufsize` (16384).
    pub bufsize: u32,
    /// `tune.maxrewrite` (1024).
    pub maxrewrite: u32,
    /// `tune.http.maxhdr` (101).
    pub http_maxhdr: u32,
    /// `tune.ssl.default-dh-param`.
    pub ssl_default_dh_param: Option<u32>,
    /// Every other `tune.X value`, by name.
    pub other: Vec<(String, String)>,
}

impl Default for Tune {
    fn default() -> Self {
        Tune {
            bufsize: 16384,
            maxrewrite: 1024,
            http_maxhdr: 101,
            ssl_default_dh_param: None,
            other: Vec::new(),
        }
    }
}

/// TLS defaults from `global`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SslDefaults {
    pub bind_ciphers: Option<String>,
    pub bind_ciphersuites: Option<String>,
    /// `ssl-default-bind-options` words (`no-sslv3`, `ssl-min-ver TLSv1.2`…).
    pub bind_options: Vec<String>,
    pub server_ciphers: Option<String>,
    pub server_ciphersuites: Option<String>,
    pub server_options: Vec<String>,
    /// `ssl-server-verify none|required` (`None` = required).
    pub server_verify: Option<String>,
    /// `ssl-dh-param-file`.
    pub dh_param_file: Option<PathBuf>,
}

/// A `stats socket` line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatsSocket {
    pub address: Endpoint,
    /// Bind options on the socket (`mode`, `level`, `expose-fd`…).
    pub options: BindOptions,
}

/// A syslog target (`log` in global or in a proxy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogTarget {
    pub address: LogAddress,
    /// `len N` (default 1024).
    pub max_len: Option<u32>,
    /// `format F` (`local` when not given… haproxy's rfc3164 without host).
    pub format: Option<String>,
    /// `sample <ranges>:<size>`.
    pub sample: Option<String>,
    /// Facility name (`local2`).
    pub facility: String,
    /// Highest level sent (`maxlevel`), lowest forced (`minlevel`).
    pub max_level: Option<String>,
    pub min_level: Option<String>,
}

/// Where a log target writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "at")]
pub enum LogAddress {
    /// UDP syslog (default port 514), or a UNIX datagram socket.
    Datagram(Endpoint),
    /// `tcp@addr`.
    Stream(Endpoint),
    Stdout,
    Stderr,
    /// `ring@name`.
    Ring(String),
}

/// A proxy's `log` setting entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "target")]
pub enum ProxyLog {
    /// `log global`: use the global targets.
    Global,
    Target(LogTarget),
}

/// A `userlist` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Userlist {
    pub name: String,
    pub groups: Vec<UserGroup>,
    pub users: Vec<User>,
}

/// `group <name> [users a,b]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserGroup {
    pub name: String,
    pub users: Vec<String>,
}

/// `user <name> [password <crypt>|insecure-password <pw>] [groups a,b]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub password: Option<Password>,
    pub groups: Vec<String>,
}

/// A user's password, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Password {
    /// crypt(3) hash.
    Crypt(String),
    /// Clear text.
    Insecure(String),
}
