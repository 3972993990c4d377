//! Unit tests of the preprocessor.

use super::include::expand_braces;
use super::*;

fn lines(text: &str, id: &str) -> (Vec<String>, Vec<String>) {
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    let out =
        Reader::new(&mut sources, &mut diags, id.into(), false).read_text("t.conf".into(), text);
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
    assert_eq!(
        decomment("advert_int 1 \\"),
        Ok(("advert_int 1\\".into(), true))
    );
    assert_eq!(
        decomment("advert_int 1\\"),
        Ok(("advert_int 1\\".into(), true))
    );
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

#[test]
fn empty_definitions_expand_to_nothing() {
    let (l, _) = lines("$E=\nk $E\n$E\n", "n");
    assert_eq!(l, ["k"]);
}
