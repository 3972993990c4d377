//! Conditional blocks: the `.if`/`.elif` expression language and
//! `haproxy -cc`. Also the build's truthful feature list, which `feature()`
//! consults and `haproxy -vv` prints. Owns no parser state: the block
//! nesting lives in `section`.

/// The version Pharos reports: 2.6-compatible so tools that parse it work.
pub const VERSION: &str = "2.6.12-pharos-0.1.0";

/// What Pharos really provides, in haproxy's `-vv` "Feature list" form.
pub const FEATURES: &str = "-51DEGREES +ACCEPT4 -BACKTRACE -CLOSEFROM -CPU_AFFINITY -CRYPT_H \
-DEVICEATLAS -DL -ENGINE +EPOLL -EVPORTS +GETADDRINFO -KQUEUE -LIBCRYPT +LINUX_SPLICE \
+LINUX_TPROXY -LUA -MEMORY_PROFILING -NETFILTER -NS -OBSOLETE_LINKER -OPENSSL -OT -PCRE \
-PCRE2 -PCRE2_JIT -PCRE_JIT -POLL +PRCTL -PROCCTL -PROMEX -QUIC -RT -SLZ -STATIC_PCRE \
-STATIC_PCRE2 +SYSTEMD -TFO +THREAD -THREAD_DUMP +TPROXY -WURFL -ZLIB";

/// Pollers and mechanisms `enabled()` answers for.
const ENABLED: &[&str] = &[
    "EPOLL",
    "SPLICE",
    "GETADDRINFO",
    "REUSEPORT",
    "FAST-FORWARD",
];

/// Recursion bound, as haproxy's `MAX_CFG_RECURSION`.
const MAX_DEPTH: usize = 1024;

/// A condition that does not parse, with the 1-based position of the
/// offending character in the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CondError {
    pub message: String,
    pub position: usize,
}

/// Whether `name` is a `+` feature of this build.
pub fn has_feature(name: &str) -> bool {
    FEATURES
        .split(' ')
        .any(|f| f.strip_prefix('+') == Some(name))
}

