//! The haproxy.cfg line tokenizer (haproxy's `parse_line()` rules, written
//! with nom): words split on blanks, `#` comments, backslash escapes, weak
//! `"…"` quoting with environment expansion, strong `'…'` quoting, and the
//! `"${VAR[*]}"` word splitting. It owns nothing but the text of one line.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{anychar, char};
use nom::combinator::{map, opt, value};
use nom::error::{ErrorKind, ParseError};
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// haproxy's `MAX_LINE_ARGS`.
pub const MAX_WORDS: usize = 64;

/// Why a line could not be split into words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenErrorKind {
    UnmatchedQuote,
    UnmatchedBrace,
    ForbiddenFirstChar,
    BadHex,
    BadWordExpansion,
}

impl TokenErrorKind {
    /// haproxy's wording.
    pub fn message(self) -> &'static str {
        match self {
            TokenErrorKind::UnmatchedQuote => "unmatched quote",
            TokenErrorKind::UnmatchedBrace => "unmatched brace in environment variable name",
            TokenErrorKind::ForbiddenFirstChar => {
                "forbidden first char in environment variable name"
            }
            TokenErrorKind::BadHex => "truncated or invalid hexadecimal sequence",
            TokenErrorKind::BadWordExpansion => "truncated or invalid word expansion sequence",
        }
    }
}

/// A tokenizer error with its 1-based position in the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError {
    pub kind: TokenErrorKind,
    pub position: usize,
}

impl TokenError {
    /// The full haproxy message: text, position, the line and a caret.
    pub fn render(&self, line: &str) -> String {
        let pad = " ".repeat(self.position.saturating_sub(1));
        format!(
            "{} at position {}:\n  {}\n  {}^",
            self.kind.message(),
            self.position,
            line,
            pad
        )
    }
}

/// A tokenized line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Words {
    pub words: Vec<String>,
    /// More than [`MAX_WORDS`] words were present; the rest was dropped.
    pub truncated: bool,
}

/// Internal nom error: where it happened (as remaining length) and why.
#[derive(Debug, PartialEq)]
struct Fail {
    rest_len: usize,
    kind: Option<TokenErrorKind>,
}

impl<'a> ParseError<&'a str> for Fail {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        Fail {
            rest_len: input.len(),
            kind: None,
        }
    }
    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, T> = IResult<&'a str, T, Fail>;

fn fail<T>(at: &str, kind: TokenErrorKind) -> Res<'_, T> {
    Err(nom::Err::Failure(Fail {
        rest_len: at.len(),
        kind: Some(kind),
    }))
}

/// One piece of a word.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// Several words from a `${VAR[*]}` expansion: the first continues the
    /// current word, the others start new ones.
    Split(Vec<String>),
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_var_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.'
}

fn is_var_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Unquoted characters with no special meaning (`$` is literal here).
fn plain(i: &str) -> Res<'_, Piece> {
    map(
        take_while1(|c: char| !is_blank(c) && !matches!(c, '#' | '\\' | '"' | '\'' | '\r' | '\n')),
        |s: &str| Piece::Text(s.to_string()),
    )
    .parse(i)
}

fn hex_digit(i: &str) -> Res<'_, u8> {
    let (rest, c) = anychar(i)?;
    match c.to_digit(16) {
        Some(d) => Ok((rest, d as u8)),
        None => Err(nom::Err::Error(Fail {
            rest_len: i.len(),
            kind: None,
        })),
    }
}

