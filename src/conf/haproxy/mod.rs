//! haproxy.cfg reader.
//!
//! Pipeline, as haproxy's own reader (reference/haproxy.md §1): files are
//! read line by line; `tokenize` splits a line into words (quotes, escapes,
//! `${VAR}`); `section` runs the line loop, `directive` handles
//! `.if`/`.elif`/`.else`/`.endif` (expressions in `cond`) and the message
//! directives, `headers` opens proxy sections; keyword lines go to
//! `global`, `userlist` or `proxy` (with `options`, `stats`, `check`,
//! `balance`, `server`, `bind`, `rules`, `acl`, `actions`, `legacy`);
//! `sample` holds 2.6's fetch/converter names; `finish` applies the
//! end-of-parse checks and builds health checks. The result is a
//! `model::haproxy::HaproxyConfig` and a list of diagnostics in haproxy
//! 2.6's wording. Nothing here prints.

mod acl;
mod actions;
mod balance;
mod bind;
mod check;
pub mod cond;
mod directive;
mod finish;
mod global;
mod headers;
mod legacy;
mod options;
mod proxy;
mod rules;
pub(crate) mod sample;
mod section;
mod server;
mod stats;
pub mod tokenize;
mod userlist;
pub mod values;

use super::{Diagnostic, SourceMap};
use crate::model::haproxy::HaproxyConfig;
use serde::Serialize;
use std::path::PathBuf;

/// haproxy's message levels.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Fatal: the configuration is refused.
    Alert,
    /// Counts for `-dW`/`zero-warning`.
    Warning,
    /// Informational (also "accepted but not active yet").
    Notice,
    /// Only shown with `-dD`.
    Diag,
}

impl Level {
    /// The bracketed tag padded as haproxy pads it (`[ALERT]    `).
    pub fn tag(self) -> &'static str {
        match self {
            Level::Alert => "[ALERT]    ",
            Level::Warning => "[WARNING]  ",
            Level::Notice => "[NOTICE]   ",
            Level::Diag => "[DIAG]     ",
        }
    }
}

/// A haproxy diagnostic. `message` is the text after `config : `, already
/// carrying haproxy's `parsing [FILE:LINE] : ` prefix where it has one.
pub type HaDiagnostic = Diagnostic<Level>;

/// Command-line settings that change how the configuration is read.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-dW`: warnings are fatal.
    pub zero_warning: bool,
    /// `-dD`: keep `.diag` messages.
    pub diagnostic: bool,
}

/// What reading a configuration produced.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub config: HaproxyConfig,
    pub diagnostics: Vec<HaDiagnostic>,
    #[serde(skip)]
    pub sources: SourceMap,
}

impl Outcome {
    /// True when haproxy would refuse the configuration (any ALERT).
    pub fn is_fatal(&self) -> bool {
        self.diagnostics.iter().any(|d| d.kind == Level::Alert)
    }

    /// True when at least one WARNING was emitted.
    pub fn has_warnings(&self) -> bool {
        self.diagnostics.iter().any(|d| d.kind == Level::Warning)
    }

    /// True when something would listen, as 2.6's `-c` decides between
    /// exit 0 and 2: an enabled proxy with a `bind` (even a backend, whose
    /// `bind` 2.6 only warns about), a stats socket, a `master-worker`
    /// (its master CLI listens), a `peers` section naming the local peer
    /// (`local_peer`: `-L`, `localpeer` or the host name), or a
    /// `log-forward` section with a `bind`/`dgram-bind`.
    pub fn has_listeners(&self, local_peer: &str) -> bool {
        let c = &self.config;
        let section_has = |kind: &str, pred: &dyn Fn(&[String]) -> bool| {
            c.other_sections.iter().any(|s| {
                s.kind == kind
                    && !s
                        .directives
                        .iter()
                        .any(|d| d.words.first().is_some_and(|w| w == "disabled"))
                    && s.directives.iter().any(|d| pred(&d.words))
            })
        };
        let local = c
            .global
            .other
            .iter()
            .find(|d| d.words.first().is_some_and(|w| w == "localpeer"))
            .and_then(|d| d.words.get(1).cloned())
            .unwrap_or_else(|| local_peer.to_string());
        !c.global.stats_sockets.is_empty()
            || c.global.master_worker
            || c.proxies.iter().any(|p| !p.disabled && !p.binds.is_empty())
            || section_has("peers", &|w| {
                w.first().is_some_and(|k| k == "peer" || k == "server")
                    && w.get(1).is_some_and(|n| *n == local)
            })
            || section_has("log-forward", &|w| {
                w.first().is_some_and(|k| k == "bind" || k == "dgram-bind")
            })
    }
}

/// Reads configuration files in order; a directory contributes its
/// non-hidden `*.cfg` files in byte order.
pub fn read_files(paths: &[PathBuf], opts: &Options) -> Outcome {
    let mut reader = section::Reader::new(opts);
    for path in paths {
        if reader.aborted() {
            break;
        }
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
                Ok(rd) => rd
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                        name.is_some_and(|n| !n.starts_with('.') && n.ends_with(".cfg"))
                            && !p.is_dir()
                    })
                    .collect(),
                Err(e) => {
                    reader.cannot_open(path, &e);
                    continue;
                }
            };
            entries.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            for file in entries {
                if reader.aborted() {
                    break;
                }
                reader.read_file(&file);
            }
        } else {
            reader.read_file(path);
        }
    }
    reader.finish()
}

/// Reads a configuration from memory (file name `<string>`). Never panics
/// and always terminates, whatever the input.
pub fn read_str(text: &str, opts: &Options) -> Outcome {
    let mut reader = section::Reader::new(opts);
    reader.read_text(PathBuf::from("<string>"), text);
    reader.finish()
}

/// Evaluates a `-cc` / `.if` condition against the process environment.
pub fn eval_condition(expr: &str) -> Result<bool, String> {
    let env = |name: &str| std::env::var(name).ok();
    cond::evaluate(expr, &env).map_err(|e| e.message)
}
