//! ACLs and `if`/`unless` conditions: `acl` lines, anonymous `{ … }`
//! ACLs, predefined ACL names, and the check of fetch names against
//! haproxy 2.6's registry (`sample`). Rule keywords live in `rules`.

use super::section::{Line, Reader};
use crate::model::haproxy::{Acl, AclRef, CondTerm, Condition};

/// ACL names haproxy predefines.
const PREDEFINED_ACLS: &[&str] = &[
    "FALSE",
    "HTTP",
    "HTTP_1.0",
    "HTTP_1.1",
    "HTTP_2.0",
    "HTTP_3.0",
    "HTTP_CONTENT",
    "HTTP_URL_ABS",
    "HTTP_URL_SLASH",
    "HTTP_URL_STAR",
    "LOCALHOST",
    "METH_CONNECT",
    "METH_DELETE",
    "METH_GET",
    "METH_HEAD",
    "METH_OPTIONS",
    "METH_POST",
    "METH_PUT",
    "METH_TRACE",
    "RDP_COOKIE",
    "REQ_CONTENT",
    "TRUE",
    "WAIT_END",
];

/// Flags that take a value in an ACL.
const ACL_VALUED_FLAGS: &[&str] = &["-f", "-m", "-u"];

/// Parses `fetch [flags] [--] patterns` (words after the ACL name).
/// `lua` tells whether Lua scripts are loaded (they register `lua.*` fetches).
pub fn parse_acl_body(name: &str, line: u32, words: &[String], lua: bool) -> Result<Acl, String> {
    let fetch = words
        .first()
        .ok_or_else(|| "missing fetch method".to_string())?;
    if !super::sample::acl_fetch_known(fetch, lua) {
        return Err(format!(
            "unknown fetch method '{fetch}' in ACL expression '{fetch}'."
        ));
    }
    let keyword = fetch.split(['(', ',']).next().unwrap_or(fetch);
    if let Err(e) = super::sample::check_converters(fetch, lua) {
        // haproxy words it by what the first stage is.
        return Err(if super::sample::is_acl_keyword(keyword) {
            format!("ACL keyword '{keyword}' : {e}..")
        } else {
            format!("{e} in ACL expression '{fetch}'.")
        });
    }
    let mut acl = Acl {
        name: name.to_string(),
        line,
        fetch: fetch.clone(),
        ignore_case: false,
        match_method: None,
        pattern_files: Vec::new(),
        other_flags: Vec::new(),
        patterns: Vec::new(),
    };
    let mut from_files = Vec::new();
    let mut maps = false;
    let mut i = 1;
    while let Some(w) = words.get(i) {
        if !w.starts_with('-') || w == "-" {
            break;
        }
        if w == "--" {
            i += 1;
            break;
        }
        match w.as_str() {
            "-i" => acl.ignore_case = true,
            "-n" => acl.other_flags.push(w.clone()),
            // The files after it are maps: their keys are the patterns.
            "-M" => {
                maps = true;
                acl.other_flags.push(w.clone());
            }
            f if ACL_VALUED_FLAGS.contains(&f) => {
                let v = words
                    .get(i + 1)
                    .ok_or_else(|| format!("missing argument after '{f}'."))?;
                match f {
                    "-m" => acl.match_method = Some(v.clone()),
                    "-f" => {
                        // Read now, as haproxy does (before any chroot).
                        let lines = read_pattern_file(v)?;
                        from_files.extend(lines.into_iter().map(|l| {
                            if maps {
                                l.split([' ', '\t']).next().unwrap_or("").to_string()
                            } else {
                                l
                            }
                        }));
                        acl.pattern_files.push(v.clone());
                    }
                    _ => {
                        acl.other_flags.push(f.to_string());
                        acl.other_flags.push(v.clone());
                    }
                }
                i += 1;
            }
            // Not a flag: a pattern starting with '-' (e.g. a negative number).
            _ => break,
        }
        i += 1;
    }
    // The files' patterns come after the line's own.
    acl.patterns = words.get(i..).unwrap_or(&[]).to_vec();
    if keyword.ends_with("_reg") || acl.match_method.as_deref() == Some("reg") {
        for p in &acl.patterns {
            super::actions::check_regex(p).map_err(|e| format!("{e}."))?;
        }
    }
    acl.patterns.extend(from_files);
    Ok(acl)
}

/// The patterns of a pattern file (`-f`) as haproxy reads them: one per
/// line, leading blanks dropped, the rest of the line kept up to a CR or
/// NUL; empty lines and lines starting with `#` skipped.
pub fn read_pattern_file(path: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read(path).map_err(|_| format!("failed to open pattern file <{path}>."))?;
    Ok(String::from_utf8_lossy(&text)
        .split('\n')
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.trim_start_matches([' ', '\t']))
        .map(|l| l.split(['\r', '\0']).next().unwrap_or(""))
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Parses the words after `if`/`unless` into a condition, resolving named
/// ACLs against `known`.
pub fn parse_condition(
    negate: bool,
    words: &[String],
    known: &[Acl],
    line: u32,
    lua: bool,
) -> Result<Condition, String> {
    let mut cond = Condition {
        negate,
        any_of: vec![Vec::new()],
    };
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if w == "||" || w == "or" {
            cond.any_of.push(Vec::new());
            i += 1;
            continue;
        }
        let mut neg = false;
        let mut word = w;
        if word == "!" {
            neg = true;
            i += 1;
            word = words
                .get(i)
                .map(String::as_str)
                .ok_or("missing ACL after '!'")?;
        } else if let Some(rest) = word.strip_prefix('!') {
            neg = true;
            word = rest;
        }
        let acl = if word == "{" {
            let close = words[i + 1..]
                .iter()
                .position(|x| x == "}")
                .ok_or("missing closing '}' in condition")?;
            let body = &words[i + 1..i + 1 + close];
            i += close + 1;
            AclRef::Anonymous(Box::new(parse_acl_body("", line, body, lua)?))
        } else {
            if !PREDEFINED_ACLS.contains(&word) && !known.iter().any(|a| a.name == word) {
                return Err(format!("no such ACL : '{word}'"));
            }
            AclRef::Named(word.to_string())
        };
        if let Some(group) = cond.any_of.last_mut() {
            group.push(CondTerm { negate: neg, acl });
        }
        i += 1;
    }
    if cond.any_of.iter().any(Vec::is_empty) {
        return Err("missing ACL in condition".into());
    }
    Ok(cond)
}