/// Evaluates a `.if`/`-cc` expression (words already joined by spaces).
pub fn evaluate(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<bool, CondError> {
    if text.is_empty() {
        return Ok(false);
    }
    let mut p = Parser { text, pos: 0, env };
    let value = p.expr(MAX_DEPTH)?;
    p.skip_blanks();
    if let Some(c) = p.peek() {
        return Err(CondError {
            message: format!(
                "unexpected character '{c}' at the end of conditional expression '{text}'"
            ),
            position: p.pos + 1,
        });
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_blanks(&mut self) {
        let rest = self.rest();
        let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        self.pos += n;
    }

    fn unparsable(&self, from: usize) -> CondError {
        // haproxy names the whole expression when it ran out of input.
        let tail = self.text.get(from..).unwrap_or("");
        let shown = if tail.trim().is_empty() {
            self.text
        } else {
            tail
        };
        CondError {
            message: format!("unparsable conditional expression '{shown}'"),
            position: from + 1,
        }
    }

    /// `and ('||' expr)?` — every term is parsed even when the result is
    /// already known, so syntax errors are always reported.
    fn expr(&mut self, depth: usize) -> Result<bool, CondError> {
        let start = self.pos;
        if depth == 0 || self.rest().is_empty() {
            return Err(self.unparsable(start));
        }
        let left = self.and(depth - 1)?;
        self.skip_blanks();
        if self.rest().starts_with("||") {
            self.pos += 2;
            self.skip_blanks();
            let right = self.expr(depth - 1)?;
            return Ok(left || right);
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<bool, CondError> {
        let start = self.pos;
        if depth == 0 || self.rest().is_empty() {
            return Err(self.unparsable(start));
        }
        let left = self.term(depth - 1)?;
        self.skip_blanks();
        if self.rest().starts_with("&&") {
            self.pos += 2;
            self.skip_blanks();
            let right = self.and(depth - 1)?;
            return Ok(left && right);
        }
        Ok(left)
    }

    fn term(&mut self, depth: usize) -> Result<bool, CondError> {
        self.skip_blanks();
        let start = self.pos;
        if self.rest().is_empty() || depth == 0 {
            return Err(self.unparsable(start));
        }
        let mut negate = false;
        while self.peek() == Some('!') {
            negate = !negate;
            self.pos += 1;
            self.skip_blanks();
        }
        let value = if let Some((v, len)) = parse_c_long(self.rest()) {
            self.pos += len;
            v != 0
        } else if self.peek() == Some('(') {
            self.pos += 1;
            self.skip_blanks();
            let v = self.expr(depth - 1)?;
            self.skip_blanks();
            if self.peek() != Some(')') {
                return Err(CondError {
                    message: format!(
                        "expected ')' after conditional expression '{}'",
                        self.text.get(start..).unwrap_or("")
                    ),
                    position: start + 1,
                });
            }
            self.pos += 1;
            self.skip_blanks();
            v
        } else {
            self.predicate(start)?
        };
        Ok(value != negate)
    }

    fn predicate(&mut self, start: usize) -> Result<bool, CondError> {
        let rest = self.rest();
        let name_len = rest.find([' ', '(']).unwrap_or(rest.len());
        let name = &rest[..name_len];
        let arity = match name {
            "defined"
            | "feature"
            | "version_atleast"
            | "version_before"
            | "openssl_version_atleast"
            | "openssl_version_before"
            | "ssllib_name_startswith"
            | "awslc_api_atleast"
            | "awslc_api_before"
            | "enabled" => 1,
            "streq" | "strneq" | "strstr" => 2,
            "fips_mode" => 0,
            _ => return Err(self.unparsable(start)),
        };
        let name = name.to_string();
        self.pos += name_len;
        let args = self.arguments(&name, arity)?;
        let arg = |n: usize| args.get(n).map(String::as_str).unwrap_or("");
        Ok(match name.as_str() {
            "defined" => (self.env)(arg(0)).is_some(),
            "feature" => has_feature(arg(0)),
            "streq" => arg(0) == arg(1),
            "strneq" => arg(0) != arg(1),
            "strstr" => arg(0).contains(arg(1)),
            "version_atleast" => compare_versions(VERSION, arg(0)) >= std::cmp::Ordering::Equal,
            "version_before" => compare_versions(VERSION, arg(0)) == std::cmp::Ordering::Less,
            "enabled" => ENABLED.contains(&arg(0)),
            // No OpenSSL, no AWS-LC, no FIPS in this build.
            _ => false,
        })
    }

    /// `(a,b)`: comma-separated string arguments; quotes and backslashes
    /// protect commas and parentheses.
    fn arguments(&mut self, pred: &str, arity: usize) -> Result<Vec<String>, CondError> {
        let mut args = Vec::new();
        if self.peek() == Some('(') {
            self.pos += 1;
            let mut cur = String::new();
            let mut quote: Option<char> = None;
            let mut closed = false;
            let chars: Vec<char> = self.rest().chars().collect();
            let mut i = 0;
            while i < chars.len() {
                let c = chars[i];
                self.pos += c.len_utf8();
                i += 1;
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), '\\') | (None, '\\') => {
                        if let Some(&n) = chars.get(i) {
                            cur.push(n);
                            self.pos += n.len_utf8();
                            i += 1;
                        }
                    }
                    (Some(_), c) => cur.push(c),
                    (None, '"') | (None, '\'') => quote = Some(c),
                    (None, ',') => args.push(std::mem::take(&mut cur)),
                    (None, ')') => {
                        closed = true;
                        break;
                    }
                    (None, c) => cur.push(c),
                }
            }
            if !closed {
                return Err(CondError {
                    message: format!(
                        "expected ')' after arguments of predicate '{pred}' used in conditional expression"
                    ),
                    position: self.pos + 1,
                });
            }
            if !cur.is_empty() || !args.is_empty() || arity > 0 {
                args.push(cur);
            }
        }
        if args.len() < arity {
            return Err(CondError {
                message: format!(
                    "missing arguments (got {}/{}), type 'string' expected in argument {} of predicate '{}' used in conditional expression",
                    args.len(),
                    arity,
                    args.len().max(1),
                    pred
                ),
                position: self.pos + 1,
            });
        }
        if args.len() > arity && !(arity == 0 && args.iter().all(String::is_empty)) {
            return Err(CondError {
                message: format!(
                    "too many arguments (got {}/{}) in argument {} of predicate '{}' used in conditional expression",
                    args.len(),
                    arity,
                    arity + 1,
                    pred
                ),
                position: self.pos + 1,
            });
        }
        Ok(args)
    }
}

/// C `strtol(s, &end, 0)`: optional sign, then hex (`0x`), octal (`0`) or
/// decimal digits. Returns the value and the length consumed, or `None`
/// when no digit was read.
fn parse_c_long(s: &str) -> Option<(i64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+') | Some(b'-')) {
        i += 1;
    }
    let (radix, digits_from) = if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x') | Some(b'X'))
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, i + 2)
    } else if b.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut j = digits_from;
    let mut value: i64 = 0;
    while let Some(d) = b.get(j).and_then(|c| char::from(*c).to_digit(radix)) {
        value = value
            .saturating_mul(i64::from(radix))
            .saturating_add(i64::from(d));
        j += 1;
    }
    if j == digits_from {
        return None;
    }
    Some((value, j))
}

