//! The gateway interface: PEP 3333 (WSGI) in Rust.
//!
//! A WSGI application is a callable `app(environ, start_response)` that
//! returns an iterable of byte strings. This module keeps that shape one to
//! one, so that everything written about WSGI (and every middleware pattern)
//! carries over:
//!
//! | PEP 3333                               | here                                              |
//! |----------------------------------------|---------------------------------------------------|
//! | `app(environ, start_response)`         | [`Application::call`], or any `fn`/closure        |
//! | `environ` (a dict)                     | [`Environ`]: string keys plus typed `wsgi.*` values |
//! | `start_response(status, headers, exc_info=None)` | [`StartResponse::start_response`]       |
//! | the `write(data)` it returns           | [`StartResponse::write`]                          |
//! | the returned iterable, `close()`       | [`Body`], an `Iterator` of chunks; dropping it is `close()` |
//! | `wsgi.input`                           | [`Environ::input`]: an [`Input`] (`Read` + `BufRead`) |
//! | `wsgi.errors`                          | [`Environ::errors`]: an [`Errors`] (`Write`)      |
//! | `wsgi.file_wrapper(file, block_size)`  | [`Environ::file_wrapper`] / [`Body::file`]        |
//! | an exception                           | an `Err(AppError)`, or a panic                    |
//!
//! The smallest application:
//!
//! ```
//! use waitress::gateway::{headers, AppResult, Body, Environ, StartResponse};
//!
//! fn hello(_environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from("Hello, world!\n"))
//! }
//!
//! let response = waitress::gateway::testing::TestRequest::get("/").call(&hello).unwrap();
//! assert_eq!(response.status, "200 OK");
//! assert_eq!(response.text(), "Hello, world!\n");
//! ```
#![forbid(unsafe_code)]

pub mod testing;

use std::any::Any;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::logging::{Level, Logger};
// The protocol items the HTTP layer defines and the gateway uses.
use crate::http::fields::environ_key;
use crate::http::grammar::{is_token_byte, parse_decimal};
pub use crate::http::input::Input;

/// What an application returns when it fails: any error, boxed. `?` converts
/// every `std::error::Error` into it. The server answers it with a 500 when no
/// headers were sent yet, and closes the connection otherwise.
pub type AppError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What an application returns: the response body, or an error.
pub type AppResult = Result<Body, AppError>;

/// Response headers: `(name, value)` pairs in order, as PEP 3333's list of tuples.
pub type Headers = Vec<(String, String)>;

/// Builds [`Headers`] from string pairs.
///
/// ```
/// let h = waitress::gateway::headers(&[("Content-Type", "text/plain")]);
/// assert_eq!(h, vec![("Content-Type".to_string(), "text/plain".to_string())]);
/// ```
pub fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

// ANCHOR: application
/// A WSGI application: it receives the environ and a `start_response`, and
/// returns the response body.
///
/// Every `fn(&mut Environ, &mut dyn StartResponse) -> AppResult` is an
/// application, and so is a closure with those (annotated) argument types.
/// A middleware is a type that holds another application and implements this
/// trait itself (see `examples/middleware.rs`).
pub trait Application: Send + Sync + 'static {
    /// Handles one request.
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult;
}

impl<F> Application for F
where
    F: Fn(&mut Environ, &mut dyn StartResponse) -> AppResult + Send + Sync + 'static,
{
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        self(environ, start_response)
    }
}
// ANCHOR_END: application

// ANCHOR: start_response
/// PEP 3333's `start_response` callable and the `write` callable it returns.
///
/// The server's implementation (and the test client's) enforce PEP 3333's
/// rules, listed on [`ResponseStart`]. A middleware implements this trait to
/// see or change what the application it wraps starts.
pub trait StartResponse {
    /// Begins the response: a status such as `"200 OK"` and the headers.
    ///
    /// A second call is an error unless it carries `exc_info` (the error the
    /// application is handling) and no header was sent yet; then it replaces
    /// the status and headers. With `exc_info` after the headers were sent,
    /// the error is returned, so that `?` propagates it (PEP 3333: "re-raise").
    fn start_response(
        &mut self,
        status: &str,
        headers: Headers,
        exc_info: Option<AppError>,
    ) -> Result<(), AppError>;

