//! The line loop: physical lines → words, then conditional blocks and
//! message directives (`directive`), section headers (`headers` for
//! proxies) and dispatch of keyword lines to the section parsers. Owns the
//! reader state shared by every parser (`Reader`): the model being built,
//! diagnostics, defaults sections.

use super::directive::CondFrame;
use super::tokenize::{self, Words};
use super::{HaDiagnostic, Level, Options, Outcome};
use crate::conf::{FileId, SourceMap, Span};
use crate::model::haproxy::{HaproxyConfig, OtherSection, Proxy, ProxyKind, Userlist};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// haproxy stops reading after this many fatal errors.
const MAX_FATAL: usize = 50;

/// One tokenized configuration line.
pub(super) struct Line {
    pub words: Vec<String>,
    pub span: Span,
    /// `FILE:LINE` as haproxy prints it.
    pub loc: String,
}

impl Line {
    /// The word at `i`, or "" past the end.
    pub fn arg(&self, i: usize) -> &str {
        self.words.get(i).map(String::as_str).unwrap_or("")
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }
}

/// A `defaults` section kept for later proxies.
pub(super) struct DefaultsEntry {
    pub name: Option<String>,
    pub proxy: Proxy,
    /// It holds `tcp-request session` rules (kept with content rules in the model).
    pub session_rules: bool,
    /// Which side (frontend or backend) already inherited its rules.
    pub rules_used_by: Option<ProxyKind>,
}

/// Which section the following lines belong to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Current {
    None,
    Global,
    Defaults(usize),
    Proxy(usize),
    Userlist(usize),
    Other(usize),
}

/// Reader state shared by all section parsers.
pub(super) struct Reader<'o> {
    pub opts: &'o Options,
    pub cfg: HaproxyConfig,
    pub diags: Vec<HaDiagnostic>,
    pub sources: SourceMap,
    /// `setenv`/`unsetenv` made while parsing (None = unset).
    pub env_overlay: BTreeMap<String, Option<String>>,
    pub defaults: Vec<DefaultsEntry>,
    /// Index in `defaults` of the last `defaults` section.
    pub last_defaults: Option<usize>,
    /// For each proxy, the defaults it was built from (`default option`).
    pub bases: Vec<Proxy>,
    pub current: Current,
    /// Proxy name → indexes in `cfg.proxies` (duplicate checks without a
    /// scan of every proxy: configs with thousands of backends exist).
    pub proxy_names: HashMap<String, Vec<usize>>,
    section_name: String,
    file_fatal: bool,
    any_fatal: bool,
    aborted: bool,
    fatal_count: usize,
}

impl<'o> Reader<'o> {
    /// A fresh reader.
    pub fn new(opts: &'o Options) -> Self {
        Reader {
            opts,
            cfg: HaproxyConfig::default(),
            diags: Vec::new(),
            sources: SourceMap::default(),
            env_overlay: BTreeMap::new(),
            defaults: Vec::new(),
            last_defaults: None,
            proxy_names: HashMap::new(),
            bases: Vec::new(),
            current: Current::None,
            section_name: String::new(),
            file_fatal: false,
            any_fatal: false,
            aborted: false,
            fatal_count: 0,
        }
    }

    /// Reading stopped (ERR_ABORT in haproxy).
    pub fn aborted(&self) -> bool {
        self.aborted
    }

    /// Looks a variable up in the parse-time environment.
    pub fn env_var(&self, name: &str) -> Option<String> {
        match self.env_overlay.get(name) {
            Some(v) => v.clone(),
            None => std::env::var(name).ok(),
        }
    }

    /// Records an unreadable file or directory.
    pub fn cannot_open(&mut self, path: &Path, err: &std::io::Error) {
        let reason = io_reason(err);
        self.push(
            Level::Alert,
            None,
            format!(
                "Cannot open configuration file/directory {} : {}",
                path.display(),
                reason
            ),
        );
        self.any_fatal = true;
        self.aborted = true;
    }

