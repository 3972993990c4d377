//! The request-target against the Host field, as haproxy 2.6 checks it: an authority in the
//! URI must match Host (default ports aside), a CONNECT target needs a port, and an
//! absolute URI loses a default port (`http://a:80/x` → `http://a/x`, Host too).

use super::HeadError;

/// The scheme of an absolute URI, `://` included (`http://`), if the URI has one.
pub(crate) fn scheme(uri: &[u8]) -> Option<&[u8]> {
    if !uri.first()?.is_ascii_alphabetic() {
        return None;
    }
    let mut at = 1;
    while uri
        .get(at)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        at += 1;
    }
    uri.get(at..at + 3)
        .filter(|s| *s == b"://")
        .map(|_| &uri[..at + 3])
}

/// Where the authority lies in `uri`: after the scheme (or from the start when the URI is
/// neither `*` nor a path), up to the first `/`, without user information.
pub(crate) fn authority(uri: &[u8]) -> Option<(usize, usize)> {
    if matches!(uri.first(), None | Some(b'*' | b'/')) {
        return None;
    }
    let mut start = scheme(uri).map_or(0, <[u8]>::len);
    let mut end = start;
    while end < uri.len() && uri[end] != b'/' {
        end += 1;
        if uri[end - 1] == b'@' {
            start = end;
        }
    }
    Some((start, end))
}

/// The port of `host[:port]`: the digits after the last colon (none when empty).
fn port(host: &[u8]) -> Option<&[u8]> {
    let digits = host.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let colon = host.len().checked_sub(digits + 1)?;
    (digits > 0 && colon > 0 && host[colon] == b':').then(|| &host[colon + 1..])
}

/// `host` without its port.
fn without_port(host: &[u8]) -> &[u8] {
    match port(host) {
        Some(p) => &host[..host.len() - p.len() - 1],
        None => host,
    }
}

/// Whether `port` is the default one of `scheme` (80 or 443 when there is no scheme).
fn is_default_port(scheme: Option<&[u8]>, port: &[u8]) -> bool {
    match scheme {
        None => port == b"80" || port == b"443",
        Some(s) if s.eq_ignore_ascii_case(b"http://") => port == b"80",
        Some(s) if s.eq_ignore_ascii_case(b"https://") => port == b"443",
        Some(_) => false,
    }
}

/// Checks a non-CONNECT URI authority against Host.
pub(crate) fn check_authority(uri: &[u8], host: &[u8]) -> Result<(), HeadError> {
    let Some((a, b)) = authority(uri) else {
        return Ok(());
    };
    let auth = &uri[a..b];
    if auth.is_empty() || auth.eq_ignore_ascii_case(host) {
        return Ok(());
    }
    let scheme = scheme(uri).ok_or(HeadError::Authority)?;
    let (uri_port, host_port) = (port(auth), port(host));
    let ok = match (uri_port, host_port) {
        (None, None) => false,
        (Some(p), _) if !is_default_port(Some(scheme), p) => false,
        (_, Some(p)) if !is_default_port(Some(scheme), p) => false,
        _ => without_port(auth).eq_ignore_ascii_case(without_port(host)),
    };
    ok.then_some(()).ok_or(HeadError::Authority)
}

/// Checks a CONNECT target (`host:port`) and Host; returns Host without its port when the
/// port is a default one (haproxy normalizes it).
pub(crate) fn check_connect<'h>(
    uri: &[u8],
    host: Option<&'h [u8]>,
) -> Result<Option<&'h [u8]>, HeadError> {
    let (a, b) = authority(uri).ok_or(HeadError::Authority)?;
    let auth = &uri[a..b];
    let uri_port = port(auth).ok_or(HeadError::Authority)?;
    let Some(host) = host else {
        return Ok(None);
    };
    let same_host = without_port(host).eq_ignore_ascii_case(without_port(auth));
    match port(host) {
        Some(p) if same_host && p == uri_port => {
            Ok(is_default_port(None, uri_port).then(|| without_port(host)))
        }
        None if same_host && is_default_port(None, uri_port) => Ok(None),
        _ => Err(HeadError::Authority),
    }
}

/// For an absolute URI with the default port of its scheme: the URI without the port, and
/// Host without its port when that is a default one too.
pub(crate) fn normalize_default_port(
    uri: &[u8],
    host: Option<&[u8]>,
) -> Option<(Vec<u8>, Option<usize>)> {
    let scheme = scheme(uri)?;
    let (a, b) = authority(uri)?;
    let p = port(&uri[a..b])?;
    if !is_default_port(Some(scheme), p) {
        return None;
    }
    let colon = b - p.len() - 1;
    let mut out = Vec::with_capacity(uri.len());
    out.extend_from_slice(&uri[..colon]);
    out.extend_from_slice(&uri[b..]);
    let host_len = host.and_then(|h| {
        port(h)
            .filter(|hp| is_default_port(Some(scheme), hp))
            .map(|hp| h.len() - hp.len() - 1)
    });
    Some((out, host_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_forms() {
        fn auth(u: &str) -> Option<&str> {
            authority(u.as_bytes()).map(|(a, b)| &u[a..b])
        }
        assert_eq!(auth("http://u@a:80/x"), Some("a:80"));
        assert_eq!(auth("/x"), None);
        assert_eq!(auth("*"), None);
        assert_eq!(auth("a/b"), Some("a"));
        assert_eq!(auth("http:x"), Some("http:x"));
        assert_eq!(auth("http://a?x"), Some("a?x"));
        assert_eq!(auth("http://"), Some(""));
    }

    #[test]
    fn authority_against_host() {
        let check = |u: &str, h: &str| check_authority(u.as_bytes(), h.as_bytes()).is_ok();
        assert!(check("http://a/x", "a"));
        assert!(check("http://a:80/x", "a"));
        assert!(check("http://a/x", "A:80"));
        assert!(check("a/b", "a"));
        assert!(!check("http://b/x", "a"));
        assert!(!check("http://a:8080/x", "a"));
        assert!(!check("ftp://b/x", "a"));
        assert!(!check("x", "a"));
        assert!(!check("1://a/x", "a"));
    }

    #[test]
    fn connect_targets() {
        assert_eq!(check_connect(b"a:443", Some(b"a:443")), Ok(Some(&b"a"[..])));
        assert_eq!(check_connect(b"a:443", Some(b"a")), Ok(None));
        assert_eq!(check_connect(b"a:8443", Some(b"a:8443")), Ok(None));
        assert_eq!(check_connect(b"a:443", None), Ok(None));
        assert_eq!(check_connect(b"a", None), Err(HeadError::Authority));
        assert_eq!(
            check_connect(b"a:8443", Some(b"a")),
            Err(HeadError::Authority)
        );
    }

    #[test]
    fn default_port_normalization() {
        let (uri, host) =
            normalize_default_port(b"http://a:80/x", Some(b"a:80")).expect("default port");
        assert_eq!((uri.as_slice(), host), (&b"http://a/x"[..], Some(1)));
        let (uri, host) =
            normalize_default_port(b"https://[::1]:443", Some(b"[::1]")).expect("default port");
        assert_eq!((uri.as_slice(), host), (&b"https://[::1]"[..], None));
        assert!(normalize_default_port(b"http://a/x", Some(b"a:80")).is_none());
        assert!(normalize_default_port(b"http://a:8080/x", None).is_none());
    }
}