    /// Writes body bytes imperatively (PEP 3333's `write`). New code should
    /// return a [`Body`] instead; `write` exists for applications that push.
    fn write(&mut self, data: &[u8]) -> Result<(), AppError>;
}
// ANCHOR_END: start_response

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

// ANCHOR: response_start
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
// ANCHOR_END: response_start

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

/// A character a field value may carry: HTAB, SP, VCHAR, or obs-text (which
/// latin-1 maps to U+0080..=U+00FF).
fn is_field_char(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{80}'..='\u{ff}')
}

/// One piece of a response body, or the error that cut it short.
pub type Chunk = Result<Vec<u8>, AppError>;

/// The block size `wsgi.file_wrapper` uses when none is given (Waitress's).
pub const DEFAULT_BLOCK_SIZE: usize = 32 * 1024;

// ANCHOR: body
/// A response body: PEP 3333's iterable of byte strings.
///
/// It is an `Iterator` of [`Chunk`]s, and dropping it is PEP 3333's `close()`
/// (an iterator that must release something implements `Drop`). Its shapes
/// matter to the server, which can frame a body whose size it knows with
/// `Content-Length` and keep the connection open:
///
/// * one buffer ([`Body::from`] a `Vec<u8>`, `String` or `&'static str`):
///   its length is known and it is sent as it is;
/// * a file ([`Body::file`], `wsgi.file_wrapper`): its length is known and
///   it is streamed from the file, not loaded whole;
/// * any other iterator ([`Body::from_chunks`]): its length is unknown,
///   unless it yields exactly one chunk (`size_hint` of exactly 1, PEP 3333's
///   `len(iterable) == 1`).
///
/// ```
/// use waitress::gateway::Body;
///
/// assert_eq!(Body::from("abc").content_length(), Some(3));
/// let chunks = Body::from_chunks(vec![b"ab".to_vec(), b"c".to_vec()]);
/// assert_eq!(chunks.content_length(), None);
/// let all: Vec<u8> = chunks.map(Result::unwrap).flatten().collect();
/// assert_eq!(all, b"abc");
/// ```
pub struct Body {
    kind: BodyKind,
}

pub(crate) enum BodyKind {
    Empty,
    Bytes(Cow<'static, [u8]>),
    Chunks(Box<dyn Iterator<Item = Chunk> + Send>),
    File(FileBody),
}
// ANCHOR_END: body

impl Body {
    /// A body with no bytes.
    pub fn empty() -> Body {
        Body {
            kind: BodyKind::Empty,
        }
    }

    /// A body of infallible chunks, e.g. a `Vec<Vec<u8>>` or a generator-like
    /// iterator. Its length is unknown unless it has exactly one chunk.
    pub fn from_chunks<I>(chunks: I) -> Body
    where
        I: IntoIterator<Item = Vec<u8>>,
        I::IntoIter: Send + 'static,
    {
        Body {
            kind: BodyKind::Chunks(Box::new(chunks.into_iter().map(Ok))),
        }
    }

    /// A body whose chunks may fail, like a Python generator that raises
    /// part-way: the server then closes the connection, so the client sees
    /// the response was cut short.
    pub fn from_fallible_chunks<I>(chunks: I) -> Body
    where
        I: IntoIterator<Item = Chunk>,
        I::IntoIter: Send + 'static,
    {
        Body {
            kind: BodyKind::Chunks(Box::new(chunks.into_iter())),
        }
    }

    /// `wsgi.file_wrapper` for a seekable file: the body is what remains from
    /// the file's current position, its length is known, and the server
    /// streams it in `block_size` pieces. Seek first to send a part (a Range).
    ///
    /// ```
    /// use std::io::Cursor;
    /// let body = waitress::gateway::Body::file(Cursor::new(vec![7u8; 100]), 16);
    /// assert_eq!(body.content_length(), Some(100));
    /// assert_eq!(body.count(), 7); // 6 blocks of 16 and one of 4
    /// ```
    pub fn file<F>(mut file: F, block_size: usize) -> Body
    where
        F: Read + Seek + Send + 'static,
    {
        let remaining = (|| {
            let position = file.stream_position()?;
            let end = file.seek(SeekFrom::End(0))?;
            file.seek(SeekFrom::Start(position))?;
            Ok::<u64, io::Error>(end.saturating_sub(position))
        })()
        .ok();
        Body {
            kind: BodyKind::File(FileBody {
                reader: Box::new(file),
                remaining,
                block_size: block_size.max(1),
            }),
        }
    }