    /// Reads one file from disk.
    pub fn read_file(&mut self, path: &Path) {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                self.read_text(path.to_path_buf(), &text);
            }
            Err(e) => self.cannot_open(path, &e),
        }
    }

    /// Parses the text of one file.
    pub fn read_text(&mut self, path: PathBuf, text: &str) {
        let name = path.display().to_string();
        let file = self.sources.add(path);
        self.file_fatal = false;
        // Each file starts on a section boundary.
        self.current = Current::None;
        let mut conds: Vec<CondFrame> = Vec::new();
        let mut last_line = 0u32;
        let mut pieces = text.split('\n').peekable();
        let mut number = 0u32;
        while let Some(raw) = pieces.next() {
            let is_last = pieces.peek().is_none();
            if is_last && raw.is_empty() {
                break;
            }
            number = number.saturating_add(1);
            last_line = number;
            let span = Span { file, line: number };
            let loc = format!("{name}:{number}");
            if let Some(nul) = raw.find('\0') {
                self.alert_tight(
                    &loc,
                    span,
                    format!(
                        "Missing LF on last line, file might have been truncated at position {}.",
                        nul + 1
                    ),
                );
                continue;
            }
            if is_last {
                self.alert_tight(
                    &loc,
                    span,
                    format!(
                        "Missing LF on last line, file might have been truncated at position {}.",
                        raw.trim_end_matches('\r').len() + 1
                    ),
                );
                break;
            }
            self.line(raw, &name, span, loc, &mut conds);
            if self.aborted {
                break;
            }
        }
        if !self.aborted && !conds.is_empty() {
            let span = Span {
                file,
                line: last_line,
            };
            self.alert_tight(
                &format!("{name}:{last_line}"),
                span,
                "non-terminated '.if' block.".into(),
            );
            self.aborted = true;
        }
        if self.file_fatal {
            self.push(
                Level::Alert,
                None,
                format!("Error(s) found in configuration file : {name}"),
            );
        }
    }

    fn line(
        &mut self,
        raw: &str,
        file_name: &str,
        span: Span,
        loc: String,
        conds: &mut Vec<CondFrame>,
    ) {
        let section = self.section_name.clone();
        let line_no = span.line.to_string();
        let lookup = |name: &str| -> Option<String> {
            match name {
                ".FILE" => Some(file_name.to_string()),
                ".LINE" => Some(line_no.clone()),
                ".SECTION" => Some(section.clone()),
                _ => self.env_var(name),
            }
        };
        let words = match tokenize::tokenize(raw, &lookup) {
            Ok(Words { words, truncated }) => {
                if truncated {
                    self.alert(
                        &loc,
                        span,
                        format!(
                            "too many words, truncating after word {}: <{}>.",
                            tokenize::MAX_WORDS,
                            raw.trim()
                        ),
                    );
                }
                words
            }
            Err(e) => {
                self.alert_tight(&loc, span, e.render(raw));
                return;
            }
        };
        if words.is_empty() {
            return;
        }
        let line = Line { words, span, loc };
        let active = conds.last().is_none_or(|f| f.active);
        let kw = line.arg(0).to_string();
        if kw.starts_with('.') {
            self.directive(&line, raw, conds, active);
            return;
        }
        if !active {
            return;
        }
        self.dispatch(&line);
    }

    /// Section headers, then the current section's keyword parser.
    fn dispatch(&mut self, line: &Line) {
        let kw = line.arg(0);
        match kw {
            "global" => {
                self.section_name = "global".into();
                if line.len() > 1 {
                    self.alert(
                        &line.loc,
                        line.span,
                        format!(
                            "'global' cannot handle unexpected argument '{}'.",
                            line.arg(1)
                        ),
                    );
                }
                self.current = Current::Global;
            }
            "defaults" | "frontend" | "backend" | "listen" => {
                self.section_name = kw.to_string();
                self.start_proxy(line);
            }
            "userlist" => {
                self.section_name = kw.to_string();
                if line.len() < 2 {
                    self.alert_tight(
                        &line.loc,
                        line.span,
                        "'userlist' expects <name> as arguments.".into(),
                    );
                    self.current = Current::None;
                    return;
                }
                self.cfg.userlists.push(Userlist {
                    name: line.arg(1).to_string(),
                    groups: Vec::new(),
                    users: Vec::new(),
                });
                self.current = Current::Userlist(self.cfg.userlists.len() - 1);
            }
            "peers" | "resolvers" | "mailers" | "program" | "cache" | "ring" | "http-errors"
            | "log-forward" | "fcgi-app" | "crt-store" | "traces" => {
                self.section_name = kw.to_string();
                self.cfg.other_sections.push(OtherSection {
                    kind: kw.to_string(),
                    name: line.words.get(1).cloned(),
                    directives: Vec::new(),
                });
                self.current = Current::Other(self.cfg.other_sections.len() - 1);
                self.not_active(line, &format!("section '{kw}'"));
            }
            _ => match self.current {
                Current::None => {
                    self.alert_tight(
                        &line.loc,
                        line.span,
                        format!("unknown keyword '{kw}' out of section."),
                    );
                }
                Current::Global => self.global_keyword(line),
                Current::Defaults(_) | Current::Proxy(_) => self.proxy_keyword(line),
                Current::Userlist(i) => self.userlist_keyword(i, line),
                Current::Other(i) => {
                    if let Some(s) = self.cfg.other_sections.get_mut(i) {
                        s.directives.push(crate::model::haproxy::RawDirective {
                            line: line.span.line,
                            words: line.words.clone(),
                        });
                    }
                }
            },
        }
    }

    /// Emits a NOTICE saying a directive is accepted but not active yet.
    pub fn not_active(&mut self, line: &Line, what: &str) {
        self.push(
            Level::Notice,
            Some(line.span),
            format!(
                "parsing [{}] : {} is accepted but not active in this Pharos build yet.",
                line.loc, what
            ),
        );
    }

    /// Adds a diagnostic.
    pub fn push(&mut self, kind: Level, at: Option<Span>, message: String) {
        self.diags.push(HaDiagnostic { kind, at, message });
    }

    /// Counts a fatal error (and stops reading after too many).
    pub(super) fn note_fatal(&mut self) {
        self.file_fatal = true;
        self.any_fatal = true;
        self.fatal_count += 1;
        if self.fatal_count >= MAX_FATAL && !self.aborted {
            self.push(
                Level::Alert,
                None,
                "Too many fatal errors, aborting.".into(),
            );
            self.aborted = true;
        }
    }

    /// `parsing [F:L] : msg` (fatal).
    pub fn alert(&mut self, loc: &str, span: Span, msg: String) {
        self.push(Level::Alert, Some(span), format!("parsing [{loc}] : {msg}"));
        self.note_fatal();
    }

    /// `parsing [F:L]: msg` (fatal; haproxy's other spacing).
    pub fn alert_tight(&mut self, loc: &str, span: Span, msg: String) {
        self.push(Level::Alert, Some(span), format!("parsing [{loc}]: {msg}"));
        self.note_fatal();
    }

    /// A fatal message that also stops reading.
    pub fn abort(&mut self, line: &Line, msg: String) {
        self.alert(&line.loc, line.span, msg);
        self.aborted = true;
    }

    /// A fatal message (`parsing [F:L]: `) that also stops reading.
    pub fn abort_tight(&mut self, line: &Line, msg: String) {
        self.alert_tight(&line.loc, line.span, msg);
        self.aborted = true;
    }

    /// `[F:L] : msg` (fatal; haproxy's server-line form).
    pub fn alert_bare(&mut self, loc: &str, span: Span, msg: String) {
        self.push(Level::Alert, Some(span), format!("[{loc}] : {msg}"));
        self.note_fatal();
    }

    /// `parsing [F:L] : msg` as a WARNING.
    pub fn warn(&mut self, loc: &str, span: Span, msg: String) {
        self.push(
            Level::Warning,
            Some(span),
            format!("parsing [{loc}] : {msg}"),
        );
    }

    /// A fatal message from the end-of-parse checks (no location).
    pub fn post_alert(&mut self, msg: String) {
        self.push(Level::Alert, None, msg);
        self.any_fatal = true;
    }

    /// The path of a file id, for messages.
    pub fn file_name(&self, id: u32) -> String {
        self.sources.path(FileId(id)).display().to_string()
    }

    /// Ends reading: end-of-parse checks, then the result.
    pub fn finish(mut self) -> Outcome {
        if self.any_fatal {
            if !self.aborted {
                self.push(
                    Level::Alert,
                    None,
                    "Fatal errors found in configuration.".into(),
                );
            }
        } else {
            self.check_and_finalize();
            if self.any_fatal {
                self.push(
                    Level::Alert,
                    None,
                    "Fatal errors found in configuration.".into(),
                );
            } else if (self.opts.zero_warning || self.cfg.global.zero_warning)
                && self.diags.iter().any(|d| d.kind == Level::Warning)
            {
                self.push(
                    Level::Alert,
                    None,
                    "Some warnings were found and 'zero-warning' is set. Aborting.".into(),
                );
            }
        }
        Outcome {
            config: self.cfg,
            diagnostics: self.diags,
            sources: self.sources,
        }
    }
}

