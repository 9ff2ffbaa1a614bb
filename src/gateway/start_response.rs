//! PEP 3333's rules for `start_response`: [`ResponseStart`], the state that
//! both the server's `start_response` and the test client's delegate to, and
//! [`ResponseError`], the ways the rules can be broken.
//!
//! It is separate from the [`StartResponse`](super::StartResponse) trait
//! because the trait is the shape a middleware implements, while this is
//! the one place the checks live.
#![forbid(unsafe_code)]

use std::fmt;

use super::{AppError, Headers, is_field_char, is_token_byte, parse_decimal};

/// How `start_response` and `write` can be misused. Every one becomes a 500
/// when no header has been sent yet (Waitress raises `AssertionError` or
/// `ValueError` in the same places).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// `start_response` was called a second time without `exc_info`.
    StartedTwice,
    /// `write` was called, or the body returned, before `start_response`.
    NotStarted,
    /// The status is not three digits from 100 to 599, a space and a reason
    /// without control characters.
    InvalidStatus(String),
    /// A header name is not an HTTP token.
    InvalidHeaderName(String),
    /// A header value has a control character (CR and LF included: response
    /// splitting) or a character that latin-1 cannot carry.
    InvalidHeaderValue {
        /// The header's name.
        name: String,
        /// The offending value.
        value: String,
    },
    /// A hop-by-hop header (`Connection`, `Transfer-Encoding`, …): the server
    /// alone decides how a connection is framed and kept.
    HopByHopHeader(String),
    /// A `Content-Length` that is not a plain decimal number, or given twice.
    InvalidContentLength(String),
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::StartedTwice => {
                write!(
                    f,
                    "start_response was called a second time without exc_info"
                )
            }
            ResponseError::NotStarted => write!(f, "start_response was not called"),
            ResponseError::InvalidStatus(s) => write!(f, "invalid status {s:?}"),
            ResponseError::InvalidHeaderName(n) => write!(f, "invalid header name {n:?}"),
            ResponseError::InvalidHeaderValue { name, value } => {
                write!(f, "invalid value for header {name}: {value:?}")
            }
            ResponseError::HopByHopHeader(n) => {
                write!(
                    f,
                    "{n} is a hop-by-hop header, which an application may not set"
                )
            }
            ResponseError::InvalidContentLength(v) => write!(f, "invalid Content-Length {v:?}"),
        }
    }
}

impl std::error::Error for ResponseError {}

/// Hop-by-hop header names (RFC 9110 §7.6.1 and the `Proxy-*` family).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The state behind `start_response`, with PEP 3333's rules. The server's
/// `start_response` and the test client's both delegate to it, so an
/// application that passes its tests passes the server's checks.
///
/// The rules:
/// 1. The status is `NNN reason` with NNN from 100 to 599.
/// 2. Header names are tokens; values carry no control characters and only
///    latin-1 characters; hop-by-hop headers are refused; `Content-Length`
///    is a plain decimal number, given once.
/// 3. A second call needs `exc_info`; with it, before any header was sent,
///    the new status and headers replace the old; after, `exc_info` is
///    returned as the error.
/// 4. Headers are sent lazily: the caller marks them sent when the first
///    non-empty body bytes go out (or when the body ends).
///
/// ```
/// use waitress::gateway::{headers, ResponseStart};
///
/// let mut start = ResponseStart::default();
/// start.start_response("200 OK", headers(&[("Content-Length", "5")]), None).unwrap();
/// assert_eq!(start.content_length(), Some(5));
/// assert!(start.start_response("500 Oops", vec![], None).is_err());
/// ```
#[derive(Debug, Default)]
pub struct ResponseStart {
    status: Option<String>,
    status_code: u16,
    headers: Headers,
    content_length: Option<u64>,
    headers_sent: bool,
}