    /// `wsgi.file_wrapper` for something that can only be read (a pipe, a
    /// decoder): streamed in `block_size` pieces, length unknown.
    pub fn reader<R>(reader: R, block_size: usize) -> Body
    where
        R: Read + Send + 'static,
    {
        Body {
            kind: BodyKind::File(FileBody {
                reader: Box::new(reader),
                remaining: None,
                block_size: block_size.max(1),
            }),
        }
    }

    /// The body's length, when known without reading it.
    pub fn content_length(&self) -> Option<u64> {
        match &self.kind {
            BodyKind::Empty => Some(0),
            BodyKind::Bytes(bytes) => Some(bytes.len() as u64),
            BodyKind::Chunks(_) => None,
            BodyKind::File(file) => file.remaining,
        }
    }

    /// The body's shape, for the server's fast paths.
    pub(crate) fn into_kind(self) -> BodyKind {
        self.kind
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = match &self.kind {
            BodyKind::Empty => "empty",
            BodyKind::Bytes(_) => "bytes",
            BodyKind::Chunks(_) => "chunks",
            BodyKind::File(_) => "file",
        };
        f.debug_struct("Body")
            .field("shape", &shape)
            .field("content_length", &self.content_length())
            .finish()
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body {
            kind: BodyKind::Bytes(Cow::Owned(bytes)),
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(text.into_bytes())
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::from(text.as_bytes())
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body {
            kind: BodyKind::Bytes(Cow::Borrowed(bytes)),
        }
    }
}

impl Iterator for Body {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        match &mut self.kind {
            BodyKind::Empty => None,
            BodyKind::Bytes(_) => match std::mem::replace(&mut self.kind, BodyKind::Empty) {
                BodyKind::Bytes(bytes) => Some(Ok(bytes.into_owned())),
                _ => None,
            },
            BodyKind::Chunks(chunks) => chunks.next(),
            BodyKind::File(file) => file
                .next_block()
                .transpose()
                .map(|r| r.map_err(AppError::from)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.kind {
            BodyKind::Empty => (0, Some(0)),
            BodyKind::Bytes(_) => (1, Some(1)),
            BodyKind::Chunks(chunks) => chunks.size_hint(),
            BodyKind::File(_) => (0, None),
        }
    }
}

/// The body `wsgi.file_wrapper` makes: a reader, how much of it to send (when
/// known), and the block size to read it in.
pub(crate) struct FileBody {
    reader: Box<dyn Read + Send>,
    remaining: Option<u64>,
    block_size: usize,
}

impl FileBody {
    /// The reader and how many bytes of it to send, when that is known.
    pub(crate) fn into_reader(self) -> (Box<dyn Read + Send>, Option<u64>) {
        (self.reader, self.remaining)
    }