/// strerror-like text for an I/O error.
fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => crate::daemon::strerror(err),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{Level, Options, read_str};

    fn msgs(text: &str) -> Vec<(Level, String)> {
        read_str(text, &Options::default())
            .diagnostics
            .into_iter()
            .map(|d| (d.kind, d.message))
            .collect()
    }

    #[test]
    fn conditional_blocks_select_lines() {
        let d = msgs(
            ".if 1\n.notice \"a\"\n.elif 1\n.notice \"b\"\n.else\n.notice \"c\"\n.endif\n.if 0\n.elif 1\n.notice \"d\"\n.endif\n",
        );
        let notices: Vec<_> = d
            .iter()
            .filter(|(l, _)| *l == Level::Notice)
            .map(|(_, m)| m.clone())
            .collect();
        assert_eq!(
            notices,
            ["parsing [<string>:2]: 'a'.", "parsing [<string>:10]: 'd'."]
        );
    }

    #[test]
    fn nested_blocks_in_false_branch_are_skipped() {
        let d = msgs(".if 0\n.if foo(\n.alert \"x\"\n.endif\n.endif\n");
        assert!(d.iter().all(|(l, _)| *l != Level::Alert), "{d:?}");
    }

    #[test]
    fn conditional_errors() {
        let d = msgs(".endif\n");
        assert_eq!(
            d[0].1,
            "parsing [<string>:1]: lone '.endif' with no matching '.if'."
        );
        let d = msgs(".if 1\n");
        assert_eq!(d[0].1, "parsing [<string>:1]: non-terminated '.if' block.");
        let d = msgs(".if 1 2\n.endif\n");
        assert_eq!(
            d[0].1,
            "parsing [<string>:1]: unexpected character '2' at the end of conditional expression '1 2' in '.if' at position 3:\n  .if 1 2\n        ^"
        );
        let d = msgs(".blah\n");
        assert_eq!(d[0].1, "parsing [<string>:1]: unknown directive '.blah'.");
    }

    #[test]
    fn missing_final_newline_is_fatal() {
        let d = msgs("global\n  daemon");
        assert_eq!(
            d[0].1,
            "parsing [<string>:2]: Missing LF on last line, file might have been truncated at position 9."
        );
    }

    #[test]
    fn keyword_out_of_section() {
        let d = msgs("bind :80\n");
        assert_eq!(
            d[0].1,
            "parsing [<string>:1]: unknown keyword 'bind' out of section."
        );
        assert_eq!(
            d.last().map(|x| x.1.as_str()),
            Some("Fatal errors found in configuration.")
        );
    }
}