impl ResponseStart {
    // ANCHOR: start_response_rules
    /// Applies one call of `start_response`, checking every rule.
    pub fn start_response(
        &mut self,
        status: &str,
        headers: Headers,
        exc_info: Option<AppError>,
    ) -> Result<(), AppError> {
        match exc_info {
            Some(error) if self.headers_sent => return Err(error),
            Some(_) => {}
            None if self.status.is_some() => return Err(ResponseError::StartedTwice.into()),
            None => {}
        }
        let status_code = validate_status(status)?;
        let mut content_length = None;
        for (name, value) in &headers {
            validate_header(name, value)?;
            if name.eq_ignore_ascii_case("content-length") {
                if content_length.is_some() {
                    return Err(ResponseError::InvalidContentLength(value.clone()).into());
                }
                content_length = Some(
                    parse_decimal(value)
                        .ok_or_else(|| ResponseError::InvalidContentLength(value.clone()))?,
                );
            }
        }
        self.status = Some(status.to_string());
        self.status_code = status_code;
        self.headers = headers;
        self.content_length = content_length;
        Ok(())
    }
    // ANCHOR_END: start_response_rules

    /// Whether `start_response` has been called successfully.
    pub fn is_started(&self) -> bool {
        self.status.is_some()
    }

    /// The status as the application gave it, e.g. `"404 Not Found"`.
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// The numeric status code (0 before `start_response`).
    pub fn status_code(&self) -> u16 {
        self.status_code
    }

    /// The headers as the application gave them.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The application's `Content-Length`, if it gave one.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Whether the headers have gone out (after which they cannot change).
    pub fn headers_sent(&self) -> bool {
        self.headers_sent
    }

    /// Records that the headers have gone out. Fails if `start_response` was
    /// never called: there is nothing to send.
    pub fn mark_headers_sent(&mut self) -> Result<(), AppError> {
        if self.status.is_none() {
            return Err(ResponseError::NotStarted.into());
        }
        self.headers_sent = true;
        Ok(())
    }
}

/// `NNN reason`: three digits from 100 to 599, one space, a reason phrase of
/// visible characters, spaces and tabs (RFC 9112 §4; it may be empty).
fn validate_status(status: &str) -> Result<u16, ResponseError> {
    let invalid = || ResponseError::InvalidStatus(status.to_string());
    let bytes = status.as_bytes();
    if bytes.len() < 4 || bytes[3] != b' ' || !bytes[..3].iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let code = u16::from(bytes[0] - b'0') * 100
        + u16::from(bytes[1] - b'0') * 10
        + u16::from(bytes[2] - b'0');
    if !(100..=599).contains(&code) || !status[4..].chars().all(is_field_char) {
        return Err(invalid());
    }
    Ok(code)
}