/// `\x`, `\r`, `\n`, `\t`, `\xNN`; in weak quotes also `\$`.
fn escape(in_dquote: bool) -> impl Fn(&str) -> Res<'_, Piece> {
    move |i: &str| {
        let (after_bs, _) = char('\\').parse(i)?;
        if let Ok((rest, _)) = char::<&str, Fail>('x').parse(after_bs) {
            return match (hex_digit, hex_digit).parse(rest) {
                Ok((rest, (h, l))) => {
                    let byte = h * 16 + l;
                    // Bytes above 0x7f are kept as their Latin-1 char so the
                    // line stays valid UTF-8.
                    Ok((rest, Piece::Text(char::from(byte).to_string())))
                }
                Err(_) => fail(i, TokenErrorKind::BadHex),
            };
        }
        let simple: Res<'_, char> = alt((
            value('\\', char('\\')),
            value(' ', char(' ')),
            value('#', char('#')),
            value('\'', char('\'')),
            value('"', char('"')),
            value('\r', char('r')),
            value('\n', char('n')),
            value('\t', char('t')),
        ))
        .parse(after_bs);
        match simple {
            Ok((rest, c)) => Ok((rest, Piece::Text(c.to_string()))),
            Err(_) if in_dquote && after_bs.starts_with('$') => {
                Ok((&after_bs[1..], Piece::Text("$".into())))
            }
            // Unknown escape: the backslash stays.
            Err(_) => Ok((after_bs, Piece::Text("\\".into()))),
        }
    }
}

/// `'…'`: everything literal up to the closing quote.
fn single_quoted(i: &str) -> Res<'_, Piece> {
    let (rest, _) = char('\'').parse(i)?;
    let (rest, body) = take_while(|c: char| c != '\'').parse(rest)?;
    match char::<&str, Fail>('\'').parse(rest) {
        Ok((rest, _)) => Ok((rest, Piece::Text(body.to_string()))),
        Err(_) => fail(i, TokenErrorKind::UnmatchedQuote),
    }
}

/// The environment lookup used while tokenizing.
pub type Env<'e> = &'e dyn Fn(&str) -> Option<String>;

/// `$NAME`, `${NAME}`, `${NAME-default}`, `${NAME[*]}` inside weak quotes.
fn variable<'a>(env: Env<'_>, i: &'a str) -> Res<'a, Piece> {
    let (after_dollar, _) = char('$').parse(i)?;
    if let Ok((inner, _)) = char::<&str, Fail>('{').parse(after_dollar) {
        if !inner.starts_with(is_var_start) {
            return fail(inner, TokenErrorKind::ForbiddenFirstChar);
        }
        let (rest, name) = take_while1(is_var_char).parse(inner)?;
        // `[*]` splitting.
        if rest.starts_with('[') {
            let parsed: Res<'_, &str> = tag("[*]}").parse(rest);
            return match parsed {
                Ok((rest, _)) => {
                    let v = env(name).unwrap_or_default();
                    let parts = v
                        .split([' ', '\t'])
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect();
                    Ok((rest, Piece::Split(parts)))
                }
                Err(_) => fail(rest, TokenErrorKind::BadWordExpansion),
            };
        }
        let (rest, default) = opt(preceded(
            char('-'),
            take_while(|c: char| c != '}' && c != '"'),
        ))
        .parse(rest)?;
        match char::<&str, Fail>('}').parse(rest) {
            Ok((rest, _)) => {
                let v = match (env(name), default) {
                    (Some(v), _) => v,
                    (None, Some(d)) => d.to_string(),
                    (None, None) => String::new(),
                };
                Ok((rest, Piece::Text(v)))
            }
            Err(_) => fail(after_dollar, TokenErrorKind::UnmatchedBrace),
        }
    } else {
        if !after_dollar.starts_with(is_var_start) {
            return fail(after_dollar, TokenErrorKind::ForbiddenFirstChar);
        }
        let (rest, name) = take_while1(is_var_char).parse(after_dollar)?;
        Ok((rest, Piece::Text(env(name).unwrap_or_default())))
    }
}

