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
//! Bodies are handed to the body receivers (`http::receiver`, internal).
//!
//! The parser is strict where a lenient parser has been exploited (request
//! smuggling, header injection, CVE-2019-16785/16786/16789/16792,
//! CVE-2022-24761, RUSTSEC-2020-0031): the book chapter "Parsing HTTP by
//! hand" goes through every rule with its RFC sentence.
//!
//! | module | concern |
//! |---|---|
//! | this one | [`RequestParser`]: the state machine that reads lines |
//! | `request` | what it produces: [`Request`], [`Version`], [`Received`], [`Status`] |
//! | `request_line` | the request line's grammar |
//! | `field_list` | field lines into the request, repeats grouped |
//! | `end_of_head` | checks across fields and the body's framing |
//!
//! Below it, shared with the body receivers: `http::grammar` (byte tables,
//! the field line), `http::fields` (common names), [`Limits`] and
//! [`ParseError`].
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

mod end_of_head;
mod field_list;
mod request;
mod request_line;

// The public names of the parser, wherever they are defined.
pub use crate::http::error::ParseError;
pub use crate::http::limits::Limits;
pub use request::{Received, Request, Status, Version};

use std::fmt::Write as _;

use crate::http::buffers::extend_bounded;
use crate::http::fields::{KNOWN_FIELD_COUNT, known_field_index};
use crate::http::grammar::{find_byte, parse_field_line};
use crate::http::input::Input;
use crate::http::receiver::{ChunkedReceiver, FixedStreamReceiver};
use request::{FieldName, HeaderField, Span};
use request_line::parse_request_line;

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
// ANCHOR: request_parser
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

    /// Whether the request line read so far asks for `HEAD`: whatever the
    /// server answers, an error included, then carries no body (RFC 9110
    /// §9.3.2).
    ///
    /// ```
    /// use waitress::http::parser::{Limits, RequestParser};
    ///
    /// let mut parser = RequestParser::new(Limits::default());
    /// parser.received(b"HEAD / HTTP/1.1\r\nHost: x\r\nBad header\r\n\r\n");
    /// assert!(parser.is_head());
    /// ```
    pub fn is_head(&self) -> bool {
        // The request's text lives here until the request is complete.
        let method = self.text.get(self.request.method.range());
        method == Some(b"HEAD".as_slice())
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
            // ANCHOR: next_line
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
            // ANCHOR_END: next_line
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
