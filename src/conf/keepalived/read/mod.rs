//! The keepalived preprocessor: turns files into logical lines the way
//! keepalived's `read_line()` does (reference/keepalived.md §1.1–1.7):
//! comments, `@ID`/`@^ID`, `$NAME=` definitions (multi-line, recursive,
//! built-ins), `~SEQ`/`~SEQx`/`~LST` loops, the `include*` family with globs
//! relative to the including file, and brace splitting so that `{` and `}`
//! are always lines of their own. Self-referencing definitions, which hang
//! keepalived, are reported and cut off.

use super::{ErrClass, KaDiagnostic};
use crate::conf::{Diagnostic, FileId, SourceMap, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// keepalived reads lines into a 1024-byte buffer.
const MAX_LINE: usize = 1024;
/// Substitutions allowed while expanding one line before we call it a loop.
const MAX_SUBSTITUTIONS: usize = 10_000;
/// Longest line a substitution may produce.
const MAX_EXPANDED: usize = 1 << 16;
/// Logical lines a whole configuration may expand to (loops included).
const MAX_LINES: usize = 5_000_000;
/// Nesting of expansions within expansions (definitions, loops).
const MAX_DEPTH: usize = 32;
/// Expansion steps one physical line may cause (a `~SEQ` of 10,000
/// instances of a 12-line definition needs about 130,000).
const LINE_BUDGET: usize = 2_000_000;
/// Include nesting depth (an include cycle otherwise never ends).
const MAX_INCLUDE_DEPTH: usize = 32;

/// One logical line: a `{`, a `}`, or a keyword with its words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub at: Span,
}

impl Line {
    /// The words of the line, split as keepalived's `alloc_strvec` does.
    pub fn words(&self) -> Vec<String> {
        split_words(&self.text)
    }
}

/// How strictly `include` checks what it finds (`include_check`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct IncludeCheck {
    /// A failed check stops the read with "no config" (exit 6); checks set
    /// by `include_check OPTIONS` only report an error.
    fatal: bool,
    readable: bool,
    matched: bool,
    wildcard_match: bool,
    brace_match: bool,
}

impl IncludeCheck {
    const ALL: IncludeCheck = IncludeCheck {
        fatal: true,
        readable: true,
        matched: true,
        wildcard_match: true,
        brace_match: true,
    };
}

/// A definition: one line, or several for `$NAME= \` bodies.
#[derive(Clone, Debug)]
struct Definition {
    lines: Vec<String>,
}

/// A `~SEQ`/`~LST` loop being expanded: what the variables take in turn.
struct Loop {
    vars: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// The preprocessor. Create with [`Reader::new`], then `read_top`.
pub struct Reader<'a> {
    sources: &'a mut SourceMap,
    diags: &'a mut Vec<KaDiagnostic>,
    config_id: String,
    strict: bool,
    check: IncludeCheck,
    defs: HashMap<String, Definition>,
    /// A `$NAME= \` definition still collecting lines.
    open_def: Option<(String, Vec<String>)>,
    out: Vec<Line>,
    depth: usize,
    /// `{` minus `}` seen so far.
    braces: i64,
    /// Directory of the file being read (`${_PWD}`, relative includes).
    pwd: PathBuf,
    truncated: bool,
    /// Expansion steps left for the current physical line.
    budget: usize,
    random: u64,
    /// False for in-memory text (fuzzing): `include` lines are then ignored.
    includes: bool,
}

/// The default config id: the host name up to the first dot.
pub fn default_config_id() -> String {
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    host.split('.').next().unwrap_or("").to_string()
}

impl<'a> Reader<'a> {
    /// A reader that records files in `sources` and messages in `diags`.
    pub fn new(
        sources: &'a mut SourceMap,
        diags: &'a mut Vec<KaDiagnostic>,
        config_id: String,
        strict: bool,
    ) -> Self {
        Reader {
            sources,
            diags,
            config_id,
            strict,
            check: if strict {
                IncludeCheck::ALL
            } else {
                IncludeCheck::default()
            },
            defs: HashMap::new(),
            open_def: None,
            out: Vec::new(),
            depth: 0,
            braces: 0,
            pwd: PathBuf::from("."),
            truncated: false,
            budget: LINE_BUDGET,
            random: 0x2545_f491_4f6c_dd1d,
            includes: true,
        }
    }