/// Compares dotted versions numerically (`2.6.12-x` vs `2.4`); missing
/// components count as zero and anything after `-` is ignored.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(v: &str) -> Vec<u64> {
        let core = v.split(['-', '+']).next().unwrap_or("");
        core.split('.')
            .take(8)
            .map(|p| {
                let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap_or(0)
            })
            .collect()
    }
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let x = pa.get(i).copied().unwrap_or(0);
        let y = pb.get(i).copied().unwrap_or(0);
        if x != y {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "HOME").then(|| "/root".to_string())
    }

    fn eval(s: &str) -> Result<bool, CondError> {
        evaluate(s, &env)
    }

    #[test]
    fn numbers_and_empty() {
        assert_eq!(eval(""), Ok(false));
        assert_eq!(eval("0"), Ok(false));
        assert_eq!(eval("1"), Ok(true));
        assert_eq!(eval("0x10"), Ok(true));
        assert_eq!(eval("-0"), Ok(false));
    }

    #[test]
    fn predicates() {
        assert_eq!(eval("version_atleast(2.4)"), Ok(true));
        assert_eq!(eval("version_before(2.6)"), Ok(false));
        assert_eq!(eval("version_before(2.7)"), Ok(true));
        assert_eq!(eval("version_atleast()"), Ok(true));
        assert_eq!(eval("feature(THREAD)"), Ok(true));
        assert_eq!(eval("feature(OPENSSL)"), Ok(false));
        assert_eq!(eval("feature(LINUX_SPLICE)"), Ok(true));
        assert_eq!(eval("streq(a,b)"), Ok(false));
        assert_eq!(eval("streq(a, a)"), Ok(false), "spaces are significant");
        assert_eq!(eval("strneq(a,b)"), Ok(true));
        assert_eq!(eval("strstr(haproxy,prox)"), Ok(true));
        assert_eq!(eval("defined(HOME) && !streq(a,a)"), Ok(false));
        assert_eq!(eval("enabled(SPLICE)"), Ok(true));
        assert_eq!(eval("fips_mode()"), Ok(false));
        assert_eq!(eval("openssl_version_atleast(1.1.1)"), Ok(false));
    }

    #[test]
    fn precedence_and_grouping() {
        assert_eq!(eval("1 || 0 && 0"), Ok(true));
        assert_eq!(eval("(1 || 0) && 0"), Ok(false));
        assert_eq!(eval("!!1"), Ok(true));
        assert_eq!(eval("! ( 0 )"), Ok(true));
    }

    #[test]
    fn errors_match_haproxy() {
        let e = eval("foo(1)").unwrap_err();
        assert_eq!(e.message, "unparsable conditional expression 'foo(1)'");
        assert_eq!(e.position, 1);
        let e = eval("(1").unwrap_err();
        assert_eq!(e.message, "expected ')' after conditional expression '(1'");
        let e = eval("1 2").unwrap_err();
        assert_eq!(
            e.message,
            "unexpected character '2' at the end of conditional expression '1 2'"
        );
        assert_eq!(e.position, 3);
        let e = eval("streq(a)").unwrap_err();
        assert!(
            e.message
                .starts_with("missing arguments (got 1/2), type 'string' expected")
        );
        assert!(eval("1 ||").is_err());
        assert!(eval("12x").is_err());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let s = "(".repeat(100_000);
        assert!(eval(&s).is_err());
    }
}
