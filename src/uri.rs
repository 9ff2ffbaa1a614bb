//! The request target: splitting it into path and query, and decoding the path.
//!
//! RFC 9112 §3.2 allows four forms of request-target: origin-form (`/a?b`),
//! absolute-form (`http://host/a?b`, sent to proxies), authority-form
//! (`host:443`, CONNECT only) and asterisk-form (`*`, OPTIONS only). The parser
//! checks which form is allowed for which method; this module only takes a
//! target apart the way WSGI's environ needs it:
//!
//! * `PATH_INFO` is the path, percent-decoded to bytes and those bytes read as
//!   latin-1 (PEP 3333's "bytes-as-latin-1" rule: `%C3%A4` becomes the two
//!   characters `\u{c3}\u{a4}`, which the application re-encodes to get the
//!   original UTF-8). A `%2F` becomes `/`; a malformed escape stays literal;
//!   `+` is not a space in a path.
//! * `QUERY_STRING` is the raw query, never decoded.
//! * A fragment (`#…`), which clients should not send, is dropped.
//!
//! ```
//! use waitress::uri::{decode_path, split_target};
//!
//! let (path, query) = split_target("/a%20b//c?x=1&y=%20#frag");
//! assert_eq!((path, query), ("/a%20b//c", "x=1&y=%20"));
//! assert_eq!(decode_path(path), "/a b//c");
//! assert_eq!(split_target("http://example.com:8080/p?q"), ("/p", "q"));
//! ```
#![forbid(unsafe_code)]

/// Splits a request target into its raw path and raw query.
///
/// The fragment is dropped. For absolute-form the scheme and authority are
/// dropped; asterisk-form gives the path `*`; authority-form (and anything
/// else that has no path) gives an empty path.
pub fn split_target(target: &str) -> (&str, &str) {
    let without_fragment = match target.find('#') {
        Some(hash) => &target[..hash],
        None => target,
    };
    let (before_query, query) = match without_fragment.find('?') {
        Some(mark) => (&without_fragment[..mark], &without_fragment[mark + 1..]),
        None => (without_fragment, ""),
    };
    let path = if before_query.starts_with('/') || before_query == "*" {
        before_query
    } else if let Some(after_scheme) = strip_scheme(before_query) {
        // absolute-form: the path starts at the first `/` after the authority.
        match after_scheme.find('/') {
            Some(slash) => &after_scheme[slash..],
            None => "",
        }
    } else {
        ""
    };
    (path, query)
}

/// `scheme "://"` at the start of `target` (RFC 3986 §3.1: a letter, then
/// letters, digits, `+`, `-` or `.`); returns what follows.
fn strip_scheme(target: &str) -> Option<&str> {
    let end = target.find("://")?;
    let scheme = &target.as_bytes()[..end];
    let valid = scheme.first()?.is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then(|| &target[end + 3..])
}

/// Percent-decodes a path to bytes and reads those bytes as latin-1, then
/// collapses a run of leading slashes to one (`//a//b` → `/a//b`), as
/// Waitress does so that `//evil.example` cannot pass for a network path.
pub fn decode_path(raw_path: &str) -> String {
    let bytes = raw_path.as_bytes();
    let mut decoded = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                decoded.push(char::from(high * 16 + low));
                i += 3;
                continue;
            }
        }
        decoded.push(char::from(byte));
        i += 1;
    }
    if decoded.starts_with("//") {
        let rest = decoded.trim_start_matches('/');
        decoded = format!("/{rest}");
    }
    decoded
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Reads bytes as latin-1: each byte becomes the character with that code.
///
/// ```
/// assert_eq!(waitress::uri::latin1_to_string(b"caf\xe9"), "café");
/// ```
pub fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_form_splits_path_and_raw_query() {
        assert_eq!(split_target("/a/b?c=d&e"), ("/a/b", "c=d&e"));
        assert_eq!(split_target("/"), ("/", ""));
        assert_eq!(split_target("/p?"), ("/p", ""));
        assert_eq!(split_target("/p?a?b"), ("/p", "a?b"));
    }

    #[test]
    fn fragments_are_dropped() {
        assert_eq!(split_target("/p#frag"), ("/p", ""));
        assert_eq!(split_target("/p?q=1#frag?x"), ("/p", "q=1"));
    }

    #[test]
    fn absolute_form_gives_only_the_path() {
        assert_eq!(
            split_target("http://other.example:8080/p/q?z=2"),
            ("/p/q", "z=2")
        );
        assert_eq!(split_target("http://example.com"), ("", ""));
        assert_eq!(split_target("https://h?x=1"), ("", "x=1"));
    }

    #[test]
    fn asterisk_authority_and_query_only_forms() {
        assert_eq!(split_target("*"), ("*", ""));
        assert_eq!(split_target("example.com:443"), ("", ""));
        assert_eq!(split_target("?a=1"), ("", "a=1"));
    }

    #[test]
    fn a_double_slash_path_is_a_path_not_an_authority() {
        assert_eq!(split_target("//a//b?x"), ("//a//b", "x"));
        assert_eq!(decode_path("//a//b"), "/a//b");
        assert_eq!(decode_path("///abc"), "/abc");
    }

    #[test]
    fn percent_decoding_is_bytes_as_latin1() {
        assert_eq!(decode_path("/a%20b"), "/a b");
        assert_eq!(decode_path("/%C3%A4%2F"), "/\u{c3}\u{a4}/");
        assert_eq!(decode_path("/a%C5%9B"), "/a\u{c5}\u{9b}");
        assert_eq!(decode_path("/a%00b"), "/a\u{0}b");
    }

    #[test]
    fn malformed_escapes_and_plus_stay_literal() {
        assert_eq!(decode_path("/a%zzb%4"), "/a%zzb%4");
        assert_eq!(decode_path("/a%"), "/a%");
        assert_eq!(decode_path("/a%4"), "/a%4");
        assert_eq!(decode_path("/a+b"), "/a+b");
    }

    #[test]
    fn encoded_leading_slashes_are_collapsed_too() {
        assert_eq!(decode_path("/%2F%2Fevil"), "/evil");
    }
}
