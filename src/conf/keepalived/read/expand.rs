//! Expansion: `$NAME`/`${NAME}` substitution with the built-ins, and the
//! `~SEQ`/`~SEQx`/`~LST` loops.

use super::*;

impl Reader<'_> {
    /// Expands `$NAME` / `${NAME}` and the built-ins, recursively.
    /// `None` when the expansion ran away (a self-referencing definition).
    pub(super) fn substitute(&mut self, text: &str, at: Span) -> Option<String> {
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
                self.truncated = true;
                return None;
            }
            line.replace_range(start..end, &replacement);
            // Rescan the replacement: definitions expand lazily and nest.
            pos = start;
        }
        Some(line)
    }

    /// The reference starting at `line[start] == '$'`: its end and value.
    pub(super) fn reference(&mut self, line: &str, start: usize) -> Option<(usize, String)> {
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

    pub(super) fn lookup(&mut self, body: &str) -> Option<String> {
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

    pub(super) fn pwd_string(&self) -> String {
        std::fs::canonicalize(&self.pwd)
            .unwrap_or_else(|_| self.pwd.clone())
            .display()
            .to_string()
    }

    pub(super) fn next_random(&mut self, min: u64, max: u64) -> u64 {
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
    pub(super) fn parse_loop(&mut self, text: &str, at: Span) -> Option<(Loop, String)> {
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

    pub(super) fn seq_loop(&mut self, params: &str, hex: bool, at: Span) -> Option<Loop> {
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

    pub(super) fn list_loop(&mut self, params: &str, at: Span) -> Option<Loop> {
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
}
/// Index of the `)` closing a `(` already consumed, skipping `{…}` groups.
pub(super) fn matching_paren(text: &str) -> Option<usize> {
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
pub(super) fn split_list(text: &str) -> Vec<String> {
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
pub(super) fn group(item: &str) -> Vec<String> {
    match item.strip_prefix('{').and_then(|i| i.strip_suffix('}')) {
        Some(inner) => inner.split(',').map(|s| s.trim().to_string()).collect(),
        None => vec![item.to_string()],
    }
}
