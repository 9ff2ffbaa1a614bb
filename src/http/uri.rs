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
//! * An absolute-form target's authority names the host the request is for
//!   (RFC 9112 §3.2.2): [`absolute_authority`] finds it and
//!   [`parse_authority`] checks it.
#![forbid(unsafe_code)]

use std::fmt;
use std::net::Ipv6Addr;

// ANCHOR: split_target
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
// ANCHOR_END: split_target

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

/// The authority of an absolute-form target: what follows `scheme://`, up
/// to the path, query or fragment. `None` for the other forms.
pub fn absolute_authority(target: &str) -> Option<&str> {
    let after_scheme = strip_scheme(target)?;
    let end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    Some(&after_scheme[..end])
}

/// An authority checked by [`parse_authority`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authority<'a> {
    /// The host: a reg-name or IPv4 address as sent, or an IPv6 literal with
    /// its brackets (`[2001:db8::1]`). This is `SERVER_NAME`.
    pub host: &'a str,
    /// The port, when one was given and is not empty.
    pub port: Option<u16>,
    /// `host[:port]` as sent, without the `:` of an empty port: the value
    /// that replaces the Host header. Always a prefix of the authority.
    pub host_and_port: &'a str,
}

/// What is wrong with an authority; the message says it to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorityError {
    /// `http:///x`, `http://:80/`: RFC 9110 §4.2.1 says a recipient MUST
    /// reject an http URI with an empty host.
    EmptyHost,
    /// `user@host`: RFC 9110 §4.2.4 forbids sending userinfo in an http(s)
    /// target and advises treating it as an error (it hides the real host).
    Userinfo,
    /// A byte that no reg-name or IP literal may hold, outside an IP literal.
    InvalidHostCharacter(u8),
    /// A `%` not followed by two hex digits.
    InvalidPercentEncoding,
    /// `[…]` that is not an IPv6 address (IPvFuture and zone identifiers
    /// included: nothing sends them to a server).
    InvalidIpLiteral,
    /// A port with something other than digits.
    InvalidPort,
    /// A port above 65535.
    PortOutOfRange,
}

impl fmt::Display for AuthorityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorityError::EmptyHost => f.write_str("the host is empty"),
            AuthorityError::Userinfo => f.write_str("userinfo is not allowed"),
            AuthorityError::InvalidHostCharacter(byte) => {
                write!(f, "invalid character {:?} in the host", char::from(*byte))
            }
            AuthorityError::InvalidPercentEncoding => {
                f.write_str("invalid percent-encoding in the host")
            }
            AuthorityError::InvalidIpLiteral => f.write_str("invalid IPv6 address literal"),
            AuthorityError::InvalidPort => f.write_str("the port is not a number"),
            AuthorityError::PortOutOfRange => f.write_str("the port is greater than 65535"),
        }
    }
}

impl std::error::Error for AuthorityError {}

// ANCHOR: parse_authority
/// Checks an authority as HTTP uses it: `uri-host [":" port]` (RFC 9110
/// §4.2.1, RFC 3986 §3.2), where the host is a reg-name (which covers IPv4
/// addresses) or a bracketed IPv6 address, and the port is digits up to
/// 65535. An empty port (`a:`) is allowed, as RFC 3986 allows it, and means
/// the scheme's default (RFC 3986 §6.2.3).
pub fn parse_authority(authority: &str) -> Result<Authority<'_>, AuthorityError> {
    if authority.contains('@') {
        return Err(AuthorityError::Userinfo);
    }
    let host_end = if authority.starts_with('[') {
        let close = authority
            .find(']')
            .ok_or(AuthorityError::InvalidIpLiteral)?;
        authority[1..close]
            .parse::<Ipv6Addr>()
            .map_err(|_| AuthorityError::InvalidIpLiteral)?;
        close + 1
    } else {
        check_reg_name(authority)?
    };
    let (host, rest) = authority.split_at(host_end);
    if host.is_empty() {
        return Err(AuthorityError::EmptyHost);
    }
    let port = match rest.as_bytes() {
        [] | [b':'] => None,
        [b':', digits @ ..] => Some(parse_port(digits)?),
        [other, ..] => return Err(AuthorityError::InvalidHostCharacter(*other)),
    };
    let host_and_port = if port.is_some() { authority } else { host };
    Ok(Authority {
        host,
        port,
        host_and_port,
    })
}
// ANCHOR_END: parse_authority