    fn report(&mut self, kind: ErrClass, at: Option<Span>, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            kind,
            at,
            message: message.into(),
        });
    }

    /// Reads the top-level file (a path or a glob, like `-f`).
    pub fn read_top(mut self, pattern: &str) -> Vec<Line> {
        let matches = expand_glob(pattern, Path::new("."));
        if matches.is_empty() {
            // keepalived 2.2.7: only an error when includes are checked (-e).
            let kind = if self.strict {
                ErrClass::FileNotFound
            } else {
                ErrClass::Info
            };
            self.report(kind, None, format!("Config files missing '{pattern}'."));
            return self.finish();
        }
        if matches.len() > 1 {
            self.report(
                ErrClass::Warning,
                None,
                format!(
                    "WARNING, multiple configuration file matches of {pattern}, starting with {}",
                    matches[0].display()
                ),
            );
        }
        for path in matches {
            self.read_path(&path, None);
        }
        self.finish()
    }

    /// Reads `text` as if it were the file `name`.
    pub fn read_text(mut self, name: PathBuf, text: &str) -> Vec<Line> {
        self.includes = false;
        let id = self.sources.add(name);
        self.read_lines(id, text);
        self.finish()
    }

    fn finish(mut self) -> Vec<Line> {
        if let Some((name, _)) = self.open_def.take() {
            self.report(
                ErrClass::GeneralError,
                None,
                format!("Definition ${name} not terminated"),
            );
        }
        if self.braces > 0 {
            let n = self.braces;
            self.report(
                ErrClass::MissingEob,
                None,
                format!("There are {n} missing '}}'s or extra '{{'s"),
            );
        }
        self.out
    }

    fn read_path(&mut self, path: &Path, from: Option<Span>) {
        if self.depth >= MAX_INCLUDE_DEPTH {
            self.report(
                ErrClass::GeneralError,
                from,
                format!("Include depth exceeded at {}", path.display()),
            );
            return;
        }
        // Only regular files: a device or FIFO could block for ever.
        if from.is_none() && path.exists() && !path.is_file() {
            self.report(
                ErrClass::Info,
                None,
                format!(
                    "Configuration file '{}' is not a regular non-executable file - skipping",
                    path.display()
                ),
            );
            return;
        }
        if !path.is_file() {
            let kind = if from.is_none() || self.check.readable {
                ErrClass::FileNotFound
            } else {
                ErrClass::Info
            };
            self.report(
                kind,
                from,
                format!(
                    "Configuration file '{}' is not a regular file",
                    path.display()
                ),
            );
            return;
        }
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                let kind = if from.is_none() || self.check.readable {
                    ErrClass::FileNotFound
                } else {
                    ErrClass::Info
                };
                self.report(
                    kind,
                    from,
                    format!("Configuration file '{}' open problem ({e})", path.display()),
                );
                return;
            }
        };
        let id = self.sources.add(path.to_path_buf());
        let saved_pwd = std::mem::replace(
            &mut self.pwd,
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
        );
        let saved_check = self.check;
        self.depth += 1;
        self.read_lines(id, &text);
        self.depth -= 1;
        self.check = saved_check;
        self.pwd = saved_pwd;
    }

    fn read_lines(&mut self, file: FileId, text: &str) {
        for (i, raw) in text.split('\n').enumerate() {
            if self.truncated {
                return;
            }
            let at = Span {
                file,
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            };
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.len() >= MAX_LINE {
                self.report(ErrClass::GeneralError, Some(at), "line too long - ignoring");
                continue;
            }
            if raw.contains('\0') {
                continue;
            }
            self.physical_line(raw, at);
        }
    }

    /// Steps 2–10 of §1.1 for one physical line.
    fn physical_line(&mut self, raw: &str, at: Span) {
        self.budget = LINE_BUDGET;
        let (text, continued) = match decomment(raw) {
            Ok(d) => d,
            Err(partial) => {
                self.report(ErrClass::UnmatchedQuote, Some(at), "Unterminated quote");
                (partial, false)
            }
        };
        if let Some((name, mut body)) = self.open_def.take() {
            body.push(strip_continuation(&text, continued));
            if continued {
                self.open_def = Some((name, body));
            } else {
                self.defs.insert(name, Definition { lines: body });
            }
            return;
        }
        if text.is_empty() {
            return;
        }
        self.logical(text, continued, at, 0);
    }

    /// A decommented line: conditionals, definitions, loops, substitution,
    /// includes, braces. `depth` counts re-entries from expansions.
    fn logical(&mut self, text: String, continued: bool, at: Span, depth: usize) {
        if self.truncated {
            return;
        }
        // Definitions that expand into themselves (directly, mutually or
        // through multi-line bodies) grow without end: keepalived hangs on
        // them. Bound both the nesting and the work one physical line may
        // cause, and stop reading once either is exceeded.
        self.budget = self.budget.saturating_sub(1);
        if depth > MAX_DEPTH || self.budget == 0 {
            self.report(
                ErrClass::GeneralError,
                Some(at),
                "Recursive definition detected - definition expansion abandoned",
            );
            self.truncated = true;
            return;
        }
        let Some(text) = self.conditional(text) else {
            return;
        };
        if let Some((name, value)) = definition(&text) {
            if continued {
                let first = strip_continuation(value, true);
                let body = if first.is_empty() {
                    Vec::new()
                } else {
                    vec![first]
                };
                self.open_def = Some((name.to_string(), body));
            } else {
                self.defs.insert(
                    name.to_string(),
                    Definition {
                        lines: vec![value.to_string()],
                    },
                );
            }
            return;
        }
        if let Some(rest) = text.strip_prefix('~') {
            if let Some(lp) = self.parse_loop(rest, at) {
                let (lp, body) = lp;
                for row in lp.rows {
                    if self.truncated {
                        return;
                    }
                    for (var, val) in lp.vars.iter().zip(row.iter()) {
                        self.defs.insert(
                            var.clone(),
                            Definition {
                                lines: vec![val.clone()],
                            },
                        );
                    }
                    self.logical(body.clone(), false, at, depth + 1);
                }
                return;
            }
        }
        // Most lines hold no `$`: skip the substitution pass (and its copy).
        let expanded = if text.contains('$') {
            match self.substitute(&text, at) {
                Some(e) => Some(e),
                None => return,
            }
        } else {
            None
        };
        if let Some(expanded) = expanded.filter(|e| *e != text) {
            // A substitution may yield several lines (multi-line definitions)
            // and new comment/conditional characters: start over on each.
            for piece in expanded.split('\n') {
                let (clean, cont) = match decomment(piece) {
                    Ok(d) => d,
                    Err(partial) => {
                        self.report(ErrClass::UnmatchedQuote, Some(at), "Unterminated quote");
                        (partial, false)
                    }
                };
                if !clean.is_empty() {
                    self.logical(clean, cont, at, depth + 1);
                }
            }
            return;
        }
        if text.starts_with("include_check") {
            self.include_check(&text, at);
        }
        if let Some((kind, pattern)) = include_directive(&text) {
            if self.includes {
                self.include(kind, pattern, at);
            }
            return;
        }
        self.split_braces(&text, at);
    }

    /// `@ID rest` / `@^ID rest`: the rest, or nothing.
    fn conditional(&self, text: String) -> Option<String> {
        let Some(body) = text.strip_prefix('@') else {
            return Some(text);
        };
        let (negate, body) = match body.strip_prefix('^') {
            Some(b) => (true, b),
            None => (false, body),
        };
        let (id, rest) = match body.find(|c: char| c.is_ascii_whitespace()) {
            Some(i) => (&body[..i], body[i..].trim_start()),
            None => (body, ""),
        };
        let keep = (id == self.config_id) != negate;
        (keep && !rest.is_empty()).then(|| rest.to_string())
    }

    fn emit(&mut self, text: &str, at: Span) {
        if self.out.len() >= MAX_LINES {
            if !self.truncated {
                self.truncated = true;
                self.report(
                    ErrClass::GeneralError,
                    Some(at),
                    "Configuration too large - stopped reading",
                );
            }
            return;
        }
        match text {
            "{" => self.braces += 1,
            "}" => {
                self.braces -= 1;
                if self.braces < 0 {
                    self.report(ErrClass::UnexpectedEob, Some(at), "Extra '}' found");
                    self.braces = 0;
                }
            }
            _ => {}
        }
        self.out.push(Line {
            text: text.to_string(),
            at,
        });
    }

    /// Brace splitting: every unquoted `{`/`}` becomes a line of its own.
    fn split_braces(&mut self, text: &str, at: Span) {
        let mut rest = text.trim();
        while !rest.is_empty() {
            match find_unquoted_brace(rest) {
                None => {
                    let t = rest.to_string();
                    self.emit(&t, at);
                    return;
                }
                Some(0) => {
                    let brace = rest[..1].to_string();
                    self.emit(&brace, at);
                    rest = rest[1..].trim_start();
                }
                Some(i) => {
                    let before = rest[..i].trim_end().to_string();
                    self.emit(&before, at);
                    rest = &rest[i..];
                }
            }
        }
    }
}

