//! The hand-written HTTP/1.1 request parser.
//!
//! A [`RequestParser`] is fed whatever bytes the socket produced, in any
//! split, and answers with how many it consumed and one of four outcomes
//! ([`Status`]): it needs more bytes; the header section is complete and the
//! client waits for `100 Continue`; the request is complete; or the request
//! is malformed, with the status to answer it with.
//!
//! The parser reads the request line and the header fields one line at a
//! time. A complete line is parsed straight from the caller's slice; only an
//! incomplete line is copied, into a buffer that can never grow past
//! `max_header_size`. So every byte is looked at a constant number of times
//! (the parser is linear in its input, with no regex and no backtracking),
//! and feeding a request in one piece or byte by byte gives the same result.
//! Bodies are handed to the receivers of [`crate::http::receiver`].
//!
//! The parser is strict where a lenient parser has been exploited (request
//! smuggling, header injection, CVE-2019-16785/16786/16789/16792,
//! CVE-2022-24761, RUSTSEC-2020-0031): the book chapter "Parsing HTTP by
//! hand" goes through every rule with its RFC sentence.
//!
//! ```
//! use waitress::http::parser::{Limits, RequestParser, Status, Version};
//!
//! let mut parser = RequestParser::new(Limits::default());
//! let first = parser.received(b"GET /a%20b?x=1 HTTP/1.1\r\nHo");
//! assert_eq!(first.consumed, 27);
//! assert!(matches!(first.status, Status::NeedMore));
//!
//! let rest = parser.received(b"st: example.com\r\n\r\nGET /next HTTP/1.1\r\n");
//! assert_eq!(rest.consumed, 19); // the pipelined request is left alone
//! let Status::Complete(request) = rest.status else { panic!("not complete") };
//! assert_eq!(request.method(), "GET");
//! assert_eq!(request.target(), "/a%20b?x=1");
//! assert_eq!(request.version, Version::Http11);
//! assert_eq!(request.header("HOST"), Some("example.com"));
//! assert_eq!(request.path_info(), "/a b");
//! assert_eq!(request.query_string(), "x=1");
//! assert!(!request.close_after);
//! ```
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::{self, Write as _};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::io;
use std::ops::Range;

use crate::http::buffers::{OverflowableBuffer, extend_bounded};
use crate::http::error::HttpError;
use crate::http::fields::{KNOWN_FIELD_COUNT, known_field, known_field_index, known_field_name};
use crate::http::grammar::parse_decimal;
use crate::http::input::Input;
use crate::http::receiver::{ChunkedReceiver, FixedStreamReceiver};
use crate::http::uri;

// ANCHOR: limits
/// How much a request may make the server hold.
///
/// ```
/// let limits = waitress::http::parser::Limits::default();
/// assert_eq!(limits.max_header_size, 262_144);
/// assert_eq!(limits.max_body_size, 1_073_741_824);
/// assert_eq!(limits.inbuf_overflow, 524_288);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The request line plus the header section (leading empty lines and the
    /// final empty line included) must stay below this: 431, or 414 when the
    /// request line alone reaches it. The trailer section of a chunked body
    /// has the same limit, counted separately. (`max_request_header_size`;
    /// the parser never takes more than 512 MiB, whatever this says.)
    pub max_header_size: usize,
    /// A body of this many bytes or more is refused with 413: at once for a
    /// Content-Length, as it arrives for a chunked body. (`max_request_body_size`)
    pub max_body_size: u64,
    /// A body larger than this is spooled to a temporary file. (`inbuf_overflow`)
    pub inbuf_overflow: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_header_size: 262_144,
            max_body_size: 1_073_741_824,
            inbuf_overflow: 524_288,
        }
    }
}
// ANCHOR_END: limits

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

// ANCHOR: request
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
pub struct Request {
    /// The method, the target, the CGI names that are not common ones, and
    /// the field values (latin-1 read as characters), one after the other.
    text: String,
    method: Span,
    target: Span,
    /// One entry per field name, in order of first arrival.
    fields: Vec<HeaderField>,
    /// The version to serve and answer the request in.
    pub version: Version,
    /// The body, positioned at its start (`wsgi.input`).
    pub body: Input,
    /// Whether the client sent `Expect: 100-continue` with a body.
    pub expect_continue: bool,
    /// Whether the connection must close after the response.
    pub close_after: bool,
}

/// A range of a request's text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// A header field: where its name and its value are.
#[derive(Clone, Copy, Debug)]
struct HeaderField {
    name: FieldName,
    value: Span,
}

/// A CGI field name: one of the common ones, or a name in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldName {
    /// An index in the table of common names (`http::fields::known_field`): `HOST`,
    /// `USER_AGENT`, … cost nothing per request.
    Known(u8),
    /// Any other name, converted (`X-Foo` → `X_FOO`) into the text.
    Text(Span),
}
// ANCHOR_END: request