fn validate_header(name: &str, value: &str) -> Result<(), ResponseError> {
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(ResponseError::InvalidHeaderName(name.to_string()));
    }
    if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return Err(ResponseError::HopByHopHeader(name.to_string()));
    }
    if !value.chars().all(is_field_char) {
        return Err(ResponseError::InvalidHeaderValue {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::headers;

    fn start(status: &str, hs: &[(&str, &str)]) -> Result<ResponseStart, AppError> {
        let mut state = ResponseStart::default();
        state.start_response(status, headers(hs), None)?;
        Ok(state)
    }

    fn response_error(result: Result<ResponseStart, AppError>) -> ResponseError {
        let error = result.expect_err("start_response should fail");
        error
            .downcast_ref::<ResponseError>()
            .expect("a ResponseError")
            .clone()
    }

    #[test]
    fn status_must_be_three_digits_a_space_and_a_reason() {
        for good in [
            "200 OK",
            "404 Not Found",
            "299 Whatever You Like",
            "204 ",
            "100 Continue",
        ] {
            assert!(start(good, &[]).is_ok(), "{good:?}");
        }
        for bad in [
            "200",
            "200OK",
            "2000 OK",
            "20 OK",
            "099 Low",
            "600 High",
            " 200 OK",
            "abc OK",
            "200 OK\r",
            "200 OK\n",
            "200 \u{0}",
        ] {
            assert_eq!(
                response_error(start(bad, &[])),
                ResponseError::InvalidStatus(bad.to_string()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn status_code_is_parsed() {
        assert_eq!(start("418 I'm a teapot", &[]).unwrap().status_code(), 418);
    }

    #[test]
    fn header_names_must_be_tokens() {
        for bad in ["", "a\r", "X Y", "X:Y", "caf\u{e9}", "a\n"] {
            assert_eq!(
                response_error(start("200 OK", &[(bad, "v")])),
                ResponseError::InvalidHeaderName(bad.to_string())
            );
        }
        assert!(start("200 OK", &[("X-!#$%&'*+.^_`|~", "v")]).is_ok());
    }

    #[test]
    fn header_values_refuse_control_characters_and_non_latin1() {
        for bad in ["\n", "a\rb", "a\u{0}b", "a\u{7f}", "a\u{b}b", "\u{20ac}"] {
            assert!(
                matches!(
                    response_error(start("200 OK", &[("X", bad)])),
                    ResponseError::InvalidHeaderValue { .. }
                ),
                "{bad:?}"
            );
        }
        assert!(start("200 OK", &[("X", "tab\tand caf\u{e9} \u{a0}")]).is_ok());
        assert!(start("200 OK", &[("X-Empty", "")]).is_ok());
    }

    #[test]
    fn hop_by_hop_headers_are_refused_in_any_case() {
        for name in [
            "Connection",
            "keep-alive",
            "Proxy-Authenticate",
            "PROXY-AUTHORIZATION",
            "TE",
            "Trailer",
            "Transfer-Encoding",
            "upgrade",
        ] {
            assert_eq!(
                response_error(start("200 OK", &[(name, "x")])),
                ResponseError::HopByHopHeader(name.to_string())
            );
        }
    }

    #[test]
    fn content_length_must_be_plain_digits_given_once() {
        assert_eq!(
            start("200 OK", &[("content-length", "0005")])
                .unwrap()
                .content_length(),
            Some(5)
        );
        for bad in [
            "abc",
            "+5",
            "-1",
            " 5",
            "5 ",
            "0x5",
            "",
            "99999999999999999999999",
        ] {
            assert_eq!(
                response_error(start("200 OK", &[("Content-Length", bad)])),
                ResponseError::InvalidContentLength(bad.to_string()),
                "{bad:?}"
            );
        }
        assert!(matches!(
            response_error(start(
                "200 OK",
                &[("Content-Length", "1"), ("Content-Length", "1")]
            )),
            ResponseError::InvalidContentLength(_)
        ));
    }

    #[test]
    fn a_second_call_without_exc_info_is_an_error() {
        let mut state = start("200 OK", &[]).unwrap();
        let error = state.start_response("500 Oops", vec![], None).unwrap_err();
        assert_eq!(error.downcast_ref(), Some(&ResponseError::StartedTwice));
        assert_eq!(state.status(), Some("200 OK"), "the first status stands");
    }

    #[test]
    fn exc_info_before_headers_are_sent_replaces_status_and_headers() {
        let mut state = start("200 OK", &[("X-Old", "1")]).unwrap();
        let exc_info: AppError = "database down".into();
        state
            .start_response(
                "503 Service Unavailable",
                headers(&[("Content-Length", "3")]),
                Some(exc_info),
            )
            .unwrap();
        assert_eq!(state.status(), Some("503 Service Unavailable"));
        assert_eq!(state.headers(), &headers(&[("Content-Length", "3")]));
        assert_eq!(state.content_length(), Some(3));
    }

    #[test]
    fn exc_info_after_headers_are_sent_is_returned_as_the_error() {
        let mut state = start("200 OK", &[]).unwrap();
        state.mark_headers_sent().unwrap();
        let error = state
            .start_response("500 Oops", vec![], Some("the original error".into()))
            .unwrap_err();
        assert_eq!(error.to_string(), "the original error");
        assert_eq!(state.status(), Some("200 OK"));
    }

    #[test]
    fn exc_info_on_the_first_call_is_allowed() {
        let mut state = ResponseStart::default();
        state
            .start_response("500 Oops", vec![], Some("boom".into()))
            .unwrap();
        assert_eq!(state.status_code(), 500);
    }

    #[test]
    fn an_invalid_second_call_with_exc_info_keeps_the_first_response() {
        let mut state = start("200 OK", &[]).unwrap();
        assert!(
            state
                .start_response("bad", vec![], Some("boom".into()))
                .is_err()
        );
        assert_eq!(state.status(), Some("200 OK"));
    }

    #[test]
    fn headers_cannot_be_marked_sent_before_start_response() {
        let mut state = ResponseStart::default();
        let error = state.mark_headers_sent().unwrap_err();
        assert_eq!(error.downcast_ref(), Some(&ResponseError::NotStarted));
    }
}