/// Strips comments like keepalived's `decomment()`: returns the line and
/// whether it ended with a continuation `\`; `Err` for an open quote.
pub fn decomment(raw: &str) -> Result<(String, bool), String> {
    let line = raw.trim_start();
    let mut out = String::with_capacity(line.len());
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                out.push(c);
            }
            '\\' if !quoted && matches!(chars.peek(), Some('#' | '!')) => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '!' | '#' if !quoted => break,
            _ => out.push(c),
        }
    }
    // The trailing `\\` stays in the text: only definitions treat it as a
    // continuation (`advert_int 1\\` is an invalid number for keepalived).
    let mut body = out.trim_end().to_string();
    let continued = body.ends_with('\\') && !body.ends_with("\\\\");
    if continued {
        // keepalived drops the blanks before a continuation backslash, so a
        // stray `advert_int 1 \\` reads as the word `1\\`.
        body.pop();
        body.truncate(body.trim_end().len());
        body.push('\\');
    }
    if quoted {
        Err(body)
    } else {
        Ok((body, continued))
    }
}

/// A definition line without its continuation backslash.
fn strip_continuation(text: &str, continued: bool) -> String {
    match text.strip_suffix('\\') {
        Some(body) if continued => body.trim_end().to_string(),
        _ => text.to_string(),
    }
}