    /// The next block; `None` at the end (or when `remaining` is used up).
    pub(crate) fn next_block(&mut self) -> io::Result<Option<Vec<u8>>> {
        let want = match self.remaining {
            Some(0) => return Ok(None),
            Some(remaining) => self
                .block_size
                .min(usize::try_from(remaining).unwrap_or(usize::MAX)),
            None => self.block_size,
        };
        let mut block = vec![0; want];
        let read = loop {
            match self.reader.read(&mut block) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if read == 0 {
            self.remaining = Some(0);
            return Ok(None);
        }
        block.truncate(read);
        if let Some(remaining) = &mut self.remaining {
            *remaining -= read as u64;
        }
        Ok(Some(block))
    }
}

/// `wsgi.errors`: a `Write` whose lines go to the server's log at the error
/// level, under the target `wsgi.errors`. A partial line is written when the
/// handle is flushed or dropped.
///
/// ```
/// use std::io::Write;
/// use waitress::logging::{Level, Logger};
/// use waitress::gateway::Errors;
///
/// let (logger, log) = Logger::memory(Level::Info);
/// let mut errors = Errors::new(logger);
/// writeln!(errors, "cache miss for {}", "/a").unwrap();
/// assert!(log.contents().contains("ERROR [wsgi.errors] cache miss for /a"));
/// ```
#[derive(Debug)]
pub struct Errors {
    logger: Logger,
    pending: Vec<u8>,
}

impl Errors {
    /// Errors that go to `logger`.
    pub fn new(logger: Logger) -> Errors {
        Errors {
            logger,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        self.logger.log(
            Level::Error,
            "wsgi.errors",
            format_args!("{}", text.trim_end_matches('\r')),
        );
    }
}

impl Write for Errors {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(data);
        while let Some(newline) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=newline).collect();
            self.emit(&line[..line.len() - 1]);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line);
        }
        Ok(())
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// `waitress.client_disconnected`: a flag the server sets when the client of
/// a request has gone away, so that a long-running application can stop.
///
/// ```
/// use waitress::gateway::ClientDisconnected;
/// let flag = ClientDisconnected::new();
/// let seen_by_app = flag.clone();
/// assert!(!seen_by_app.is_disconnected());
/// flag.mark_disconnected();
/// assert!(seen_by_app.is_disconnected());
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientDisconnected(Arc<AtomicBool>);

impl ClientDisconnected {
    /// A flag for a client that is still connected.
    pub fn new() -> ClientDisconnected {
        ClientDisconnected::default()
    }

    /// Whether the client has gone away.
    pub fn is_disconnected(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Records that the client has gone away (the server calls this).
    pub fn mark_disconnected(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// What the server knows of one request when it builds the environ: the
/// parsed request line and headers, the received body, and the connection's
/// and server's facts. [`Environ::from_request`] turns it into the environ.
#[derive(Debug)]
pub struct RequestInfo {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request-target exactly as sent.
    pub target: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub protocol: String,
    /// Header fields under their CGI names without `HTTP_` (`HOST`,
    /// `CONTENT_TYPE`, `X_FOO`), repeats already joined with `", "`.
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The body, fully received.
    pub body: Input,
    /// The client's address (no brackets for IPv6; `localhost` on a Unix socket).
    pub remote_addr: String,
    /// The client's port (`""` on a Unix socket).
    pub remote_port: String,
    /// `SERVER_NAME`: the `server_name` adjustment. An absolute-form
    /// target's host takes its place (see [`Environ::from_request`]).
    pub server_name: String,
    /// `SERVER_PORT`: the port the request came in on (the socket path on a Unix socket).
    pub server_port: String,
    /// `wsgi.url_scheme`: the `url_scheme` adjustment.
    pub url_scheme: String,
    /// `SCRIPT_NAME`: the `url_prefix` adjustment (`""` or `/something`).
    pub url_prefix: String,
    /// `SERVER_SOFTWARE`: the `ident` adjustment; the key is absent when `None`.
    pub ident: Option<String>,
}

impl Default for RequestInfo {
    fn default() -> RequestInfo {
        RequestInfo {
            method: "GET".to_string(),
            target: "/".to_string(),
            protocol: "HTTP/1.1".to_string(),
            headers: Vec::new(),
            body: Input::empty(),
            remote_addr: "127.0.0.1".to_string(),
            remote_port: "0".to_string(),
            server_name: "waitress.invalid".to_string(),
            server_port: "8080".to_string(),
            url_scheme: "http".to_string(),
            url_prefix: String::new(),
            ident: Some("waitress".to_string()),
        }
    }
}

// ANCHOR: environ
/// The WSGI environ: CGI variables and `HTTP_*` headers as string keys, plus
/// the typed `wsgi.*` values.
///
/// Middleware reads and adds keys as it does in Python:
///
/// ```
/// use waitress::gateway::Environ;
///
/// let mut environ = Environ::new();
/// environ.insert("REQUEST_METHOD", "GET");
/// environ.insert("myapp.user", "alice");
/// assert_eq!(environ.get("myapp.user"), Some("alice"));
/// environ.insert_object("myapp.session", vec![1u32, 2, 3]);
/// assert_eq!(environ.object::<Vec<u32>>("myapp.session"), Some(&vec![1, 2, 3]));
/// ```
pub struct Environ {
    /// CGI keys are `'static` text: borrowed, not allocated per request.
    vars: BTreeMap<Cow<'static, str>, String>,
    objects: HashMap<String, Box<dyn Any + Send>>,
    input: Input,
    errors: Errors,
    client_disconnected: ClientDisconnected,
}
// ANCHOR_END: environ

impl Default for Environ {
    fn default() -> Environ {
        Environ::new()
    }
}

impl fmt::Debug for Environ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environ")
            .field("vars", &self.vars)
            .field("objects", &self.objects.keys().collect::<Vec<_>>())
            .field("input", &self.input)
            .finish_non_exhaustive()
    }
}

impl Environ {
    /// An environ with only `wsgi.url_scheme` (`http`), an empty body and
    /// errors to standard error. Servers build theirs with
    /// [`Environ::from_request`]; this is for tests and tools.
    pub fn new() -> Environ {
        let mut vars = BTreeMap::new();
        vars.insert(Cow::Borrowed("wsgi.url_scheme"), "http".to_string());
        Environ {
            vars,
            objects: HashMap::new(),
            input: Input::empty(),
            errors: Errors::new(Logger::default()),
            client_disconnected: ClientDisconnected::new(),
        }
    }

