//! What the parser hands out: the [`Request`] with its [`Version`], and
//! the [`Received`] / [`Status`] answer of every call.
//!
//! A request keeps its start line and fields as ranges into one text, so
//! its shape (the private `Span`, `HeaderField`, `FieldName`) is shared with
//! the parser modules that fill it in.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt;

use crate::http::error::ParseError;
use crate::http::fields::known_field_name;
use crate::http::input::Input;
use crate::http::uri;

/// The protocol version a request is served (and answered) in.
///
/// ```
/// use waitress::http::parser::Version;
/// assert_eq!(Version::Http11.as_str(), "HTTP/1.1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0: the connection closes after the response unless the client
    /// asked for keep-alive.
    Http10,
    /// HTTP/1.1 (and HTTP/1.x with x > 1, which is answered as 1.1).
    Http11,
}

impl Version {
    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A complete request: the start line, the header fields keyed by their CGI
/// names, and the body.
///
/// The method, the target and the fields are kept in one text, with ranges
/// into it, so a request costs the same two allocations (the text and the
/// field list) however many fields it has.
///
/// ```
/// use waitress::http::parser::{Limits, RequestParser, Status};
///
/// let mut parser = RequestParser::new(Limits::default());
/// let wire = b"POST /f HTTP/1.0\r\nContent-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 2\r\n\r\nhi";
/// let Status::Complete(request) = parser.received(wire).status else { panic!() };
/// assert_eq!(request.method(), "POST");
/// assert_eq!(request.target(), "/f");
/// assert_eq!(request.header("CONTENT_TYPE"), Some("text/plain"));
/// assert_eq!(request.header("X_A"), Some("1, 2"));
/// let fields: Vec<(&str, &str)> = request.headers().collect();
/// assert_eq!(fields, [("CONTENT_TYPE", "text/plain"), ("X_A", "1, 2"), ("CONTENT_LENGTH", "2")]);
/// assert_eq!(request.body.len(), 2);
/// assert!(request.close_after); // HTTP/1.0 without keep-alive
/// ```
// ANCHOR: request
pub struct Request {
    /// The method, the target, the CGI names that are not common ones, and
    /// the field values (latin-1 read as characters), one after the other.
    pub(super) text: String,
    pub(super) method: Span,
    pub(super) target: Span,
    /// One entry per field name, in order of first arrival.
    pub(super) fields: Vec<HeaderField>,
    /// The version to serve and answer the request in.
    pub version: Version,
    /// The body, positioned at its start (`wsgi.input`).
    pub body: Input,
    /// Whether the client sent `Expect: 100-continue` with a body.
    pub expect_continue: bool,
    /// Whether the connection must close after the response.
    pub close_after: bool,
}
// ANCHOR_END: request

/// A range of a request's text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Span {
    start: u32,
    end: u32,
}

// ANCHOR: header_field
/// A header field: where its name and its value are.
#[derive(Clone, Copy, Debug)]
pub(super) struct HeaderField {
    pub(super) name: FieldName,
    pub(super) value: Span,
}

/// A CGI field name: one of the common ones, or a name in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FieldName {
    /// An index in the table of common names (`http::fields::known_field`): `HOST`,
    /// `USER_AGENT`, … cost nothing per request.
    Known(u8),
    /// Any other name, converted (`X-Foo` → `X_FOO`) into the text.
    Text(Span),
}
// ANCHOR_END: header_field

impl Span {
    /// `start..end`. The text is always shorter than 4 GiB (see
    /// `MAX_HEADER_SIZE`), so 32 bits are enough and a field takes 20 bytes.
    pub(super) fn new(start: usize, end: usize) -> Span {
        debug_assert!(u32::try_from(end).is_ok());
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub(super) fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl Request {
    /// A request with nothing in it yet; allocates nothing.
    pub(super) fn empty() -> Request {
        Request {
            text: String::new(),
            method: Span::default(),
            target: Span::default(),
            fields: Vec::new(),
            version: Version::Http10,
            body: Input::empty(),
            expect_continue: false,
            close_after: false,
        }
    }

    /// The method, a token, exactly as sent (`GET`, `PROPFIND`, …).
    pub fn method(&self) -> &str {
        &self.text[self.method.range()]
    }

    /// The request target exactly as sent (`REQUEST_URI`).
    pub fn target(&self) -> &str {
        &self.text[self.target.range()]
    }

    /// The value of a header field by CGI name (`"CONTENT_TYPE"`).
    pub fn header(&self, cgi_name: &str) -> Option<&str> {
        self.headers()
            .find(|&(name, _)| name == cgi_name)
            .map(|(_, value)| value)
    }

    /// The header fields as `(CGI name, value)`, in arrival order: names
    /// are like `HOST`, `CONTENT_TYPE`, `X_FOO`; names with `_` were
    /// dropped; repeated fields are joined with `", "` at the place of the
    /// first; values are latin-1 with SP/HTAB trimmed. A chunked request has
    /// no `TRANSFER_ENCODING` and a `CONTENT_LENGTH` of the decoded length.
    ///
    /// ```
    /// use waitress::http::parser::{Limits, RequestParser, Status};
    ///
    /// let mut parser = RequestParser::new(Limits::default());
    /// let wire = b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nX-N: \xe9\r\naccept: b\r\n\r\n";
    /// let Status::Complete(request) = parser.received(wire).status else { panic!() };
    /// let fields: Vec<(&str, &str)> = request.headers().collect();
    /// assert_eq!(fields, [("HOST", "h"), ("ACCEPT", "a, b"), ("X_N", "\u{e9}")]);
    /// ```
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|field| (self.name(field.name), &self.text[field.value.range()]))
    }