/// Splits `words` at `if`/`unless`: (action words, condition words, negate).
pub fn split_condition(words: &[String]) -> (&[String], Option<(bool, &[String])>) {
    match words.iter().position(|w| w == "if" || w == "unless") {
        Some(p) => (&words[..p], Some((words[p] == "unless", &words[p + 1..]))),
        None => (words, None),
    }
}

impl Reader<'_> {
    /// `acl <name> <fetch> …`.
    pub(super) fn acl_keyword(&mut self, line: &Line) {
        let name = line.arg(1).to_string();
        if name.is_empty() {
            self.alert(
                &line.loc,
                line.span,
                "'acl' expects a name and a fetch method.".into(),
            );
            return;
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        {
            self.alert(
                &line.loc,
                line.span,
                format!("character '{c}' is not permitted in acl name '{name}'."),
            );
            return;
        }
        match parse_acl_body(&name, line.span.line, &line.words[2..], self.lua_loaded()) {
            Ok(acl) => {
                if acl.patterns.is_empty()
                    && acl.pattern_files.is_empty()
                    && acl.match_method.as_deref() != Some("found")
                    && !line.words.iter().any(|w| w == "--")
                    && !PREDEFINED_ACLS.contains(&acl.fetch.as_str())
                {
                    self.push(super::Level::Warning, Some(line.span), format!(
                        "parsing acl keyword '{}' :\n  no pattern to match against were provided, so this ACL will never match.\n  If this is what you intended, please add '--' to get rid of this warning.\n  If you intended to match only for existence, please use '-m found'.\n  If you wanted to force an int to match as a bool, please use '-m bool'.\n",
                        acl.fetch
                    ));
                }
                if let Some(p) = self.cur_proxy_mut() {
                    p.acls.push(acl);
                }
            }
            Err(e) => self.alert(
                &line.loc,
                line.span,
                format!("error detected while parsing ACL '{name}' : {e}"),
            ),
        }
    }

    /// Whether a `lua-load` was seen (Lua fetches are then unknowable).
    pub(super) fn lua_loaded(&self) -> bool {
        self.cfg
            .global
            .other
            .iter()
            .any(|d| d.words.first().is_some_and(|w| w.starts_with("lua-load")))
    }

    /// A condition over the current proxy's ACLs.
    pub(super) fn condition(
        &self,
        cond: Option<(bool, &[String])>,
        line: u32,
    ) -> Result<Option<Condition>, String> {
        let known = self.cur_proxy().map(|p| p.acls.as_slice()).unwrap_or(&[]);
        match cond {
            None => Ok(None),
            Some((neg, words)) => {
                parse_condition(neg, words, known, line, self.lua_loaded()).map(Some)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn pattern_files_are_read_as_haproxy_reads_them() {
        let path = std::env::temp_dir().join(format!("pharos-acl-{}.lst", std::process::id()));
        std::fs::write(&path, "# c\n\n  a b \n\tc\r\n #d\n").expect("file");
        let p = path.display().to_string();
        let acl =
            parse_acl_body("x", 1, &w(&format!("path -i -f {p} /inline")), false).expect("acl");
        assert_eq!(acl.patterns, ["/inline", "a b ", "c", "#d"]);
        assert_eq!(acl.pattern_files, std::slice::from_ref(&p));
        std::fs::remove_file(&path).expect("rm");
        assert_eq!(
            parse_acl_body("x", 1, &w(&format!("path -f {p}")), false),
            Err(format!("failed to open pattern file <{p}>."))
        );
    }

    #[test]
    fn acl_flags_and_patterns() {
        let acl =
            parse_acl_body("static", 3, &w("path_beg -i /static /images"), false).expect("ok");
        assert!(acl.ignore_case);
        assert_eq!(acl.patterns, ["/static", "/images"]);
        let acl = parse_acl_body("a", 1, &w("hdr(host) -m end -- -x"), false).expect("ok");
        assert_eq!(acl.match_method.as_deref(), Some("end"));
        assert_eq!(acl.patterns, ["-x"]);
        assert!(parse_acl_body("a", 1, &w("nosuch x"), false).is_err());
    }

    #[test]
    fn conditions_or_and_not_and_anonymous() {
        let known = vec![parse_acl_body("a", 1, &w("path /"), false).expect("ok")];
        let c = parse_condition(
            false,
            &w("a !a || { path_beg /x } or TRUE"),
            &known,
            1,
            false,
        )
        .expect("ok");
        assert_eq!(c.any_of.len(), 3);
        assert!(c.any_of[0][1].negate);
        assert!(matches!(c.any_of[1][0].acl, AclRef::Anonymous(_)));
        assert_eq!(
            parse_condition(false, &w("nope"), &known, 1, false).unwrap_err(),
            "no such ACL : 'nope'"
        );
    }
}