    // ANCHOR: from_request
    /// Builds the environ for a request, with every key PEP 3333 and CGI
    /// define and Waitress sets.
    ///
    /// `SERVER_NAME` is the `server_name` adjustment, as in Waitress, unless
    /// the target is in absolute form: then the client named the host it
    /// wants, and RFC 9112 §3.2.2 says to use it, so `SERVER_NAME` is the
    /// target's host (the parser has made it the Host as well).
    /// `SERVER_PORT` stays the port the request came in on (RFC 3875
    /// §4.1.15); the port the client named is in `HTTP_HOST`.
    ///
    /// ```
    /// use waitress::logging::Logger;
    /// use waitress::gateway::{ClientDisconnected, Environ, RequestInfo};
    ///
    /// let info = RequestInfo { target: "http://a.example:81/x".into(), ..RequestInfo::default() };
    /// let environ = Environ::from_request(info, Logger::default(), ClientDisconnected::new());
    /// assert_eq!(environ.get("SERVER_NAME"), Some("a.example"));
    /// assert_eq!(environ.get("SERVER_PORT"), Some("8080"));
    /// ```
    pub fn from_request(
        request: RequestInfo,
        errors: Logger,
        client_disconnected: ClientDisconnected,
    ) -> Environ {
        let (raw_path, query) = crate::http::uri::split_target(&request.target);
        let mut path_info = crate::http::uri::decode_path(raw_path);
        let prefix = request.url_prefix;
        if !prefix.is_empty() {
            if path_info == prefix {
                path_info.clear();
            } else if path_info.starts_with(&prefix)
                && path_info.as_bytes().get(prefix.len()) == Some(&b'/')
            {
                path_info.drain(..prefix.len());
            }
        }
        let mut vars = BTreeMap::new();
        let mut set = |key: &'static str, value: String| {
            vars.insert(Cow::Borrowed(key), value);
        };
        set("REQUEST_METHOD", request.method);
        set("SCRIPT_NAME", prefix);
        set("PATH_INFO", path_info);
        set("QUERY_STRING", query.to_string());
        set("REQUEST_URI", request.target.clone());
        let target_host = crate::http::uri::absolute_authority(&request.target)
            .and_then(|authority| crate::http::uri::parse_authority(authority).ok());
        set(
            "SERVER_NAME",
            target_host.map_or(request.server_name, |host| host.host.to_string()),
        );
        set("SERVER_PORT", request.server_port);
        set("SERVER_PROTOCOL", request.protocol);
        set("REMOTE_ADDR", request.remote_addr.clone());
        set("REMOTE_HOST", request.remote_addr);
        set("REMOTE_PORT", request.remote_port);
        set("wsgi.url_scheme", request.url_scheme);
        if let Some(ident) = request.ident.filter(|i| !i.is_empty()) {
            set("SERVER_SOFTWARE", ident);
        }
        for (name, value) in request.headers {
            let key = match environ_key(&name) {
                Some(known) => Cow::Borrowed(known),
                None => Cow::Owned(format!("HTTP_{name}")),
            };
            // A header never overwrites a key set above.
            vars.entry(key).or_insert(value);
        }
        Environ {
            vars,
            objects: HashMap::new(),
            input: request.body,
            errors: Errors::new(errors),
            client_disconnected,
        }
    }
    // ANCHOR_END: from_request

