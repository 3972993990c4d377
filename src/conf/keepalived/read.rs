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
const MAX_EXPANDED: usize = 1 << 20;
/// Logical lines a whole configuration may expand to (loops included).
const MAX_LINES: usize = 5_000_000;
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
        if depth > 64 || self.truncated {
            if !self.truncated {
                self.report(
                    ErrClass::GeneralError,
                    Some(at),
                    "Definition expansion too deep - recursive definition?",
                );
            }
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
        let expanded = match self.substitute(&text, at) {
            Some(e) => e,
            None => return,
        };
        if expanded != text {
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

    /// Expands `$NAME` / `${NAME}` and the built-ins, recursively.
    /// `None` when the expansion ran away (a self-referencing definition).
    fn substitute(&mut self, text: &str, at: Span) -> Option<String> {
        if !text.contains('$') {
            return Some(text.to_string());
        }
        let mut line = text.to_string();
        let mut pos = 0;
        let mut count = 0;
        while let Some(off) = line[pos..].find('$') {
            let start = pos + off;
            let Some((end, replacement)) = self.reference(&line, start) else {
                pos = start + 1;
                continue;
            };
            count += 1;
            if count > MAX_SUBSTITUTIONS
                || line.len() - (end - start) + replacement.len() > MAX_EXPANDED
            {
                self.report(
                    ErrClass::GeneralError,
                    Some(at),
                    "Recursive definition detected - definition expansion abandoned",
                );
                return None;
            }
            line.replace_range(start..end, &replacement);
            // Rescan the replacement: definitions expand lazily and nest.
            pos = start;
        }
        Some(line)
    }

    /// The reference starting at `line[start] == '$'`: its end and value.
    fn reference(&mut self, line: &str, start: usize) -> Option<(usize, String)> {
        let after = &line[start + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}')?;
            let body = &inner[..close];
            let end = start + 2 + close + 1;
            let value = self.lookup(body)?;
            return Some((end, value));
        }
        let name_len = after
            .char_indices()
            .take_while(|(i, c)| {
                c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit())
            })
            .count();
        if name_len == 0 {
            return None;
        }
        let name = &after[..name_len];
        let next = after[name_len..].chars().next();
        if !matches!(next, None | Some(' ' | '\t' | ',' | ')')) {
            return None;
        }
        let value = self.lookup(name)?;
        Some((start + 1 + name_len, value))
    }

    fn lookup(&mut self, body: &str) -> Option<String> {
        let mut words = body.split_ascii_whitespace();
        let name = words.next()?;
        match name {
            "_PWD" => return Some(self.pwd_string()),
            "_INSTANCE" => return Some(self.config_id.clone()),
            "_HASH" => return Some("#".into()),
            "_BANG" => return Some("!".into()),
            "_ENV" => {
                return Some(
                    words
                        .next()
                        .and_then(|v| std::env::var(v).ok())
                        .unwrap_or_default(),
                );
            }
            "_RANDOM" => {
                let min: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let max: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(32767);
                return Some(self.next_random(min, max).to_string());
            }
            _ => {}
        }
        self.defs.get(name).map(|d| d.lines.join("\n"))
    }

    fn pwd_string(&self) -> String {
        std::fs::canonicalize(&self.pwd)
            .unwrap_or_else(|_| self.pwd.clone())
            .display()
            .to_string()
    }

    fn next_random(&mut self, min: u64, max: u64) -> u64 {
        // xorshift: reproducible, which keepalived's `random_seed` also aims at.
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        if max <= min {
            min
        } else {
            min + self.random % (max - min + 1)
        }
    }

    /// Parses `SEQ(...) rest`, `SEQx(...) rest`, `LST(...) rest`.
    fn parse_loop(&mut self, text: &str, at: Span) -> Option<(Loop, String)> {
        let (kind, rest) = if let Some(r) = text.strip_prefix("SEQx(") {
            ("SEQx", r)
        } else if let Some(r) = text.strip_prefix("SEQ(") {
            ("SEQ", r)
        } else if let Some(r) = text.strip_prefix("LST(") {
            ("LST", r)
        } else {
            return None;
        };
        let Some(close) = matching_paren(rest) else {
            self.report(
                ErrClass::GeneralError,
                Some(at),
                format!("~{kind} missing ')'"),
            );
            return None;
        };
        let params = self.substitute(&rest[..close], at)?;
        let body = rest[close + 1..].trim_start().to_string();
        let lp = if kind == "LST" {
            self.list_loop(&params, at)?
        } else {
            self.seq_loop(&params, kind == "SEQx", at)?
        };
        Some((lp, body))
    }

    fn seq_loop(&mut self, params: &str, hex: bool, at: Span) -> Option<Loop> {
        let parts: Vec<&str> = params.split(',').map(str::trim).collect();
        let var = parts.first().copied().unwrap_or("");
        let nums: Option<Vec<i64>> = parts
            .iter()
            .skip(1)
            .map(|p| p.parse::<i64>().ok())
            .collect();
        let (start, step, end) = match (valid_name(var), nums.as_deref()) {
            (true, Some([end])) => (if *end < 0 { -1 } else { 1 }, None, *end),
            (true, Some([start, end])) => (*start, None, *end),
            (true, Some([start, step, end])) => (*start, Some(*step), *end),
            _ => {
                self.report(
                    ErrClass::GeneralError,
                    Some(at),
                    format!("Invalid ~SEQ parameters '{params}'"),
                );
                return None;
            }
        };
        let step = step.unwrap_or(if end < start { -1 } else { 1 });
        if step == 0 || (hex && (start < 0 || end < 0)) {
            self.report(
                ErrClass::GeneralError,
                Some(at),
                format!("Invalid ~SEQ parameters '{params}'"),
            );
            return None;
        }
        let mut rows = Vec::new();
        let mut v = start;
        while (step > 0 && v <= end) || (step < 0 && v >= end) {
            if rows.len() >= MAX_LINES {
                self.report(ErrClass::GeneralError, Some(at), "~SEQ too long");
                break;
            }
            rows.push(vec![if hex { format!("{v:x}") } else { v.to_string() }]);
            match v.checked_add(step) {
                Some(n) => v = n,
                None => break,
            }
        }
        Some(Loop {
            vars: vec![var.to_string()],
            rows,
        })
    }

    fn list_loop(&mut self, params: &str, at: Span) -> Option<Loop> {
        let items = split_list(params);
        let Some((head, values)) = items.split_first() else {
            self.report(ErrClass::GeneralError, Some(at), "~LST with no variable");
            return None;
        };
        let vars = group(head);
        if vars.is_empty() || !vars.iter().all(|v| valid_name(v)) {
            self.report(
                ErrClass::GeneralError,
                Some(at),
                format!("Invalid ~LST variable '{head}'"),
            );
            return None;
        }
        let rows = values
            .iter()
            .map(|v| {
                let mut row = group(v);
                row.resize(vars.len(), String::new());
                row
            })
            .collect();
        Some(Loop { vars, rows })
    }

    /// `include_check [OPTIONS]` (global_defs): sets the default level for
    /// the `include` lines that follow, as keepalived does while reading.
    fn include_check(&mut self, text: &str, at: Span) {
        let words = split_words(text);
        if words.first().map(String::as_str) != Some("include_check") {
            return;
        }
        if words.len() == 1 {
            self.check = IncludeCheck::ALL;
            return;
        }
        // 2.2.7: options add to `readable` + `match`, which are always on.
        let mut level = IncludeCheck { readable: true, matched: true, ..Default::default() };
        for w in &words[1..] {
            let (on, name) = match w.strip_prefix('-') {
                Some(n) => (false, n),
                None => (true, w.strip_prefix('+').unwrap_or(w)),
            };
            let slot = match name {
                "match" => &mut level.matched,
                "wildcard_match" => &mut level.wildcard_match,
                "brace_match" => &mut level.brace_match,
                _ => {
                    self.report(
                        ErrClass::GeneralError,
                        Some(at),
                        format!("Unknown include_check type '{w}' - ignoring"),
                    );
                    continue;
                }
            };
            if *slot == on {
                self.report(
                    ErrClass::GeneralError,
                    Some(at),
                    format!("Duplicate include_check '{w}' specified - ignoring"),
                );
            }
            *slot = on;
        }
        self.check = level;
    }

    /// `include*` PATTERN: globbed relative to the including file.
    fn include(&mut self, kind: &str, pattern: &str, at: Span) {
        let level = match kind {
            "include" => self.check,
            "includer" => IncludeCheck {
                fatal: true,
                readable: true,
                ..Default::default()
            },
            "includem" => IncludeCheck {
                fatal: true,
                readable: true,
                matched: true,
                ..Default::default()
            },
            "includew" => IncludeCheck {
                fatal: true,
                readable: true,
                matched: true,
                wildcard_match: true,
                ..Default::default()
            },
            "includeb" => IncludeCheck {
                fatal: true,
                readable: true,
                matched: true,
                brace_match: true,
                ..Default::default()
            },
            _ => IncludeCheck::ALL,
        };
        let level = if self.strict {
            IncludeCheck::ALL
        } else {
            level
        };
        let pattern = pattern.trim().trim_matches('"');
        // A failed check stops keepalived with "no config" (exit 6).
        let failed = if level.fatal { ErrClass::SecurityError } else { ErrClass::GeneralError };
        let mut files = Vec::new();
        let mut brace_missing = false;
        let alternatives = expand_braces(pattern);
        for alternative in &alternatives {
            let found = expand_glob(alternative, &self.pwd);
            brace_missing |= found.is_empty() && alternatives.len() > 1;
            files.extend(found);
        }
        let wildcard = pattern.contains(['*', '?', '[']);
        if files.is_empty() {
            if wildcard && level.wildcard_match {
                self.report(failed, Some(at), format!("No config files matched '{pattern}'."));
            } else if !wildcard && level.matched {
                self.report(failed, Some(at), format!("Config files missing '{pattern}'."));
            } else {
                self.report(ErrClass::Info, Some(at), format!("Config files missing '{pattern}'."));
            }
        } else if brace_missing && level.brace_match {
            self.report(failed, Some(at), format!("Some config files missing: \"{pattern}\"."));
        }
        let unusable = if level.readable { failed } else { ErrClass::Info };
        for file in files {
            if file.is_dir() {
                self.report(
                    unusable,
                    Some(at),
                    format!("Configuration file {} is a directory - skipping", file.display()),
                );
                continue;
            }
            if is_executable(&file) {
                self.report(
                    unusable,
                    Some(at),
                    format!("Configuration file {} is executable - skipping", file.display()),
                );
                continue;
            }
            self.read_path(&file, Some(at));
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

/// `include* PATTERN` → (directive, PATTERN).
fn include_directive(text: &str) -> Option<(&str, &str)> {
    let end = text.find(|c: char| c.is_ascii_whitespace())?;
    let word = &text[..end];
    matches!(
        word,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
    )
    .then(|| (word, text[end..].trim()))
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

/// Index of the `)` closing a `(` already consumed, skipping `{…}` groups.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits `a, {b,c}, d` at top-level commas.
fn split_list(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in text.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    items.push(cur.trim().to_string());
    items
}

/// `{a,b}` → [a, b]; `a` → [a].
fn group(item: &str) -> Vec<String> {
    match item.strip_prefix('{').and_then(|i| i.strip_suffix('}')) {
        Some(inner) => inner.split(',').map(|s| s.trim().to_string()).collect(),
        None => vec![item.to_string()],
    }
}

/// csh brace expansion (`a{b,c}d` → `abd`, `acd`), as GLOB_BRACE.
fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0usize;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alt = &pattern[w[0] + 1..w[1]];
        for expanded in expand_braces(&format!("{head}{alt}{tail}")) {
            if out.len() < 4096 {
                out.push(expanded);
            }
        }
    }
    out
}

/// Files matching `pattern` (relative to `base`), sorted like glob(3).
fn expand_glob(pattern: &str, base: &Path) -> Vec<PathBuf> {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        base.join(pattern)
    };
    let text = full.to_string_lossy().into_owned();
    let mut found: Vec<PathBuf> = match glob::glob(&text) {
        Ok(paths) => paths.filter_map(Result::ok).collect(),
        Err(_) => {
            if full.exists() {
                vec![full]
            } else {
                Vec::new()
            }
        }
    };
    found.sort();
    found
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Splits a logical line into words (`alloc_strvec`): whitespace separates;
/// a word that starts with `"` runs to the next `"` (quotes removed); a `"`
/// inside a word ends it.
pub fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\x0c', '\n', '\r', '\x0b']);
        if rest.is_empty() {
            return words;
        }
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            words.push(q[..end].to_string());
            rest = q.get(end + 1..).unwrap_or("");
        } else {
            let end = rest
                .find([' ', '\t', '\x0c', '\n', '\r', '\x0b', '"'])
                .unwrap_or(rest.len());
            words.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, id: &str) -> (Vec<String>, Vec<String>) {
        let mut sources = SourceMap::default();
        let mut diags = Vec::new();
        let out = Reader::new(&mut sources, &mut diags, id.into(), false)
            .read_text("t.conf".into(), text);
        (
            out.into_iter().map(|l| l.text).collect(),
            diags.into_iter().map(|d| d.message).collect(),
        )
    }

    #[test]
    fn comments_and_quotes() {
        assert_eq!(
            decomment("  a \"b # c\" # d"),
            Ok(("a \"b # c\"".into(), false))
        );
        assert_eq!(decomment("a \\# b ! c"), Ok(("a # b".into(), false)));
        assert_eq!(decomment("$X= \\"), Ok(("$X=\\".into(), true)));
        assert_eq!(decomment("advert_int 1 \\"), Ok(("advert_int 1\\".into(), true)));
        assert_eq!(decomment("advert_int 1\\"), Ok(("advert_int 1\\".into(), true)));
        assert!(decomment("a \"b").is_err());
    }

    #[test]
    fn braces_are_lines_of_their_own() {
        let (l, _) = lines("vrrp_instance X { state MASTER }\n", "n");
        assert_eq!(l, ["vrrp_instance X", "{", "state MASTER", "}"]);
    }

    #[test]
    fn conditionals_follow_the_config_id() {
        let (l, _) = lines("@main a 1\n@^main b 2\n@other c 3\n@^other d 4\n", "main");
        assert_eq!(l, ["a 1", "d 4"]);
    }

    #[test]
    fn definitions_expand_lazily_and_nest() {
        let (l, _) = lines("$A=${B}x\n$B=1\nk $A\n$B=2\nk ${A}y\n", "n");
        assert_eq!(l, ["k 1x", "k 2xy"]);
    }

    #[test]
    fn multiline_definitions_expand_to_lines() {
        let (l, _) = lines(
            "$BLK= \\\nvrrp_instance V${N} { \\\n priority ${N} \\\n}\n$N=7\n$BLK\n",
            "n",
        );
        assert_eq!(l, ["vrrp_instance V7", "{", "priority 7", "}"]);
    }

    #[test]
    fn self_reference_is_reported_not_hung() {
        let (l, d) = lines("$IF=${IF}\nk $IF\n", "n");
        assert!(l.is_empty());
        assert!(d.iter().any(|m| m.contains("Recursive definition")));
    }

    #[test]
    fn seq_and_lst_loops() {
        let (l, _) = lines("~SEQ(N, 1, 3) v $N\n", "n");
        assert_eq!(l, ["v 1", "v 2", "v 3"]);
        let (l, _) = lines("~SEQx(N, 9, 11) v $N\n", "n");
        assert_eq!(l, ["v 9", "v a", "v b"]);
        let (l, _) = lines("~LST({A,B}, {1,2}, {3}) v ${A}.${B}\n", "n");
        assert_eq!(l, ["v 1.2", "v 3."]);
        let (l, _) = lines("~SEQ(I,2) ~SEQ(J,1,2) v ${I}${J}\n", "n");
        assert_eq!(l, ["v 11", "v 12", "v 21", "v 22"]);
    }

    #[test]
    fn builtins() {
        let (l, _) = lines("k ${_INSTANCE} \"${_HASH}\" ${_BANG}x\n", "node1");
        assert_eq!(l, ["k node1 \"#\""]);
    }

    #[test]
    fn words_split_like_keepalived() {
        assert_eq!(split_words("a  \"b c\" d\"e\""), ["a", "b c", "d", "e"]);
    }

    #[test]
    fn brace_expansion() {
        assert_eq!(expand_braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(expand_braces("x"), ["x"]);
    }
}