/// `"…"`: escapes and variables are interpreted.
fn double_quoted<'a>(env: Env<'_>, i: &'a str) -> Res<'a, Vec<Piece>> {
    let (mut rest, _) = char('"').parse(i)?;
    let mut pieces = vec![Piece::Text(String::new())];
    // Each turn consumes at least one byte, so the loop is bounded.
    for _ in 0..=i.len() {
        if let Ok((r, _)) = char::<&str, Fail>('"').parse(rest) {
            return Ok((r, pieces));
        }
        if rest.is_empty() {
            break;
        }
        let text: Res<'_, &str> = take_while1(|c: char| !matches!(c, '"' | '\\' | '$')).parse(rest);
        let (r, piece) = match text {
            Ok((r, t)) => (r, Piece::Text(t.to_string())),
            Err(_) if rest.starts_with('\\') => escape(true)(rest)?,
            Err(_) => variable(env, rest)?,
        };
        pieces.push(piece);
        rest = r;
    }
    fail(i, TokenErrorKind::UnmatchedQuote)
}

/// Splits one configuration line into words.
pub fn tokenize(line: &str, env: Env<'_>) -> Result<Words, TokenError> {
    let total = line.len();
    let to_err = |f: Fail| TokenError {
        kind: f.kind.unwrap_or(TokenErrorKind::UnmatchedQuote),
        position: total.saturating_sub(f.rest_len) + 1,
    };
    let mut out = Words::default();
    let mut rest = line;
    // Every turn of either loop consumes input: bounded by the line length.
    'words: for _ in 0..=total {
        let (r, _) = take_while::<_, &str, Fail>(|c: char| is_blank(c) || c == '\r' || c == '\n')
            .parse(rest)
            .map_err(|_| TokenError {
                kind: TokenErrorKind::UnmatchedQuote,
                position: 1,
            })?;
        rest = r;
        if rest.is_empty() || rest.starts_with('#') {
            break;
        }
        let mut word = String::new();
        let mut started = false;
        for _ in 0..=total {
            if rest.is_empty()
                || rest.starts_with(|c: char| is_blank(c) || c == '#' || c == '\r' || c == '\n')
            {
                break;
            }
            let step: Result<(&str, Vec<Piece>), nom::Err<Fail>> = if rest.starts_with('"') {
                double_quoted(env, rest)
            } else if rest.starts_with('\'') {
                single_quoted(rest).map(|(r, p)| (r, vec![p]))
            } else if rest.starts_with('\\') {
                escape(false)(rest).map(|(r, p)| (r, vec![p]))
            } else {
                plain(rest).map(|(r, p)| (r, vec![p]))
            };
            let (r, pieces) = match step {
                Ok(v) => v,
                Err(nom::Err::Error(f)) | Err(nom::Err::Failure(f)) => return Err(to_err(f)),
                Err(nom::Err::Incomplete(_)) => {
                    return Err(TokenError {
                        kind: TokenErrorKind::UnmatchedQuote,
                        position: 1,
                    });
                }
            };
            started = true;
            for piece in pieces {
                match piece {
                    Piece::Text(t) => word.push_str(&t),
                    Piece::Split(parts) => {
                        let mut iter = parts.into_iter();
                        if let Some(first) = iter.next() {
                            word.push_str(&first);
                        }
                        for part in iter {
                            if !push_word(&mut out, std::mem::take(&mut word)) {
                                break 'words;
                            }
                            word = part;
                        }
                    }
                }
            }
            rest = r;
        }
        if started && !push_word(&mut out, word) {
            break;
        }
    }
    Ok(out)
}

fn push_word(out: &mut Words, word: String) -> bool {
    if out.words.len() >= MAX_WORDS {
        out.truncated = true;
        return false;
    }
    out.words.push(word);
    true
}

