//! The `include*` family and `include_check`: globs (with csh braces)
//! relative to the including file, and keepalived's check levels.

use super::*;

impl Reader<'_> {
    /// `include_check [OPTIONS]` (global_defs): sets the default level for
    /// the `include` lines that follow, as keepalived does while reading.
    pub(super) fn include_check(&mut self, text: &str, at: Span) {
        let words = split_words(text);
        if words.first().map(String::as_str) != Some("include_check") {
            return;
        }
        if words.len() == 1 {
            self.check = IncludeCheck::ALL;
            return;
        }
        // 2.2.7: options add to `readable` + `match`, which are always on.
        let mut level = IncludeCheck {
            readable: true,
            matched: true,
            ..Default::default()
        };
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
    pub(super) fn include(&mut self, kind: &str, pattern: &str, at: Span) {
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
        let failed = if level.fatal {
            ErrClass::SecurityError
        } else {
            ErrClass::GeneralError
        };
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
                self.report(
                    failed,
                    Some(at),
                    format!("No config files matched '{pattern}'."),
                );
            } else if !wildcard && level.matched {
                self.report(
                    failed,
                    Some(at),
                    format!("Config files missing '{pattern}'."),
                );
            } else {
                self.report(
                    ErrClass::Info,
                    Some(at),
                    format!("Config files missing '{pattern}'."),
                );
            }
        } else if brace_missing && level.brace_match {
            self.report(
                failed,
                Some(at),
                format!("Some config files missing: \"{pattern}\"."),
            );
        }
        let unusable = if level.readable {
            failed
        } else {
            ErrClass::Info
        };
        for file in files {
            if file.is_dir() {
                self.report(
                    unusable,
                    Some(at),
                    format!(
                        "Configuration file {} is a directory - skipping",
                        file.display()
                    ),
                );
                continue;
            }
            if is_executable(&file) {
                self.report(
                    unusable,
                    Some(at),
                    format!(
                        "Configuration file {} is executable - skipping",
                        file.display()
                    ),
                );
                continue;
            }
            self.read_path(&file, Some(at));
        }
    }
}
/// `include* PATTERN` → (directive, PATTERN).
pub(super) fn include_directive(text: &str) -> Option<(&str, &str)> {
    let end = text.find(|c: char| c.is_ascii_whitespace())?;
    let word = &text[..end];
    matches!(
        word,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
    )
    .then(|| (word, text[end..].trim()))
}

/// csh brace expansion (`a{b,c}d` → `abd`, `acd`), as GLOB_BRACE.
pub(super) fn expand_braces(pattern: &str) -> Vec<String> {
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
pub(super) fn expand_glob(pattern: &str, base: &Path) -> Vec<PathBuf> {
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

pub(super) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