/// `$NAME=value` → (NAME, value). keepalived 2.2.7 wants the `=` right
/// after the name (`$X = 1` is not a definition).
fn definition(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('$')?;
    let len = rest
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
        .count();
    if len == 0 {
        return None;
    }
    let name = &rest[..len];
    let value = rest[len..].strip_prefix('=')?;
    Some((name, value.trim_start()))
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn find_unquoted_brace(text: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' | '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits a logical line into words (`alloc_strvec`): whitespace separates;
/// a word that starts with `"` runs to the next `"` (quotes removed); a `"`
/// inside a word ends it.
pub fn split_words(text: &str) -> Vec<String> {
    use nom::Parser;
    use nom::branch::alt;
    use nom::bytes::complete::{take_till, take_till1, take_while};
    use nom::character::complete::char;
    use nom::combinator::opt;
    use nom::multi::many0;
    use nom::sequence::{delimited, preceded};

    const BLANK: &[char] = &[' ', '\t', '\x0c', '\n', '\r', '\x0b'];
    let blank = || take_while(|c: char| BLANK.contains(&c));
    // A quoted word may lack its closing quote (keepalived takes the rest).
    let quoted = delimited(char('"'), take_till(|c| c == '"'), opt(char('"')));
    let bare = take_till1(|c: char| c == '"' || BLANK.contains(&c));
    let words: nom::IResult<&str, Vec<&str>> =
        many0(preceded(blank(), alt((quoted, bare)))).parse(text);
    match words {
        Ok((_, words)) => words.into_iter().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    }
}

mod expand;
use include::{expand_glob, include_directive};
mod include;
#[cfg(test)]
mod tests;