/// Checks a reg-name (`unreserved / pct-encoded / sub-delims`) up to the
/// first `:`; returns where it ends.
fn check_reg_name(authority: &str) -> Result<usize, AuthorityError> {
    let bytes = authority.as_bytes();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b':' => break,
            b'%' => {
                let escape = bytes.get(i + 1..i + 3);
                if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                    return Err(AuthorityError::InvalidPercentEncoding);
                }
                i += 3;
                continue;
            }
            _ if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&byte) => {}
            _ => return Err(AuthorityError::InvalidHostCharacter(byte)),
        }
        i += 1;
    }
    Ok(i)
}

/// `*DIGIT` (non-empty here), at most 65535; leading zeros are fine.
fn parse_port(digits: &[u8]) -> Result<u16, AuthorityError> {
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(AuthorityError::InvalidPort);
    }
    // Saturating: a thousand digits must not overflow, only be too large.
    let value = digits.iter().fold(0u32, |value, &digit| {
        value
            .saturating_mul(10)
            .saturating_add(u32::from(digit - b'0'))
    });
    u16::try_from(value).map_err(|_| AuthorityError::PortOutOfRange)
}

// ANCHOR: decode_path
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
// ANCHOR_END: decode_path

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
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
    fn authorities_split_into_host_and_port() {
        let parsed = parse_authority("a.example:8080").unwrap();
        assert_eq!(parsed.host, "a.example");
        assert_eq!(parsed.port, Some(8080));
        assert_eq!(parsed.host_and_port, "a.example:8080");
        assert_eq!(parse_authority("a:00080").unwrap().port, Some(80));
        assert_eq!(parse_authority("[::1]").unwrap().host, "[::1]");
        assert_eq!(parse_authority("[::1]:").unwrap().host_and_port, "[::1]");
        assert_eq!(
            parse_authority(&format!("a:{}", "9".repeat(1000))),
            Err(AuthorityError::PortOutOfRange)
        );
        assert_eq!(parse_authority("a:1:2"), Err(AuthorityError::InvalidPort));
        assert_eq!(
            parse_authority("a%"),
            Err(AuthorityError::InvalidPercentEncoding)
        );
        assert_eq!(parse_authority("[]"), Err(AuthorityError::InvalidIpLiteral));
        assert_eq!(parse_authority(""), Err(AuthorityError::EmptyHost));
        assert_eq!(parse_authority(":"), Err(AuthorityError::EmptyHost));
        assert_eq!(
            parse_authority("é"),
            Err(AuthorityError::InvalidHostCharacter(0xc3))
        );
    }

    #[test]
    fn encoded_leading_slashes_are_collapsed_too() {
        assert_eq!(decode_path("/%2F%2Fevil"), "/evil");
    }

    #[test]
    fn the_examples_in_the_docs_hold() {
        let (path, query) = split_target("/a%20b//c?x=1&y=%20#frag");
        assert_eq!((path, query), ("/a%20b//c", "x=1&y=%20"));
        assert_eq!(decode_path(path), "/a b//c");
        assert_eq!(split_target("http://example.com:8080/p?q"), ("/p", "q"));
        let authority = absolute_authority("http://example.com:8080/p?q").unwrap();
        assert_eq!(parse_authority(authority).unwrap().host, "example.com");

        assert_eq!(
            absolute_authority("http://a.example:8080/x"),
            Some("a.example:8080")
        );
        assert_eq!(absolute_authority("https://a?q#f"), Some("a"));
        assert_eq!(absolute_authority("http:///x"), Some(""));
        assert_eq!(absolute_authority("/x"), None);

        let authority = parse_authority("[2001:db8::1]:8080").unwrap();
        assert_eq!(
            (authority.host, authority.port),
            ("[2001:db8::1]", Some(8080))
        );
        assert_eq!(parse_authority("a:").unwrap().host_and_port, "a");
        assert_eq!(parse_authority("u@a"), Err(AuthorityError::Userinfo));
        assert_eq!(
            parse_authority("a:99999"),
            Err(AuthorityError::PortOutOfRange)
        );
    }
}
