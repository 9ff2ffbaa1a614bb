//! The request line: `method SP request-target SP HTTP-version`.
//!
//! The first line of a request is checked on its own, against its own
//! grammar (RFC 9112 §3): the method is a token, the target one of four
//! forms, the version `HTTP/1.x`. It is borrowed from the line; the parser
//! copies its parts into the request's text.
#![forbid(unsafe_code)]

use std::ops::Range;

use super::Version;
use crate::http::error::ParseError;
use crate::http::grammar::{HOST_CHAR, SCHEME_CHAR, TARGET_CHAR, TCHAR, count_while};
use crate::http::uri;

/// The three parts of a request line, borrowed from the line.
pub(super) struct RequestLine<'a> {
    pub(super) method: &'a [u8],
    pub(super) target: &'a [u8],
    pub(super) version: Version,
    /// For an absolute-form target, where its `host[:port]` is in it.
    pub(super) target_host: Option<Range<usize>>,
}

// ANCHOR: request_line
/// `method SP request-target SP HTTP-version` (RFC 9112 §3), with exactly one
/// SP between the parts and nothing after the version.
pub(super) fn parse_request_line(line: &[u8]) -> Result<RequestLine<'_>, ParseError> {
    let method_len = count_while(line, &TCHAR);
    if method_len == 0 || line.get(method_len) != Some(&b' ') {
        return Err(invalid_byte_error(
            line,
            method_len,
            ParseError::InvalidRequestLine,
        ));
    }
    let target_start = method_len + 1;
    let target_len = count_while(&line[target_start..], &TARGET_CHAR);
    let target_end = target_start + target_len;
    match line.get(target_end) {
        Some(b' ') if target_len > 0 => {}
        // No target (two spaces), or no version at all (HTTP/0.9 style).
        Some(b' ') | None => return Err(ParseError::InvalidRequestLine),
        Some(_) => {
            return Err(invalid_byte_error(
                line,
                target_end,
                ParseError::InvalidTarget,
            ));
        }
    }
    let version = parse_version(&line[target_end + 1..])?;
    let method = &line[..method_len];
    let target = &line[target_start..target_end];
    let target_host = check_target_form(method, target)?;
    Ok(RequestLine {
        method,
        target,
        version,
        target_host,
    })
}
// ANCHOR_END: request_line

// ANCHOR: version
/// `HTTP/` DIGIT `.` DIGIT, case-sensitive (RFC 9112 §2.3). 1.0 and 1.1 are
/// served; 1.2 to 1.9 are answered as 1.1 (same major version, RFC 9110
/// §6.2); other major versions get 505.
fn parse_version(text: &[u8]) -> Result<Version, ParseError> {
    match text {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Ok(Version::Http10),
                (b'1', _) => Ok(Version::Http11),
                _ => Err(ParseError::UnsupportedVersion),
            }
        }
        _ => Err(invalid_byte_error(text, 0, ParseError::InvalidVersion)),
    }
}
// ANCHOR_END: version

// ANCHOR: target_form
/// Which of the four target forms (RFC 9112 §3.2) the method may use. For
/// absolute-form, returns where the checked `host[:port]` is in the target.
fn check_target_form(method: &[u8], target: &[u8]) -> Result<Option<Range<usize>>, ParseError> {
    if method == b"CONNECT" {
        // A tunnel is not something a WSGI application can serve: refuse
        // the method itself (501), after checking the target's form.
        return Err(if is_authority_form(target) {
            ParseError::ConnectNotSupported
        } else {
            ParseError::AuthorityFormRequired
        });
    }
    match target {
        b"*" if method == b"OPTIONS" => Ok(None),
        b"*" => Err(ParseError::AsteriskFormNotAllowed),
        [b'/', ..] => Ok(None),
        _ if is_absolute_form(target) => absolute_form_host(target).map(Some),
        _ => Err(ParseError::InvalidTarget),
    }
}
// ANCHOR_END: target_form

/// Checks an absolute-form target's authority: it becomes the Host, so it
/// must be a valid `host[:port]`, without userinfo (RFC 9110 §4.2.4).
fn absolute_form_host(target: &[u8]) -> Result<Range<usize>, ParseError> {
    // The target is ASCII (`TARGET_CHAR`), so this cannot fail.
    let target = std::str::from_utf8(target).map_err(|_| ParseError::InvalidTarget)?;
    let authority = uri::absolute_authority(target).ok_or(ParseError::InvalidTarget)?;
    let checked = uri::parse_authority(authority).map_err(ParseError::InvalidAuthority)?;
    // The authority follows the first `://`; the Host value is its prefix.
    let start = target.find("://").ok_or(ParseError::InvalidTarget)? + 3;
    Ok(start..start + checked.host_and_port.len())
}

/// `scheme "://" ...`: an absolute-URI as HTTP proxies receive it.
fn is_absolute_form(target: &[u8]) -> bool {
    let scheme_len = count_while(target, &SCHEME_CHAR);
    scheme_len > 0 && target[0].is_ascii_alphabetic() && target[scheme_len..].starts_with(b"://")
}

/// `uri-host ":" port` (RFC 9112 §3.2.3).
fn is_authority_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&target[..colon], &target[colon + 1..]);
    !host.is_empty()
        && host.iter().all(|&b| HOST_CHAR[usize::from(b)])
        && (1..=5).contains(&port.len())
        && port.iter().all(u8::is_ascii_digit)
}

/// The error for the byte at `index`: a CR there is a bare CR.
fn invalid_byte_error(line: &[u8], index: usize, otherwise: ParseError) -> ParseError {
    if line[index.min(line.len())..].contains(&b'\r') {
        ParseError::BareCarriageReturn
    } else {
        otherwise
    }
}