impl Span {
    /// `start..end`. The text is always shorter than 4 GiB (see
    /// `MAX_HEADER_SIZE`), so 32 bits are enough and a field takes 20 bytes.
    fn new(start: usize, end: usize) -> Span {
        debug_assert!(u32::try_from(end).is_ok());
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl Request {
    /// A request with nothing in it yet; allocates nothing.
    fn empty() -> Request {
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

/// What [`RequestParser::received`] made of the bytes it was given.
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

// ANCHOR: parse_error
/// Why a request was refused, with the status that says so.
///
/// ```
/// use waitress::http::error::HttpError;
/// use waitress::http::parser::ParseError;
///
/// let error = HttpError::from(ParseError::InvalidContentLength);
/// assert_eq!(error.status, 400);
/// assert_eq!(error.detail, "Content-Length is invalid");
/// assert_eq!(ParseError::UnsupportedVersion.status(), 505);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// 400: a LF not preceded by CR (CVE-2019-16785).
    BareLineFeed,
    /// 400: a CR not followed by LF (CVE-2019-16785).
    BareCarriageReturn,
    /// 400: the request line is not `method SP target SP version`.
    InvalidRequestLine,
    /// 400: the target holds a control character or a byte above 0x7E, or
    /// has none of the four forms.
    InvalidTarget,
    /// 400: an absolute-form target whose authority is not a valid
    /// `host[:port]` (RFC 9110 §4.2), and the reason.
    InvalidAuthority(uri::AuthorityError),
    /// 400: `*` is the target of a method other than OPTIONS.
    AsteriskFormNotAllowed,
    /// 400: CONNECT without an authority-form target (`host:port`).
    AuthorityFormRequired,
    /// 400: the version is not `HTTP/` DIGIT `.` DIGIT.
    InvalidVersion,
    /// 505: a major version other than 1.
    UnsupportedVersion,
    /// 501: CONNECT: this server cannot open tunnels.
    ConnectNotSupported,
    /// 414: the request line alone reaches `max_header_size`.
    RequestLineTooLong {
        /// `max_header_size`.
        limit: usize,
    },
    /// 431: the request line and header section reach `max_header_size`.
    HeaderSectionTooLarge {
        /// `max_header_size`.
        limit: usize,
    },
    /// 400: a header line without a colon, or a name that is not a token.
    InvalidHeaderName,
    /// 400: whitespace between a field name and its colon (RUSTSEC-2020-0031).
    WhitespaceBeforeColon,
    /// 400: a line starting with SP or HTAB (obs-fold, RFC 9112 §5.2).
    ObsoleteLineFolding,
    /// 400: a control character (other than HTAB) in a field value.
    InvalidHeaderValue,
    /// 400: an HTTP/1.1 request without Host (RFC 9112 §3.2).
    MissingHost,
    /// 400: Host, Content-Type (or a differing Content-Length) twice.
    DuplicateHeader(&'static str),
    /// 400: a Host value that is not `uri-host [":" port]`.
    InvalidHost,
    /// 400: a Content-Length that is not plain ASCII digits fitting a u64
    /// (CVE-2019-16792, CVE-2022-24761).
    InvalidContentLength,
    /// 413: the body reaches `max_body_size`.
    BodyTooLarge {
        /// `max_body_size`.
        limit: u64,
    },
    /// 400: Transfer-Encoding on an HTTP/1.0 request (RFC 9112 §6.1).
    TransferEncodingInHttp10,
    /// 501: a transfer coding other than chunked (CVE-2019-16786).
    UnsupportedTransferCoding,
    /// 400: chunked is not the last coding, appears twice, or the list is
    /// empty (RFC 9112 §6.3).
    InvalidTransferEncoding,
    /// 417: an Expect value other than `100-continue`.
    UnsupportedExpectation,
    /// 400: a chunk size that is not hex digits, or is followed by
    /// something other than CRLF, `;` or whitespace before `;`.
    InvalidChunkSize,
    /// 400: a chunk size of more than 16 hex digits (it could not fit in 64
    /// bits, RFC 9112 §7.1).
    ChunkSizeTooLarge,
    /// 400: a chunk extension outside the RFC 9112 §7.1.1 grammar.
    InvalidChunkExtension,
    /// 400: chunk extensions longer in total than
    /// [`crate::http::receiver::MAX_CHUNK_EXTENSIONS_SIZE`].
    ChunkExtensionsTooLarge,
    /// 400: chunk data not followed by exactly CRLF.
    ChunkNotTerminated,
    /// 431: the trailer section reaches `max_header_size`.
    TrailerSectionTooLarge {
        /// `max_header_size`.
        limit: usize,
    },
    /// 500: the body could not be stored (a temporary file failed).
    BodyStorage(String),
}

impl ParseError {
    /// The HTTP status that answers this error.
    pub fn status(&self) -> u16 {
        use ParseError::*;
        match self {
            RequestLineTooLong { .. } => 414,
            HeaderSectionTooLarge { .. } | TrailerSectionTooLarge { .. } => 431,
            BodyTooLarge { .. } => 413,
            UnsupportedVersion => 505,
            ConnectNotSupported | UnsupportedTransferCoding => 501,
            UnsupportedExpectation => 417,
            BodyStorage(_) => 500,
            _ => 400,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseError::*;
        match self {
            BareLineFeed | BareCarriageReturn => f.write_str("Bare CR or LF found in HTTP message"),
            InvalidRequestLine => f.write_str("Start line is invalid"),
            InvalidTarget => f.write_str("Request target is invalid"),
            InvalidAuthority(reason) => write!(f, "Request target authority is invalid: {reason}"),
            AsteriskFormNotAllowed => f.write_str("Target * is only allowed for OPTIONS"),
            AuthorityFormRequired => f.write_str("CONNECT requires a host:port target"),
            InvalidVersion => f.write_str("HTTP version is invalid"),
            UnsupportedVersion => f.write_str("Only HTTP/1.x is supported"),
            ConnectNotSupported => f.write_str("CONNECT is not supported"),
            RequestLineTooLong { limit } => write!(f, "request line exceeds max_header of {limit}"),
            HeaderSectionTooLarge { limit } => write!(f, "exceeds max_header of {limit}"),
            InvalidHeaderName => f.write_str("Invalid header"),
            WhitespaceBeforeColon => f.write_str("Invalid header: whitespace before colon"),
            ObsoleteLineFolding => f.write_str("Invalid header: obsolete line folding"),
            InvalidHeaderValue => f.write_str("Invalid header value"),
            MissingHost => f.write_str("Host header is missing"),
            DuplicateHeader(name) => write!(f, "Duplicate header: {name}"),
            InvalidHost => f.write_str("Host header is invalid"),
            InvalidContentLength => f.write_str("Content-Length is invalid"),
            BodyTooLarge { limit } => write!(f, "exceeds max_body of {limit}"),
            TransferEncodingInHttp10 => f.write_str("Transfer-Encoding is not allowed in HTTP/1.0"),
            UnsupportedTransferCoding => {
                f.write_str("Transfer-Encoding requested is not supported.")
            }
            InvalidTransferEncoding => f.write_str("Transfer-Encoding is invalid"),
            UnsupportedExpectation => f.write_str("Only Expect: 100-continue is supported"),
            InvalidChunkSize => f.write_str("Invalid chunk size"),
            ChunkSizeTooLarge => f.write_str("Chunk size is too large"),
            InvalidChunkExtension => f.write_str("Invalid chunk extension"),
            ChunkExtensionsTooLarge => f.write_str("Chunk extensions are too long"),
            ChunkNotTerminated => f.write_str("Chunk not properly terminated"),
            TrailerSectionTooLarge { limit } => write!(f, "trailers exceed max_header of {limit}"),
            BodyStorage(reason) => write!(f, "could not store the request body: {reason}"),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for HttpError {
    fn from(error: ParseError) -> HttpError {
        HttpError::new(error.status(), error.to_string())
    }
}

impl From<io::Error> for ParseError {
    fn from(error: io::Error) -> ParseError {
        ParseError::BodyStorage(error.to_string())
    }
}
// ANCHOR_END: parse_error

/// Where the parser is in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Skipping empty lines, then reading the request line.
    RequestLine,
    /// Reading header field lines until the empty line.
    Headers,
    /// The header section is done; a receiver reads the body.
    Body,
    /// Complete or failed: nothing more is consumed.
    Finished,
}

#[derive(Debug)]
enum BodyReceiver {
    Fixed(FixedStreamReceiver),
    Chunked(ChunkedReceiver),
}

/// Above this many uncommon field names, finding repeated ones goes through
/// a hash map instead of a linear scan, so that a header section of
/// thousands of tiny fields still parses in linear time.
const LINEAR_SCAN_FIELDS: usize = 16;

/// The field list is reserved at once for this many field lines; more make
/// it double as it grows.
const INITIAL_FIELD_CAPACITY: usize = 16;

/// A complete request gives back the part of its text's capacity it did
/// not use when that is more than this many bytes.
const UNUSED_TEXT_KEPT: usize = 4096;

/// The largest head the parser accepts, whatever the limits say. It keeps
/// offsets into a request's text within 32 bits: the text is at most about
/// 4.5 times the head (a latin-1 character takes two bytes, and a joined
/// value is copied once more).
const MAX_HEADER_SIZE: usize = 512 * 1024 * 1024;

/// The common fields that the parser itself interprets.
const HOST: u8 = known_field_index("HOST");
const CONTENT_TYPE: u8 = known_field_index("CONTENT_TYPE");
const CONTENT_LENGTH: u8 = known_field_index("CONTENT_LENGTH");
const TRANSFER_ENCODING: u8 = known_field_index("TRANSFER_ENCODING");
const CONNECTION: u8 = known_field_index("CONNECTION");
const EXPECT: u8 = known_field_index("EXPECT");

// ANCHOR: request_parser
/// An incremental HTTP/1.1 request parser for one request.
///
/// Feed it bytes with [`received`](RequestParser::received) until it reports
/// [`Status::Complete`] or [`Status::Error`]; after that it consumes nothing
/// more, and the channel makes a new parser for the next request, feeding it
/// the bytes this one did not consume.
///
/// ```
/// use waitress::http::parser::{Limits, ParseError, RequestParser, Status};
///
/// let mut parser = RequestParser::new(Limits::default());
/// let received = parser.received(b"GET / HTTP/1.1\nHost: x\r\n\r\n");
/// let Status::Error { error, .. } = received.status else { panic!() };
/// assert_eq!(error, ParseError::BareLineFeed);
/// ```
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    state: State,
    /// An incomplete line carried over from the previous call.
    partial_line: Vec<u8>,
    /// Bytes of the request line and header section seen so far.
    head_bytes: usize,
    version: Version,
    /// The request being built. Until the end of the head its text is in
    /// `text`, as bytes; it becomes the request's `String` once, at the end.
    request: Request,
    text: Vec<u8>,
    /// How many field lines have a name that is not a common one.
    uncommon_names: usize,
    /// Where each common name is in the request's fields, once the head is
    /// complete.
    known_fields: [Option<usize>; KNOWN_FIELD_COUNT],
    host_seen: bool,
    /// Where an absolute-form target's `host[:port]` is in the text: the
    /// Host value the request gets (RFC 9112 §3.2.2).
    target_host: Option<Span>,
    content_type_seen: bool,
    content_length: Option<u64>,
    body: Option<BodyReceiver>,
    continue_reported: bool,
}
// ANCHOR_END: request_parser

impl RequestParser {
    /// A parser for one request, with these limits. Allocates nothing.
    pub fn new(limits: Limits) -> RequestParser {
        let max_header_size = limits.max_header_size.min(MAX_HEADER_SIZE);
        RequestParser {
            limits: Limits {
                max_header_size,
                ..limits
            },
            state: State::RequestLine,
            partial_line: Vec::new(),
            head_bytes: 0,
            version: Version::Http10,
            request: Request::empty(),
            text: Vec::new(),
            uncommon_names: 0,
            known_fields: [None; KNOWN_FIELD_COUNT],
            host_seen: false,
            target_host: None,
            content_type_seen: false,
            content_length: None,
            body: None,
            continue_reported: false,
        }
    }

    /// The version an error response should use now: HTTP/1.0 until the
    /// request line has been understood, then the request's.
    pub fn response_version(&self) -> Version {
        self.version
    }

    /// How many bytes of memory the parser holds for raw input: an incomplete
    /// line of the head, the body while it is in memory, an incomplete
    /// trailer line. It stays below `max_header_size + inbuf_overflow`.
    /// (The parsed header fields are not counted: they are proportional to
    /// the header section, which `max_header_size` bounds.)
    pub fn buffered_capacity(&self) -> usize {
        let body = match &self.body {
            Some(BodyReceiver::Fixed(receiver)) => receiver.buffered_capacity(),
            Some(BodyReceiver::Chunked(receiver)) => receiver.buffered_capacity(),
            None => 0,
        };
        self.partial_line.capacity() + body
    }

    /// Whether the parser is still in the request line or header section
    /// (the server's `request_header_timeout` runs until it is not).
    pub fn is_reading_head(&self) -> bool {
        matches!(self.state, State::RequestLine | State::Headers)
    }

    /// Whether the parser has finished (complete or failed).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    // ANCHOR: received
    /// Consumes bytes of the request and says where it stands.
    ///
    /// Stops consuming at the end of the request, after an error, and right
    /// after the header section when it reports [`Status::ExpectContinue`].
    /// Once finished, it consumes nothing and reports [`Status::NeedMore`].
    pub fn received(&mut self, data: &[u8]) -> Received {
        let mut consumed = 0;
        if self.state == State::RequestLine && self.text.capacity() == 0 {
            // The head's text is hardly longer than the head: reserving for
            // the bytes at hand makes it one allocation when the head
            // arrives whole, the usual case. (`complete` gives back what a
            // body or pipelined requests after the head made too much.)
            let room = data.len().min(self.limits.max_header_size);
            self.text.reserve(room);
        }
        while matches!(self.state, State::RequestLine | State::Headers) {
            let rest = &data[consumed..];
            if rest.is_empty() {
                return Received {
                    consumed,
                    status: Status::NeedMore,
                };
            }
            let Some(line_end) = find_byte(rest, b'\n') else {
                // An incomplete line: keep it, but never more than the limit.
                consumed = data.len();
                self.head_bytes = self.head_bytes.saturating_add(rest.len());
                if let Err(error) = self.check_head_size() {
                    return self.fail(error, consumed);
                }
                let limit = self.limits.max_header_size;
                extend_bounded(&mut self.partial_line, rest, limit);
                return Received {
                    consumed,
                    status: Status::NeedMore,
                };
            };
            consumed += line_end + 1;
            self.head_bytes = self.head_bytes.saturating_add(line_end + 1);
            let result = self.check_head_size().and_then(|()| {
                if self.partial_line.is_empty() {
                    self.head_line(&rest[..line_end])
                } else {
                    let mut line = std::mem::take(&mut self.partial_line);
                    extend_bounded(&mut line, &rest[..line_end], self.limits.max_header_size);
                    let result = self.head_line(&line);
                    if self.state == State::Headers {
                        line.clear();
                        self.partial_line = line; // reuse its capacity
                    }
                    result
                }
            });
            if let Err(error) = result {
                return self.fail(error, consumed);
            }
        }
        if self.state == State::Body {
            if self.request.expect_continue && !self.continue_reported {
                self.continue_reported = true;
                return Received {
                    consumed,
                    status: Status::ExpectContinue,
                };
            }
            match self.receive_body(&data[consumed..]) {
                Ok((used, done)) => {
                    consumed += used;
                    if !done {
                        return Received {
                            consumed,
                            status: Status::NeedMore,
                        };
                    }
                }
                Err(error) => return self.fail(error, consumed),
            }
        }
        if self.state == State::Finished {
            return Received {
                consumed,
                status: Status::NeedMore,
            };
        }
        match self.complete() {
            Ok(request) => Received {
                consumed,
                status: Status::Complete(request),
            },
            Err(error) => self.fail(error, consumed),
        }
    }
    // ANCHOR_END: received

    fn fail(&mut self, error: ParseError, consumed: usize) -> Received {
        self.state = State::Finished;
        self.partial_line = Vec::new();
        self.body = None;
        Received {
            consumed,
            status: Status::Error {
                error,
                version: self.version,
            },
        }
    }

    // ANCHOR: head_size
    /// The request line plus header section must stay below the limit; while
    /// the request line is still being read, that is a 414.
    fn check_head_size(&self) -> Result<(), ParseError> {
        if self.head_bytes < self.limits.max_header_size {
            return Ok(());
        }
        let limit = self.limits.max_header_size;
        Err(match self.state {
            State::RequestLine => ParseError::RequestLineTooLong { limit },
            _ => ParseError::HeaderSectionTooLarge { limit },
        })
    }
    // ANCHOR_END: head_size

    // ANCHOR: head_line
    /// One line of the head, up to but not including its LF.
    fn head_line(&mut self, line_with_cr: &[u8]) -> Result<(), ParseError> {
        let Some(line) = line_with_cr.strip_suffix(b"\r") else {
            return Err(ParseError::BareLineFeed);
        };
        match (self.state, line.is_empty()) {
            // RFC 9112 §2.2: empty lines before the request line are ignored.
            (State::RequestLine, true) => Ok(()),
            (State::RequestLine, false) => {
                let request_line = parse_request_line(line)?;
                // Both are ASCII: the byte tables accept nothing else.
                self.request.method = self.push_text(request_line.method);
                self.request.target = self.push_text(request_line.target);
                let target_start = self.request.target.range().start;
                self.target_host = request_line
                    .target_host
                    .map(|host| Span::new(target_start + host.start, target_start + host.end));
                self.version = request_line.version;
                self.state = State::Headers;
                Ok(())
            }
            (_, true) => self.end_of_head(),
            (_, false) => {
                let field = parse_field_line(line)?;
                self.add_field(field)
            }
        }
    }
    // ANCHOR_END: head_line

    // ANCHOR: add_field
    /// Checks a field line's name and appends the line to the field list.
    /// Repeated names are found at the end of the head (`group_fields`).
    fn add_field(&mut self, field: Field<'_>) -> Result<(), ParseError> {
        let name = match known_field(field.name) {
            Some(known) => FieldName::Known(known),
            None => match self.push_cgi_name(field.name) {
                Some(name) => FieldName::Text(name),
                // `X_Foo` would become the same CGI name as `X-Foo`: drop it,
                // so a client cannot impersonate a header a proxy set
                // (Waitress 1.0).
                None => return Ok(()),
            },
        };
        match name {
            FieldName::Known(HOST) if self.host_seen => {
                return Err(ParseError::DuplicateHeader("Host"));
            }
            FieldName::Known(HOST) => self.host_seen = true,
            FieldName::Known(CONTENT_TYPE) if self.content_type_seen => {
                return Err(ParseError::DuplicateHeader("Content-Type"));
            }
            FieldName::Known(CONTENT_TYPE) => self.content_type_seen = true,
            FieldName::Known(CONTENT_LENGTH) => {
                let length = std::str::from_utf8(field.value)
                    .ok()
                    .and_then(parse_decimal)
                    .ok_or(ParseError::InvalidContentLength)?;
                match self.content_length {
                    // Identical repeats say the same thing (RFC 9110 §8.6).
                    Some(previous) if previous == length => return Ok(()),
                    Some(_) => return Err(ParseError::DuplicateHeader("Content-Length")),
                    None => self.content_length = Some(length),
                }
            }
            FieldName::Known(_) => {}
            FieldName::Text(_) => self.uncommon_names += 1,
        }
        let value = self.push_value(field.value, field.ascii);
        let fields = &mut self.request.fields;
        if fields.capacity() == 0 {
            fields.reserve_exact(INITIAL_FIELD_CAPACITY);
        }
        fields.push(HeaderField { name, value });
        Ok(())
    }
    // ANCHOR_END: add_field

    /// Appends bytes known to be ASCII to the text.
    fn push_text(&mut self, ascii: &[u8]) -> Span {
        let start = self.text.len();
        self.text.extend_from_slice(ascii);
        Span::new(start, self.text.len())
    }

    /// Appends a field name's CGI form to the text (`Content-Type` →
    /// `CONTENT_TYPE`; names are tokens, hence ASCII), unless the name has
    /// a `_`: then nothing, and `None`.
    fn push_cgi_name(&mut self, name: &[u8]) -> Option<Span> {
        let start = self.text.len();
        self.text.resize(start + name.len(), 0);
        let mut underscore = false;
        for (cgi, &sent) in self.text[start..].iter_mut().zip(name) {
            underscore |= sent == b'_';
            *cgi = match sent {
                b'-' => b'_',
                _ => sent.to_ascii_uppercase(),
            };
        }
        if underscore {
            self.text.truncate(start);
            return None;
        }
        Some(Span::new(start, self.text.len()))
    }

    /// Appends a field value to the text. Bytes above 0x7F (obs-text) stand
    /// for the latin-1 characters of the same number, two bytes in UTF-8.
    fn push_value(&mut self, value: &[u8], ascii: bool) -> Span {
        if ascii {
            return self.push_text(value);
        }
        let start = self.text.len();
        for &byte in value {
            let mut utf8 = [0; 4];
            let character = char::from(byte).encode_utf8(&mut utf8);
            self.text.extend_from_slice(character.as_bytes());
        }
        Span::new(start, self.text.len())
    }

    // ANCHOR: group_fields
    /// Files each field line under its name, in one pass at the end of the
    /// head: the first line of each name stays in the list, in arrival
    /// order, and later lines become repeats, joined to it once.
    fn group_fields(&mut self) {
        // Uncommon names are found with a scan of the fields kept so far
        // while they are few; a hash index keeps many of them linear.
        let mut index = (self.uncommon_names > LINEAR_SCAN_FIELDS)
            .then(|| FieldIndex::with_capacity(self.uncommon_names));
        let mut known_fields = [None; KNOWN_FIELD_COUNT];
        let mut repeats = Repeats::default();
        let (fields, text) = (&mut self.request.fields, &self.text);
        let mut kept = 0;
        for line in 0..fields.len() {
            let field = fields[line];
            let earlier = match field.name {
                FieldName::Known(known) => known_fields[usize::from(known)],
                FieldName::Text(span) => {
                    let name = &text[span.range()];
                    match &mut index {
                        Some(index) => index.find_or_insert(name, kept, &fields[..kept], text),
                        None => find_text_name(name, &fields[..kept], text),
                    }
                }
            };
            match earlier {
                Some(earlier) => repeats.add(earlier, field.value),
                None => {
                    if let FieldName::Known(known) = field.name {
                        known_fields[usize::from(known)] = Some(kept);
                    }
                    fields[kept] = field;
                    kept += 1;
                }
            }
        }
        fields.truncate(kept);
        self.known_fields = known_fields;
        repeats.join(fields, &mut self.text);
    }
    // ANCHOR_END: group_fields

    // ANCHOR: use_target_host
    /// RFC 9112 §3.2.2: *"When an origin server receives a request with an
    /// absolute-form of request-target, the origin server MUST ignore the
    /// received Host header field (if any) and instead use the host
    /// information of the request-target."* The Host field takes the
    /// target's `host[:port]` (a span of the text already: nothing is
    /// copied), so every later stage sees one Host. Without a Host field
    /// (HTTP/1.0) one is added, first, where clients put it.
    fn use_target_host(&mut self, value: Span) {
        let fields = &mut self.request.fields;
        match self.known_fields[usize::from(HOST)] {
            Some(index) => fields[index].value = value,
            None => {
                let name = FieldName::Known(HOST);
                fields.insert(0, HeaderField { name, value });
                for index in self.known_fields.iter_mut().flatten() {
                    *index += 1;
                }
                self.known_fields[usize::from(HOST)] = Some(0);
            }
        }
    }
    // ANCHOR_END: use_target_host

    /// The value of a common field, once the head is complete.
    fn header(&self, known: u8) -> Option<&str> {
        let field = self.request.fields[self.known_fields[usize::from(known)]?];
        Some(&self.request.text[field.value.range()])
    }

    // ANCHOR: end_of_head
    /// The header section is complete: join repeated fields, check what
    /// depends on several fields and decide how the body is framed
    /// (RFC 9112 §6.3).
    fn end_of_head(&mut self) -> Result<(), ParseError> {
        self.partial_line = Vec::new(); // the head is done: free its buffer
        self.group_fields();
        self.request.text = into_string(std::mem::take(&mut self.text));
        match self.header(HOST) {
            None if self.version == Version::Http11 => return Err(ParseError::MissingHost),
            Some(host) if !is_valid_host(host) => return Err(ParseError::InvalidHost),
            _ => {}
        }
        if let Some(target_host) = self.target_host {
            self.use_target_host(target_host);
        }

        let chunked = match self.header(TRANSFER_ENCODING) {
            Some(_) if self.version == Version::Http10 => {
                return Err(ParseError::TransferEncodingInHttp10);
            }
            Some(codings) => {
                check_transfer_codings(codings)?;
                true
            }
            None => false,
        };
        if chunked && self.content_length.is_some() {
            // Both framings: chunked wins, and a connection that carried an
            // ambiguous message is not reused (RFC 9112 §6.1).
            self.content_length = None;
            self.request.close_after = true;
        }

        let connection = self.header(CONNECTION).unwrap_or("");
        self.request.close_after |= match self.version {
            Version::Http11 => has_token(connection, "close"),
            Version::Http10 => {
                has_token(connection, "close") || !has_token(connection, "keep-alive")
            }
        };

        let expects_continue = match self.header(EXPECT).map(trim_whitespace) {
            None | Some("") => false,
            Some(value) if value.eq_ignore_ascii_case("100-continue") => {
                // RFC 9110 §10.1.1: ignore it from an HTTP/1.0 client.
                self.version == Version::Http11
            }
            Some(_) => return Err(ParseError::UnsupportedExpectation),
        };

        let limits = self.limits;
        self.body = if chunked {
            // The application sees the decoded body and its length (added
            // when it is complete), not the framing. (This moves fields:
            // `known_fields` is not used after it.)
            self.request.fields.retain(|field| {
                !matches!(
                    field.name,
                    FieldName::Known(TRANSFER_ENCODING | CONTENT_LENGTH)
                )
            });
            let buffer = OverflowableBuffer::new(limits.inbuf_overflow);
            Some(BodyReceiver::Chunked(ChunkedReceiver::new(buffer, &limits)))
        } else {
            match self.content_length {
                Some(length) if length >= limits.max_body_size && length > 0 => {
                    return Err(ParseError::BodyTooLarge {
                        limit: limits.max_body_size,
                    });
                }
                Some(length) if length > 0 => {
                    let buffer = OverflowableBuffer::new(limits.inbuf_overflow);
                    Some(BodyReceiver::Fixed(FixedStreamReceiver::new(
                        length, buffer,
                    )))
                }
                _ => None,
            }
        };
        // A bodiless request is answered at once, with or without Expect
        // (Waitress waits forever for a body here: its quirk Q5).
        self.request.expect_continue = expects_continue && self.body.is_some();
        self.state = State::Body;
        Ok(())
    }
    // ANCHOR_END: end_of_head

    /// Feeds body bytes to the receiver; returns how many it took and
    /// whether the body is complete.
    fn receive_body(&mut self, data: &[u8]) -> Result<(usize, bool), ParseError> {
        match &mut self.body {
            Some(BodyReceiver::Fixed(receiver)) => {
                let used = receiver.received(data)?;
                Ok((used, receiver.is_complete()))
            }
            Some(BodyReceiver::Chunked(receiver)) => {
                let used = receiver.received(data)?;
                Ok((used, receiver.is_complete()))
            }
            None => Ok((0, true)),
        }
    }

    fn complete(&mut self) -> Result<Request, ParseError> {
        self.state = State::Finished;
        let mut request = std::mem::replace(&mut self.request, Request::empty());
        request.version = self.version;
        request.body = match self.body.take() {
            None => Input::empty(),
            Some(BodyReceiver::Fixed(receiver)) => receiver.into_input()?,
            Some(BodyReceiver::Chunked(receiver)) => {
                let body = receiver.into_input()?;
                let start = request.text.len();
                // Writing to a `String` cannot fail.
                let _ = write!(request.text, "{}", body.len());
                let value = Span::new(start, request.text.len());
                let name = FieldName::Known(CONTENT_LENGTH);
                request.fields.push(HeaderField { name, value });
                body
            }
        };
        if request.text.capacity() - request.text.len() > UNUSED_TEXT_KEPT {
            // The bytes at hand held more than the head (a body, pipelined
            // requests): do not keep their room while the request waits.
            request.text.shrink_to_fit();
        }
        Ok(request)
    }
}

// ANCHOR: repeats
/// The later lines of repeated names, as `group_fields` finds them: for
/// each field, a list of its repeats in arrival order, so that its value is
/// joined once. Appending to the value at every repeat would copy the
/// growing value each time: quadratic for a thousand repeats of one name.
#[derive(Debug, Default)]
struct Repeats {
    /// Each repeat's value, and the next repeat of the same field.
    values: Vec<(Span, Option<usize>)>,
    /// For each field (by index) with repeats: its first and last repeat.
    lists: Vec<Option<(usize, usize)>>,
}

impl Repeats {
    /// Adds a repeat of the field at `field`.
    fn add(&mut self, field: usize, value: Span) {
        let repeat = self.values.len();
        self.values.push((value, None));
        if self.lists.len() <= field {
            self.lists.resize(field + 1, None);
        }
        match &mut self.lists[field] {
            Some((_, last)) => {
                self.values[*last].1 = Some(repeat);
                *last = repeat;
            }
            empty @ None => *empty = Some((repeat, repeat)),
        }
    }

    /// Gives each repeated field the value `first, second, …` (RFC 9110
    /// §5.3), written once at the end of the text.
    fn join(&self, fields: &mut [HeaderField], text: &mut Vec<u8>) {
        for (field, list) in fields.iter_mut().zip(&self.lists) {
            let Some((first, _)) = *list else {
                continue;
            };
            let start = text.len();
            text.extend_from_within(field.value.range());
            let mut next = Some(first);
            while let Some(repeat) = next {
                let (value, following) = self.values[repeat];
                text.extend_from_slice(b", ");
                text.extend_from_within(value.range());
                next = following;
            }
            field.value = Span::new(start, text.len());
        }
    }
}
// ANCHOR_END: repeats

/// The head's text as a `String`. It is UTF-8 by construction (ASCII, and
/// latin-1 characters `push_value` encoded), so this only checks it, once.
fn into_string(text: Vec<u8>) -> String {
    String::from_utf8(text)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// The index of the field whose name, in the text, is `name`.
fn find_text_name(name: &[u8], fields: &[HeaderField], text: &[u8]) -> Option<usize> {
    fields.iter().position(|field| match field.name {
        FieldName::Text(span) => &text[span.range()] == name,
        FieldName::Known(_) => false,
    })
}

/// Where the first field of each uncommon name is, for header sections with
/// many of them. Keys are the names' hashes under a per-index random key (so
/// a client cannot aim for collisions), which spares a copy of every name;
/// a hit is confirmed by comparing the names, and a collision falls back to
/// a linear scan.
#[derive(Debug)]
struct FieldIndex {
    hasher: RandomState,
    positions: HashMap<u64, usize, BuildHasherDefault<AlreadyHashed>>,
}

impl FieldIndex {
    /// An index for up to `names` names, allocated once.
    fn with_capacity(names: usize) -> FieldIndex {
        FieldIndex {
            hasher: RandomState::new(),
            positions: HashMap::with_capacity_and_hasher(names, Default::default()),
        }
    }

    /// The position of the field named `name` among `fields`; if there is
    /// none, `name` is recorded at `position`, where it is being added.
    fn find_or_insert(
        &mut self,
        name: &[u8],
        position: usize,
        fields: &[HeaderField],
        text: &[u8],
    ) -> Option<usize> {
        match self.positions.entry(self.hasher.hash_one(name)) {
            Entry::Vacant(vacant) => {
                vacant.insert(position);
                None
            }
            Entry::Occupied(occupied) => match fields[*occupied.get()].name {
                FieldName::Text(span) if &text[span.range()] == name => Some(*occupied.get()),
                _ => find_text_name(name, fields, text), // another name, same hash
            },
        }
    }
}

/// The keys of `FieldIndex` are random-keyed hashes already: hashing them
/// again would only cost time.
#[derive(Debug, Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The three parts of a request line, borrowed from the line.
struct RequestLine<'a> {
    method: &'a [u8],
    target: &'a [u8],
    version: Version,
    /// For an absolute-form target, where its `host[:port]` is in it.
    target_host: Option<Range<usize>>,
}

// ANCHOR: request_line
/// `method SP request-target SP HTTP-version` (RFC 9112 §3), with exactly one
/// SP between the parts and nothing after the version.
fn parse_request_line(line: &[u8]) -> Result<RequestLine<'_>, ParseError> {
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
// ANCHOR_END: target_form

/// The error for the byte at `index`: a CR there is a bare CR.
fn invalid_byte_error(line: &[u8], index: usize, otherwise: ParseError) -> ParseError {
    if line[index.min(line.len())..].contains(&b'\r') {
        ParseError::BareCarriageReturn
    } else {
        otherwise
    }
}

/// A header or trailer field line, checked and split.
pub(crate) struct Field<'a> {
    /// The name, a token.
    pub(crate) name: &'a [u8],
    /// The value without leading and trailing SP/HTAB.
    pub(crate) value: &'a [u8],
    /// Whether the value is all ASCII (else it is read as latin-1).
    pub(crate) ascii: bool,
}

// ANCHOR: field_line
/// `field-name ":" OWS field-value OWS` (RFC 9112 §5), CRLF already removed.
pub(crate) fn parse_field_line(line: &[u8]) -> Result<Field<'_>, ParseError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(ParseError::ObsoleteLineFolding);
    }
    let name_len = count_while(line, &TCHAR);
    match line.get(name_len) {
        Some(b':') if name_len > 0 => {}
        Some(b' ' | b'\t') if name_len > 0 => return Err(ParseError::WhitespaceBeforeColon),
        Some(b'\r') => return Err(ParseError::BareCarriageReturn),
        _ => return Err(ParseError::InvalidHeaderName),
    }
    let value = &line[name_len + 1..];
    let ascii = check_field_value(value)?;
    Ok(Field {
        name: &line[..name_len],
        value: trim_whitespace_bytes(value),
        ascii,
    })
}
// ANCHOR_END: field_line

// ANCHOR: field_value
/// Checks that every byte of a field value is HTAB, SP, VCHAR or obs-text;
/// returns whether all of them are ASCII.
///
/// Values are most of a header section, so this looks at eight bytes at a
/// time: `(x - 0x20…) & !x & 0x80…` is non-zero exactly when some byte is
/// below 0x20 (a control character, or an HTAB that is fine), and the same
/// trick on `x ^ 0x7f…` finds DEL. A word with either goes to the byte loop.
fn check_field_value(value: &[u8]) -> Result<bool, ParseError> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut all_bits = 0;
    let mut checked = 0;
    for chunk in value.chunks_exact(8) {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        let delete = (word ^ (ONES * 0x7f)).wrapping_sub(ONES) & !(word ^ (ONES * 0x7f)) & HIGHS;
        if below_space | delete != 0 {
            break;
        }
        all_bits |= word;
        checked += 8;
    }
    for &byte in &value[checked..] {
        if !FIELD_VALUE_CHAR[usize::from(byte)] {
            return Err(if byte == b'\r' {
                ParseError::BareCarriageReturn
            } else {
                ParseError::InvalidHeaderValue
            });
        }
        all_bits |= u64::from(byte);
    }
    Ok(all_bits & HIGHS == 0)
}
// ANCHOR_END: field_value

// ANCHOR: transfer_encoding
/// Checks a Transfer-Encoding list (all its field lines, joined): `chunked`
/// must be the last coding, exactly once, and no other coding is supported.
fn check_transfer_codings(codings: &str) -> Result<(), ParseError> {
    let mut chunked_count = 0;
    let mut other_coding = false;
    let mut last_is_chunked = false;
    for coding in codings.split(',').map(trim_whitespace) {
        if coding.is_empty() {
            continue; // RFC 9110 §5.6.1: empty list elements are ignored.
        }
        last_is_chunked = coding.eq_ignore_ascii_case("chunked");
        if last_is_chunked {
            chunked_count += 1;
        } else {
            other_coding = true;
        }
    }
    if chunked_count > 1 || (chunked_count == 1 && !last_is_chunked) {
        // The length cannot be determined reliably (RFC 9112 §6.3).
        Err(ParseError::InvalidTransferEncoding)
    } else if other_coding {
        Err(ParseError::UnsupportedTransferCoding)
    } else if chunked_count == 0 {
        Err(ParseError::InvalidTransferEncoding) // an empty list
    } else {
        Ok(())
    }
}
// ANCHOR_END: transfer_encoding

// ANCHOR: connection
/// Whether a comma-separated list (such as `Connection`) holds `token`,
/// compared case-insensitively.
fn has_token(list: &str, token: &str) -> bool {
    list.split(',')
        .any(|element| trim_whitespace(element).eq_ignore_ascii_case(token))
}
// ANCHOR_END: connection

/// A Host value: `uri-host [":" port]`, possibly empty (RFC 9110 §7.2).
fn is_valid_host(value: &str) -> bool {
    value.bytes().all(|b| HOST_CHAR[usize::from(b)])
}

/// Trims SP and HTAB only: never Unicode whitespace such as U+0085 or
/// U+00A0, which `str::trim` would remove (CVE-2019-16789).
fn trim_whitespace(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

fn trim_whitespace_bytes(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// How many leading bytes of `bytes` the table accepts.
///
/// Eight bytes at a time are looked up without a branch between them (`&`,
/// not `&&`): one test per eight bytes instead of one per byte.
fn count_while(bytes: &[u8], table: &[bool; 256]) -> usize {
    let mut count = 0;
    for chunk in bytes.chunks_exact(8) {
        if !chunk
            .iter()
            .fold(true, |all, &b| all & table[usize::from(b)])
        {
            break;
        }
        count += 8;
    }
    count
        + bytes[count..]
            .iter()
            .position(|&b| !table[usize::from(b)])
            .unwrap_or(bytes.len() - count)
}

// ANCHOR: find_byte
/// The index of the first `needle` in `haystack`, eight bytes at a time.
///
/// XOR turns matching bytes into zero bytes; `(x - 0x01…) & !x & 0x80…`
/// sets the high bit of the first zero byte (bits above it may be wrong,
/// but the lowest set bit is exact), so `trailing_zeros / 8` is its index.
pub(crate) fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(needle);
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        let zero_bytes = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero_bytes != 0 {
            return Some(offset + (zero_bytes.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    tail.iter().position(|&b| b == needle).map(|i| offset + i)
}
// ANCHOR_END: find_byte

// ANCHOR: tables
/// tchar (RFC 9110 §5.6.2): method and field names.
pub(crate) static TCHAR: [bool; 256] = byte_table(0);
/// Request-target bytes: visible ASCII, no SP, no CTL, nothing above 0x7E.
static TARGET_CHAR: [bool; 256] = byte_table(1);
/// field-value bytes: HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5).
pub(crate) static FIELD_VALUE_CHAR: [bool; 256] = byte_table(2);
/// URI scheme characters after the first letter (RFC 3986 §3.1).
static SCHEME_CHAR: [bool; 256] = byte_table(3);
/// uri-host and port characters: unreserved, pct-encoded, sub-delims, `:`,
/// and the brackets of an IP literal (RFC 3986 §3.2.2).
static HOST_CHAR: [bool; 256] = byte_table(4);

const fn byte_table(kind: u8) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let alphanumeric = b.is_ascii_alphanumeric();
        table[i] = match kind {
            0 => alphanumeric || is_in(b, b"!#$%&'*+-.^_`|~"),
            1 => b > 0x20 && b < 0x7f,
            2 => b == b'\t' || (b >= 0x20 && b != 0x7f),
            3 => alphanumeric || is_in(b, b"+-."),
            _ => alphanumeric || is_in(b, b"-._~%!$&'()*+,;=:[]"),
        };
        i += 1;
    }
    table
}

const fn is_in(byte: u8, set: &[u8]) -> bool {
    let mut i = 0;
    while i < set.len() {
        if set[i] == byte {
            return true;
        }
        i += 1;
    }
    false
}
// ANCHOR_END: tables

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::grammar::is_token_byte;

    #[test]
    fn find_byte_agrees_with_a_plain_search() {
        let haystack: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37)).collect();
        for needle in 0..=255u8 {
            for start in 0..20 {
                let expected = haystack[start..].iter().position(|&b| b == needle);
                assert_eq!(find_byte(&haystack[start..], needle), expected);
            }
        }
    }

    #[test]
    fn a_field_takes_twenty_bytes() {
        assert_eq!(std::mem::size_of::<HeaderField>(), 20);
    }

    #[test]
    fn count_while_agrees_with_a_plain_scan() {
        let bytes = b"Sec-Fetch-Mode: navigate\r\nX-Copy99-Upgrade-Insecure-Requests";
        for start in 0..bytes.len() {
            for end in start..=bytes.len() {
                let slice = &bytes[start..end];
                let expected = slice.iter().take_while(|&&b| TCHAR[usize::from(b)]).count();
                assert_eq!(count_while(slice, &TCHAR), expected);
            }
        }
    }

    #[test]
    fn tchar_table_matches_is_token_byte() {
        for b in 0..=255u8 {
            assert_eq!(TCHAR[usize::from(b)], is_token_byte(b), "byte {b}");
        }
    }

    #[test]
    fn transfer_coding_lists() {
        assert_eq!(check_transfer_codings("chunked"), Ok(()));
        assert_eq!(check_transfer_codings(" ,ChUnKeD "), Ok(()));
        assert_eq!(
            check_transfer_codings("gzip, chunked"),
            Err(ParseError::UnsupportedTransferCoding)
        );
        assert_eq!(
            check_transfer_codings("chunked, gzip"),
            Err(ParseError::InvalidTransferEncoding)
        );
        assert_eq!(
            check_transfer_codings("chunked, chunked"),
            Err(ParseError::InvalidTransferEncoding)
        );
        assert_eq!(
            check_transfer_codings(""),
            Err(ParseError::InvalidTransferEncoding)
        );
    }
}