    /// The value of a string key, e.g. `PATH_INFO` or `HTTP_HOST`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// Sets a string key, replacing any old value, which is returned.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.vars.insert(Cow::Owned(key.into()), value.into())
    }

    /// Removes a string key, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.vars.remove(key)
    }

    /// Whether a string key is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.vars.contains_key(key)
    }

    /// Every string key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// Stores a value of any type under a key (middleware's objects: a
    /// session, a user, a database handle).
    pub fn insert_object<T: Any + Send>(&mut self, key: impl Into<String>, value: T) {
        self.objects.insert(key.into(), Box::new(value));
    }

    /// A value stored with [`Environ::insert_object`], if it has type `T`.
    pub fn object<T: Any + Send>(&self, key: &str) -> Option<&T> {
        self.objects.get(key)?.downcast_ref()
    }

    /// Mutable access to a stored value of type `T`.
    pub fn object_mut<T: Any + Send>(&mut self, key: &str) -> Option<&mut T> {
        self.objects.get_mut(key)?.downcast_mut()
    }

    /// Removes a stored value, returning it if it has type `T`.
    pub fn remove_object<T: Any + Send>(&mut self, key: &str) -> Option<T> {
        let value = self.objects.remove(key)?;
        value.downcast().ok().map(|boxed| *boxed)
    }

    /// `REQUEST_METHOD` (empty if unset).
    pub fn method(&self) -> &str {
        self.get("REQUEST_METHOD").unwrap_or("")
    }

    /// `PATH_INFO` (empty if unset).
    pub fn path_info(&self) -> &str {
        self.get("PATH_INFO").unwrap_or("")
    }

    /// `wsgi.version`: always `(1, 0)`.
    pub fn version(&self) -> (u32, u32) {
        (1, 0)
    }

    /// `wsgi.url_scheme`: `http` or `https`.
    pub fn url_scheme(&self) -> &str {
        self.get("wsgi.url_scheme").unwrap_or("http")
    }

    /// `wsgi.input`: the request body.
    pub fn input(&mut self) -> &mut Input {
        &mut self.input
    }

    /// Takes `wsgi.input` out of the environ (leaving an empty one), e.g. to
    /// return it as the response body.
    pub fn take_input(&mut self) -> Input {
        std::mem::take(&mut self.input)
    }

    /// Replaces `wsgi.input` (middleware that rewrites request bodies).
    pub fn set_input(&mut self, input: Input) {
        self.input = input;
    }

    /// `wsgi.input_terminated`: always true, the body ends where the request does.
    pub fn input_terminated(&self) -> bool {
        true
    }

    /// `wsgi.errors`: a `Write` to the server's log.
    pub fn errors(&mut self) -> &mut Errors {
        &mut self.errors
    }

    /// `wsgi.multithread`: always true, a pool of threads runs applications.
    pub fn multithread(&self) -> bool {
        true
    }

    /// `wsgi.multiprocess`: always false.
    pub fn multiprocess(&self) -> bool {
        false
    }

    /// `wsgi.run_once`: always false.
    pub fn run_once(&self) -> bool {
        false
    }

    /// `wsgi.file_wrapper(file, block_size)`: a body streamed from a file.
    pub fn file_wrapper<F>(&self, file: F, block_size: usize) -> Body
    where
        F: Read + Seek + Send + 'static,
    {
        Body::file(file, block_size)
    }

    /// `waitress.client_disconnected()`: whether the client has gone away.
    /// Only a server that reads ahead (`channel_request_lookahead` > 0) can
    /// notice a disconnect while the application runs.
    pub fn client_disconnected(&self) -> bool {
        self.client_disconnected.is_disconnected()
    }