    /// The header fields as the gateway's `RequestInfo::headers` wants them:
    /// owned values, and common names as `&'static str`. This copies each
    /// value, so the server calls it on the worker thread, not the I/O one.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use waitress::http::parser::{Limits, RequestParser, Status};
    ///
    /// let mut parser = RequestParser::new(Limits::default());
    /// let wire = b"GET / HTTP/1.1\r\nHost: h\r\nX-Trace: 7\r\n\r\n";
    /// let Status::Complete(request) = parser.received(wire).status else { panic!() };
    /// let headers = request.to_cgi_headers();
    /// assert!(matches!(headers[0].0, Cow::Borrowed("HOST")));
    /// assert_eq!(headers[1], (Cow::Owned("X_TRACE".to_string()), "7".to_string()));
    /// ```
    pub fn to_cgi_headers(&self) -> Vec<(Cow<'static, str>, String)> {
        self.fields
            .iter()
            .map(|field| {
                let name = match field.name {
                    FieldName::Known(index) => Cow::Borrowed(known_field_name(index)),
                    FieldName::Text(span) => Cow::Owned(self.text[span.range()].to_string()),
                };
                (name, self.text[field.value.range()].to_string())
            })
            .collect()
    }

    /// `PATH_INFO`: the target's path, percent-decoded as bytes-as-latin-1.
    pub fn path_info(&self) -> String {
        uri::decode_path(uri::split_target(self.target()).0)
    }

    /// `QUERY_STRING`: the target's query, raw.
    pub fn query_string(&self) -> &str {
        uri::split_target(self.target()).1
    }

    fn name(&self, name: FieldName) -> &str {
        match name {
            FieldName::Known(index) => known_field_name(index),
            FieldName::Text(span) => &self.text[span.range()],
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method())
            .field("target", &self.target())
            .field("version", &self.version)
            .field("headers", &self.headers().collect::<Vec<_>>())
            .field("body", &self.body)
            .field("expect_continue", &self.expect_continue)
            .field("close_after", &self.close_after)
            .finish()
    }
}

/// What [`RequestParser::received`](super::RequestParser::received) made of the bytes it was given.
///
/// ```
/// use waitress::http::parser::{Limits, RequestParser, Status, Version};
///
/// let mut parser = RequestParser::new(Limits::default());
/// let received = parser.received(b"GET / HTTP/2.0\r\n\r\n");
/// let Status::Error { error, version } = received.status else { panic!() };
/// assert_eq!(error.status(), 505);
/// assert_eq!(version, Version::Http10); // the request line was not understood
/// ```
#[derive(Debug)]
pub struct Received {
    /// How many of the given bytes were consumed. Bytes after a complete
    /// request (a pipelined next request) are not. After an error the
    /// connection closes, so the count then means little: it covers at
    /// least the bytes of the header section, maybe not those of the body.
    pub consumed: usize,
    /// Where the request stands.
    pub status: Status,
}

/// Where a request stands after some bytes were fed to the parser.
///
/// ```
/// use waitress::http::parser::{Limits, RequestParser, Status};
///
/// let wire = b"PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
/// let mut parser = RequestParser::new(Limits::default());
/// let head = parser.received(wire);
/// assert!(matches!(head.status, Status::ExpectContinue)); // send "100 Continue" now
/// assert_eq!(head.consumed, wire.len());
/// assert!(matches!(parser.received(b"ab").status, Status::NeedMore));
/// assert!(matches!(parser.received(b"c").status, Status::Complete(_)));
/// ```
// ANCHOR: status
#[derive(Debug)]
pub enum Status {
    /// All bytes were consumed; the request needs more.
    NeedMore,
    /// The header section is complete, the request has a body, and the
    /// client sent `Expect: 100-continue`: the channel may send
    /// `HTTP/1.1 100 Continue` now, then keeps feeding the parser (starting
    /// with any bytes this call did not consume). Reported once.
    ExpectContinue,
    /// The request is complete.
    Complete(Request),
    /// The request is malformed or too large. Answer with the error's status
    /// in `version` (HTTP/1.0 when the request line was not understood) and
    /// close the connection.
    Error {
        /// What was wrong.
        error: ParseError,
        /// The version to write the error response in.
        version: Version,
    },
}
// ANCHOR_END: status

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_takes_twenty_bytes() {
        assert_eq!(std::mem::size_of::<HeaderField>(), 20);
    }
}