/// Expands `$NAME`/`${NAME}`/`${NAME-default}` anywhere in `text`, as
/// haproxy does for address strings even outside quotes. Malformed
/// references are left as they are.
pub fn expand_env(text: &str, env: Env<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    for _ in 0..=text.len() {
        let Some(pos) = rest.find('$') else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..pos]);
        let candidate = &rest[pos..];
        match variable(env, candidate) {
            Ok((r, Piece::Text(v))) => {
                out.push_str(&v);
                rest = r;
            }
            Ok((r, Piece::Split(parts))) => {
                out.push_str(&parts.join(" "));
                rest = r;
            }
            Err(_) => {
                out.push('$');
                rest = &candidate[1..];
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "PORT" => Some("8080".into()),
            "WORDS" => Some("a  b".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn words(line: &str) -> Vec<String> {
        tokenize(line, &env).expect("valid line").words
    }

    #[test]
    fn splits_on_blanks_and_stops_at_comments() {
        assert_eq!(words("  bind\t:80   ssl # crt x"), ["bind", ":80", "ssl"]);
        assert!(words("   # only a comment").is_empty());
        assert_eq!(words("a#b"), ["a"]);
    }

    #[test]
    fn escapes_outside_quotes() {
        assert_eq!(
            words(r"reqadd X-Proto:\ https"),
            ["reqadd", "X-Proto: https"]
        );
        assert_eq!(words(r"a\#b \\ \x41 \q"), ["a#b", "\\", "A", "\\q"]);
        assert_eq!(words(r"x\ty"), ["x\ty"]);
    }

    #[test]
    fn weak_quotes_expand_strong_quotes_do_not() {
        assert_eq!(
            words(r#"a "${PORT}" '${PORT}' $PORT"#),
            ["a", "8080", "${PORT}", "$PORT"]
        );
        assert_eq!(
            words(r#""x\$y $PORT ${NOPE-def} ${NOPE-} ${NOPE}""#),
            ["x$y 8080 def  "]
        );
        assert_eq!(words(r##""""x"y ''"##), ["xy", ""]);
        assert_eq!(
            words(r#""%{+Q}o %t"' %s'\ %{-Q}r"#),
            ["%{+Q}o %t %s %{-Q}r"]
        );
    }

    #[test]
    fn star_expansion_splits_words() {
        assert_eq!(words(r#"x "${WORDS[*]}" y"#), ["x", "a", "b", "y"]);
        assert_eq!(words(r#"x a"${WORDS[*]}"c"#), ["x", "aa", "bc"]);
        assert_eq!(words(r#""${NOPE[*]}""#), [""]);
    }

    #[test]
    fn errors_carry_haproxy_positions() {
        let e = tokenize("  description \"abc", &env).unwrap_err();
        assert_eq!((e.kind, e.position), (TokenErrorKind::UnmatchedQuote, 15));
        let e = tokenize("  description \"${FOO", &env).unwrap_err();
        assert_eq!((e.kind, e.position), (TokenErrorKind::UnmatchedBrace, 17));
        let e = tokenize("  description \"${1FOO}\"", &env).unwrap_err();
        assert_eq!(
            (e.kind, e.position),
            (TokenErrorKind::ForbiddenFirstChar, 18)
        );
        let e = tokenize("  description a\\x4", &env).unwrap_err();
        assert_eq!((e.kind, e.position), (TokenErrorKind::BadHex, 16));
        let e = tokenize("  description \"$1\"", &env).unwrap_err();
        assert_eq!(
            (e.kind, e.position),
            (TokenErrorKind::ForbiddenFirstChar, 17)
        );
        let e = tokenize("  description \"${FOO[x]}\"", &env).unwrap_err();
        assert_eq!((e.kind, e.position), (TokenErrorKind::BadWordExpansion, 21));
        assert!(e.render("x").contains("at position 21:\n  x\n"));
    }

    #[test]
    fn word_limit_truncates() {
        let line = "w ".repeat(70);
        let w = tokenize(&line, &env).expect("valid");
        assert_eq!(w.words.len(), MAX_WORDS);
        assert!(w.truncated);
    }

    #[test]
    fn address_expansion_outside_quotes() {
        assert_eq!(expand_env("127.0.0.1:${PORT}", &env), "127.0.0.1:8080");
        assert_eq!(expand_env("fd@$PORT", &env), "fd@8080");
        assert_eq!(expand_env("a$", &env), "a$");
    }
}