    /// The flag behind [`Environ::client_disconnected`], to hand to a thread.
    pub fn client_disconnected_flag(&self) -> ClientDisconnected {
        self.client_disconnected.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Cursor;

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

    #[test]
    fn body_shapes_report_their_length() {
        assert_eq!(Body::empty().content_length(), Some(0));
        assert_eq!(Body::from(vec![1, 2, 3]).content_length(), Some(3));
        assert_eq!(Body::from(String::from("ab")).content_length(), Some(2));
        assert_eq!(
            Body::from_chunks(vec![b"a".to_vec()]).content_length(),
            None
        );
        assert_eq!(Body::reader(io::empty(), 8).content_length(), None);
    }

    #[test]
    fn a_single_chunk_iterator_reports_exactly_one_item() {
        assert_eq!(
            Body::from_chunks(vec![b"a".to_vec()]).size_hint(),
            (1, Some(1))
        );
        assert_eq!(Body::from("x").size_hint(), (1, Some(1)));
        let generator = Body::from_chunks((0..3).map(|i| vec![i]).filter(|_| true));
        assert_ne!(generator.size_hint(), (1, Some(1)));
    }

    #[test]
    fn file_bodies_start_at_the_current_position_and_stop_at_the_end() {
        let mut file = Cursor::new((0u8..100).collect::<Vec<_>>());
        file.seek(SeekFrom::Start(90)).unwrap();
        let body = Body::file(file, 4);
        assert_eq!(body.content_length(), Some(10));
        let blocks: Vec<Vec<u8>> = body.map(Result::unwrap).collect();
        assert_eq!(
            blocks,
            vec![vec![90, 91, 92, 93], vec![94, 95, 96, 97], vec![98, 99]]
        );
    }

    #[test]
    fn reader_bodies_stream_until_end_of_file() {
        let body = Body::reader(&b"hello world"[..], 5);
        let blocks: Vec<Vec<u8>> = body.map(Result::unwrap).collect();
        assert_eq!(
            blocks,
            vec![b"hello".to_vec(), b" worl".to_vec(), b"d".to_vec()]
        );
    }

    #[test]
    fn fallible_chunks_carry_the_error() {
        let mut body = Body::from_fallible_chunks(vec![Ok(b"abc".to_vec()), Err("boom".into())]);
        assert_eq!(body.next().unwrap().unwrap(), b"abc");
        assert_eq!(body.next().unwrap().unwrap_err().to_string(), "boom");
        assert!(body.next().is_none());
    }

    #[test]
    fn dropping_a_body_closes_its_iterator() {
        struct Closes(Arc<AtomicBool>);
        impl Iterator for Closes {
            type Item = Vec<u8>;
            fn next(&mut self) -> Option<Vec<u8>> {
                Some(b"x".to_vec())
            }
        }
        impl Drop for Closes {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let closed = Arc::new(AtomicBool::new(false));
        let mut body = Body::from_chunks(Closes(closed.clone()));
        body.next();
        assert!(!closed.load(Ordering::SeqCst));
        drop(body);
        assert!(closed.load(Ordering::SeqCst));
    }

    #[test]
    fn input_from_a_file_reads_from_the_start() {
        let path = std::env::temp_dir().join(format!("waitress-input-test-{}", std::process::id()));
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        file.write_all(b"spooled body").unwrap();
        let mut input = Input::from_file(file).unwrap();
        assert!(input.is_file());
        assert_eq!(input.len(), 12);
        let mut text = String::new();
        input.read_to_string(&mut text).unwrap();
        assert_eq!(text, "spooled body");
        assert_eq!(
            input.read(&mut [0; 8]).unwrap(),
            0,
            "input_terminated: EOF at the end"
        );
    }

    #[test]
    fn errors_emit_one_log_line_per_line_and_flush_the_rest_on_drop() {
        let (logger, log) = Logger::memory(Level::Debug);
        let mut errors = Errors::new(logger);
        errors.write_all(b"first\nsec").unwrap();
        errors.write_all(b"ond\r\nthird").unwrap();
        assert_eq!(log.contents().lines().count(), 2);
        drop(errors);
        let contents = log.contents();
        let lines: Vec<&str> = contents.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("[wsgi.errors] first"));
        assert!(lines[1].ends_with("[wsgi.errors] second"));
        assert!(lines[2].ends_with("[wsgi.errors] third"));
    }
}
