//! keepalived.conf reader.
//!
//! Pipeline, as keepalived's own reader (reference/keepalived.md §1):
//! `read` (files, includes, `@ID`, `$NAME`, `~SEQ`/`~LST`, comments, brace
//! splitting) → logical lines → `parse` (keyword tables of `keywords`, value
//! checks of `values`) → one validated node per root block, handed straight
//! to `lower` → `model::keepalived`.
//! Diagnostics carry keepalived's error classes; `exit_code` turns the worst
//! one into `keepalived -t`'s exit status.

pub mod keywords;
pub mod lower;
pub mod parse;
pub mod read;
pub mod table;
pub mod values;

use super::{Diagnostic, SourceMap, Span};
use crate::model::keepalived::KeepalivedConfig;
use serde::Serialize;
use std::path::PathBuf;

/// keepalived's `config_err_t`, in its own order (least to most "recent"):
/// the recorded status of a run is the numerically largest class reported.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ErrClass {
    Ok,
    FileNotFound,
    BadIf,
    Fatal,
    MultipleFiles,
    UnknownKeyword,
    UnexpectedBob,
    MissingBob,
    UnexpectedEob,
    MissingEob,
    UnmatchedQuote,
    MissingParameter,
    InvalidNumber,
    GeneralError,
    Warning,
    Deprecated,
    SecurityError,
    /// Informational log line: printed, never changes the status.
    Info,
}

impl ErrClass {
    /// `keepalived -t` exit status for a run whose recorded status is `self`.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrClass::Ok | ErrClass::Info => 0,
            ErrClass::FileNotFound | ErrClass::BadIf | ErrClass::Fatal => 4,
            ErrClass::SecurityError => 6,
            _ => 5,
        }
    }
}

/// A keepalived diagnostic.
pub type KaDiagnostic = Diagnostic<ErrClass>;

/// How to read: the command-line settings that change parsing.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-i ID`; `None` = the host name up to the first dot.
    pub config_id: Option<String>,
    /// `-e`: every include must match, every file must exist.
    pub all_config: bool,
    /// Check that interfaces named by the config exist (as `-t` does).
    pub check_interfaces: bool,
}

/// What reading a configuration produced.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub config: KeepalivedConfig,
    pub diagnostics: Vec<KaDiagnostic>,
    /// keepalived gave up reading (a missing parameter): it exits 2 then.
    pub aborted: bool,
    #[serde(skip)]
    pub sources: SourceMap,
}

impl Outcome {
    /// The recorded status: the largest class reported (keepalived's rule).
    pub fn status(&self) -> ErrClass {
        self.diagnostics
            .iter()
            .map(|d| d.kind)
            .filter(|k| *k != ErrClass::Info)
            .max()
            .unwrap_or(ErrClass::Ok)
    }

    /// Renders one diagnostic the way keepalived logs it.
    pub fn render(&self, d: &KaDiagnostic) -> String {
        render(&self.sources, d)
    }
}

/// `(FILE: Line N) message`, or the bare message when it has no position.
pub fn render(sources: &SourceMap, d: &KaDiagnostic) -> String {
    match d.at {
        Some(Span { file, line }) => {
            format!(
                "({}: Line {}) {}",
                sources.path(file).display(),
                line,
                d.message
            )
        }
        None => d.message.clone(),
    }
}

/// Walks the lines and lowers each root block as soon as it is parsed.
fn build(
    lines: &[read::Line],
    opts: &Options,
    diags: &mut Vec<KaDiagnostic>,
) -> (KeepalivedConfig, bool) {
    let mut lowering = lower::Lowering::new(opts);
    let aborted = parse::parse_each(lines, diags, &mut |node, diags| lowering.root(&node, diags));
    if aborted {
        return (KeepalivedConfig::default(), true);
    }
    (lowering.finish(diags), false)
}

/// Reads `path` (a file or a glob) and everything it includes.
pub fn read_file(path: &str, opts: &Options) -> Outcome {
    let mut diags = Vec::new();
    let mut sources = SourceMap::default();
    let config_id = opts
        .config_id
        .clone()
        .unwrap_or_else(read::default_config_id);
    let lines =
        read::Reader::new(&mut sources, &mut diags, config_id, opts.all_config).read_top(path);
    let (config, aborted) = build(&lines, opts, &mut diags);
    Outcome {
        config,
        diagnostics: diags,
        aborted,
        sources,
    }
}

/// Reads configuration text held in memory (fuzzing, tests). Includes are
/// resolved relative to the current directory.
pub fn read_str(text: &str, opts: &Options) -> Outcome {
    let mut diags = Vec::new();
    let mut sources = SourceMap::default();
    let config_id = opts
        .config_id
        .clone()
        .unwrap_or_else(|| "pharos".to_string());
    let lines = read::Reader::new(&mut sources, &mut diags, config_id, opts.all_config)
        .read_text(PathBuf::from("<memory>"), text);
    let (config, aborted) = build(&lines, opts, &mut diags);
    Outcome {
        config,
        diagnostics: diags,
        aborted,
        sources,
    }
}
