//! Tasks: running the application for one request and framing its response.
//!
//! A worker thread takes a connection's next request and runs either a
//! [`WsgiTask`] (call the application, stream its body) or an [`ErrorTask`]
//! (answer a request the server refused: 400, 413, 431, …). Both write to the
//! connection through [`ResponseOutput`], which the channel implements with
//! its output buffer; tests implement it with a `Vec<u8>`.
//!
//! The server, not the application, decides how a response is framed, and
//! [`ResponseWriter`] is where that happens:
//!
//! | the response | framing | the connection afterwards |
//! |---|---|---|
//! | a length is known (the application's `Content-Length`, one buffer, one chunk, a file) | `Content-Length` | kept (HTTP/1.0: only if the request asked for keep-alive) |
//! | length unknown, HTTP/1.1 | `Transfer-Encoding: chunked` | kept |
//! | length unknown, HTTP/1.0 | the end of the body is the end of the connection | closed |
//! | 1xx (refused), 204, 304 | no body, no `Content-Length`, no `Transfer-Encoding` | kept |
//! | `HEAD` | the same headers as `GET`, no body bytes | as for `GET` |
//!
//! ```
//! use waitress::task::{TaskContext, TaskRequest, WsgiTask};
//! use waitress::wsgi::{headers, AppResult, Body, Environ, StartResponse};
//!
//! fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from_chunks(vec![b"Hello, ".to_vec(), b"world!".to_vec()]))
//! }
//!
//! let mut output: Vec<u8> = Vec::new();
//! let context = TaskContext::default();
//! let outcome = WsgiTask::new(&hello, TaskRequest::get("/"), &context).service(&mut output);
//! let text = String::from_utf8(output).unwrap();
//! assert!(text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"));
//! assert!(text.ends_with("\r\n\r\n7\r\nHello, \r\n6\r\nworld!\r\n0\r\n\r\n"));
//! assert!(!outcome.close);
//! ```
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, Read};
use std::panic::{self, AssertUnwindSafe};
use std::time::SystemTime;

use crate::adjustments::Adjustments;
use crate::error::HttpError;
use crate::logging::Logger;
use crate::parser::Version;
use crate::wsgi::{
    AppError, Application, BodyKind, ClientDisconnected, Environ, Headers, RequestInfo,
    ResponseError, ResponseStart, StartResponse,
};

// ANCHOR: response_output
/// Where a task writes its response: the connection's output buffer.
///
/// `Vec<u8>` implements it, which is how the tests look at the exact bytes.
pub trait ResponseOutput {
    /// Queues bytes for the client. It may block while too much output is
    /// pending (backpressure); an error means the client is gone.
    fn write(&mut self, data: &[u8]) -> io::Result<()>;

    /// Queues two pieces back to back (the headers and a large body) without
    /// joining them first. The default joins them.
    fn write_parts(&mut self, first: &[u8], second: &[u8]) -> io::Result<()> {
        let mut joined = Vec::with_capacity(first.len() + second.len());
        joined.extend_from_slice(first);
        joined.extend_from_slice(second);
        self.write(&joined)
    }

    /// Queues `len` bytes of a file, which the server streams rather than
    /// loads. Returns how many bytes the file really had (at most `len`); fewer
    /// means the response is short and the connection must close.
    fn write_file(&mut self, mut file: Box<dyn Read + Send>, len: u64) -> io::Result<u64> {
        let mut block = vec![0; 32 * 1024];
        let mut sent = 0;
        while sent < len {
            let want = block
                .len()
                .min(usize::try_from(len - sent).unwrap_or(usize::MAX));
            let read = match file.read(&mut block[..want]) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.write(&block[..read])?;
            sent += read as u64;
        }
        Ok(sent)
    }

    /// The flag that tells the application its client has gone away.
    fn client_disconnected(&self) -> ClientDisconnected {
        ClientDisconnected::new()
    }

    /// Whether the connection will close once this response is sent,
    /// whatever the request asked: the server is shutting down, or the
    /// client half-closed, and no request is queued behind this one. Asked
    /// when the response's headers are built, so that they say
    /// `Connection: close` rather than promise a keep-alive the server will
    /// not keep. The default (and `Vec<u8>`'s): no.
    ///
    /// ```
    /// use waitress::task::ResponseOutput;
    /// assert!(!Vec::<u8>::new().will_close());
    /// ```
    fn will_close(&self) -> bool {
        false
    }
}
// ANCHOR_END: response_output

impl ResponseOutput for Vec<u8> {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.extend_from_slice(data);
        Ok(())
    }
}

/// What every task needs from the server: its name, whether errors are
/// shown, and where to log.
#[derive(Clone, Debug)]
pub struct TaskContext {
    /// The `ident` adjustment: `Server` header and error page signature.
    pub ident: Option<String>,
    /// The `expose_tracebacks` adjustment: error text in 500 bodies.
    pub expose_tracebacks: bool,
    /// Where application errors are logged.
    pub logger: Logger,
}

impl Default for TaskContext {
    fn default() -> TaskContext {
        TaskContext {
            ident: Some("waitress".to_string()),
            expose_tracebacks: false,
            logger: Logger::default(),
        }
    }
}

impl TaskContext {
    /// The context for a server configured by `adjustments`.
    pub fn new(adjustments: &Adjustments, logger: Logger) -> TaskContext {
        TaskContext {
            ident: adjustments.ident.clone(),
            expose_tracebacks: adjustments.expose_tracebacks,
            logger,
        }
    }
}

/// A request as a task needs it: what goes into the environ, and what the
/// response's framing depends on.
#[derive(Debug)]
pub struct TaskRequest {
    /// The environ's ingredients (method, target, headers, body, addresses).
    pub info: RequestInfo,
    /// The version to answer in.
    pub version: Version,
    /// The connection must close after this response (the request said
    /// `Connection: close`, or HTTP/1.0 without keep-alive, or it was framed
    /// with both Transfer-Encoding and Content-Length).
    pub close_after: bool,
}

impl TaskRequest {
    /// An HTTP/1.1 `GET` with no headers, for tests and examples.
    pub fn get(target: &str) -> TaskRequest {
        TaskRequest {
            info: RequestInfo {
                target: target.to_string(),
                ..RequestInfo::default()
            },
            version: Version::Http11,
            close_after: false,
        }
    }
}

/// How a task ended, for the channel and the access log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskOutcome {
    /// The connection must close once this response is sent.
    pub close: bool,
    /// The status code sent (0 if nothing was sent: the client left first).
    pub status: u16,
    /// Body bytes sent (after framing decisions, before chunk framing).
    pub body_bytes: u64,
}

/// How the body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// This many bytes, announced by `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// The body ends where the connection does (HTTP/1.0 without a length).
    UntilClose,
    /// 1xx, 204, 304: no body at all.
    NoBody,
}

// ANCHOR: response_writer
/// The server's `start_response`: PEP 3333's checks ([`ResponseStart`]),
/// then the framing decisions, the status line and headers, and the body
/// bytes, written to a [`ResponseOutput`].
pub struct ResponseWriter<'a> {
    output: &'a mut dyn ResponseOutput,
    context: &'a TaskContext,
    start: ResponseStart,
    version: Version,
    head: bool,
    close: bool,
    /// The body's length, from the application's header or the body's shape.
    content_length: Option<u64>,
    /// Set once the headers are decided.
    framing: Option<Framing>,
    /// Headers decided but not yet written (they go with the first bytes).
    head_pending: Option<Vec<u8>>,
    /// Body bytes sent.
    sent: u64,
    warned_overflow: bool,
}
// ANCHOR_END: response_writer

impl<'a> ResponseWriter<'a> {
    /// A writer for the response to one request.
    pub fn new(
        output: &'a mut dyn ResponseOutput,
        context: &'a TaskContext,
        version: Version,
        head: bool,
        close_after: bool,
    ) -> ResponseWriter<'a> {
        ResponseWriter {
            output,
            context,
            start: ResponseStart::default(),
            version,
            head,
            close: close_after,
            content_length: None,
            framing: None,
            head_pending: None,
            sent: 0,
            warned_overflow: false,
        }
    }

    /// Whether the status line and headers have been written.
    pub fn headers_sent(&self) -> bool {
        self.framing.is_some() && self.head_pending.is_none()
    }

    /// Tells the writer the body's length when the application gave no
    /// `Content-Length` (one buffer, one chunk, a file). Ignored once headers
    /// are out, or when the application gave its own.
    fn set_known_length(&mut self, length: u64) {
        if self.framing.is_none() && self.start.content_length().is_none() {
            self.content_length = Some(length);
        }
    }

    // ANCHOR: build_response_header
    /// Decides the framing and whether the connection stays open, and builds
    /// the status line and headers.
    fn build_response_header(&mut self) -> Result<(Vec<u8>, Framing), AppError> {
        let status_code = self.start.status_code();
        if (100..200).contains(&status_code) {
            // A final response cannot be interim; 101 would need Upgrade,
            // which applications may not send.
            return Err(ResponseError::InvalidStatus(
                self.start.status().unwrap_or_default().to_string(),
            )
            .into());
        }
        let length = self.start.content_length().or(self.content_length);
        let framing = if status_code == 204 || status_code == 304 {
            Framing::NoBody
        } else if let Some(length) = length {
            Framing::Length(length)
        } else if self.version == Version::Http11 {
            Framing::Chunked
        } else {
            Framing::UntilClose
        };
        let keep_alive_possible = !matches!(framing, Framing::UntilClose);
        self.close = self.close || !keep_alive_possible || self.output.will_close();

        let mut bytes = Vec::with_capacity(256);
        let mut head = LatinWriter(&mut bytes);
        let _ = write!(
            head,
            "{} {}\r\n",
            self.version.as_str(),
            self.start.status().unwrap_or_default()
        );
        let mut app_server_header = false;
        let mut app_date_header = false;
        for (name, value) in self.start.headers() {
            if name.eq_ignore_ascii_case("content-length") {
                continue; // written below, from the framing decision
            }
            app_server_header |= name.eq_ignore_ascii_case("server");
            app_date_header |= name.eq_ignore_ascii_case("date");
            head.push(name);
            head.push(": ");
            head.push(value);
            head.push("\r\n");
        }
        match framing {
            Framing::Length(length) => {
                let _ = write!(head, "Content-Length: {length}\r\n");
            }
            Framing::Chunked => head.push("Transfer-Encoding: chunked\r\n"),
            Framing::UntilClose | Framing::NoBody => {}
        }
        if self.close {
            head.push("Connection: close\r\n");
        } else if self.version == Version::Http10 {
            head.push("Connection: keep-alive\r\n");
        }
        if !app_date_header {
            head.push("Date: ");
            with_http_date(|date| head.push(date));
            head.push("\r\n");
        }
        if let Some(ident) = &self.context.ident {
            let name = if app_server_header { "Via" } else { "Server" };
            let _ = write!(head, "{name}: {ident}\r\n");
        }
        head.push("\r\n");
        Ok((bytes, framing))
    }
    // ANCHOR_END: build_response_header

    /// Decides the framing and builds the headers, once; they are written
    /// with the first body bytes, so a small response is one write.
    fn decide(&mut self) -> Result<Framing, AppError> {
        if let Some(framing) = self.framing {
            return Ok(framing);
        }
        self.start.mark_headers_sent()?;
        let (bytes, framing) = self.build_response_header()?;
        self.head_pending = Some(bytes);
        self.framing = Some(framing);
        Ok(framing)
    }

    /// Writes the headers if they are still pending, then `data` (already
    /// framed), in one write.
    fn send(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.decide()?;
        match self.head_pending.take() {
            // A large body is not copied behind the headers.
            Some(bytes) if data.len() > 16 * 1024 => self.output.write_parts(&bytes, data)?,
            Some(mut bytes) => {
                bytes.extend_from_slice(data);
                self.output.write(&bytes)?;
            }
            None if !data.is_empty() => self.output.write(data)?,
            None => {}
        }
        Ok(())
    }

    /// Frames and sends body bytes (the `write` of PEP 3333 and every chunk).
    fn write_body(&mut self, data: &[u8]) -> Result<(), AppError> {
        if !self.start.is_started() {
            return Err(ResponseError::NotStarted.into());
        }
        if data.is_empty() {
            return Ok(());
        }
        // The framing is decided before these bytes are framed.
        let framing = self.decide()?;
        let mut data = data;
        if let Framing::Length(length) = framing {
            let room = length.saturating_sub(self.sent);
            if data.len() as u64 > room {
                if !self.warned_overflow {
                    self.warned_overflow = true;
                    self.context.logger.warn(
                        "waitress",
                        format_args!(
                            "application-written content exceeded the number of bytes specified by Content-Length header ({length})"
                        ),
                    );
                }
                data = &data[..room as usize];
            }
        }
        if self.head || framing == Framing::NoBody || data.is_empty() {
            if framing == Framing::NoBody && !self.warned_overflow {
                self.warned_overflow = true;
                self.context.logger.warn(
                    "waitress",
                    format_args!(
                        "application-written content was ignored due to HTTP response that may not contain a message-body: ({})",
                        self.start.status().unwrap_or_default()
                    ),
                );
            }
            return Ok(());
        }
        self.sent += data.len() as u64;
        if framing == Framing::Chunked {
            let mut framed = Vec::with_capacity(data.len() + 12);
            let _ = write!(LatinWriter(&mut framed), "{:X}\r\n", data.len());
            framed.extend_from_slice(data);
            framed.extend_from_slice(b"\r\n");
            self.send(&framed)
        } else {
            self.send(data)
        }
    }

    /// Sends a file body of known length, streamed by the output.
    fn write_file(&mut self, file: Box<dyn Read + Send>, length: u64) -> Result<(), AppError> {
        self.send(&[])?;
        match self.framing {
            Some(Framing::Length(announced)) if !self.head => {
                let want = announced.min(length);
                let sent = self.output.write_file(file, want)?;
                self.sent += sent;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Ends the response: headers if none were sent, the chunked terminator,
    /// and the check that a `Content-Length` was honoured.
    fn finish(&mut self) -> Result<(), AppError> {
        let framing = self.decide()?;
        if framing == Framing::Chunked && !self.head {
            return self.send(b"0\r\n\r\n");
        }
        self.send(&[])?;
        match self.framing {
            Some(Framing::Length(length)) if !self.head && self.sent < length => {
                self.context.logger.warn(
                    "waitress",
                    format_args!(
                        "application returned too few bytes ({}) for specified Content-Length ({length})",
                        self.sent
                    ),
                );
                self.close = true;
            }
            _ => {}
        }
        Ok(())
    }
}

impl StartResponse for ResponseWriter<'_> {
    fn start_response(
        &mut self,
        status: &str,
        headers: Headers,
        exc_info: Option<AppError>,
    ) -> Result<(), AppError> {
        self.start.start_response(status, headers, exc_info)
    }

    fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.write_body(data)
    }
}

// ANCHOR: wsgi_task
/// Runs the application for one request: builds the environ, calls the
/// application with the server's `start_response`, streams the body.
pub struct WsgiTask<'a> {
    app: &'a dyn Application,
    request: TaskRequest,
    context: &'a TaskContext,
}

impl<'a> WsgiTask<'a> {
    /// A task for `request`.
    pub fn new(
        app: &'a dyn Application,
        request: TaskRequest,
        context: &'a TaskContext,
    ) -> WsgiTask<'a> {
        WsgiTask {
            app,
            request,
            context,
        }
    }

    /// Runs it to the end. Nothing here can panic the worker: an application
    /// error or panic before the headers are sent becomes a 500; after, the
    /// connection is closed so the client sees the response was cut short.
    pub fn service(self, output: &mut dyn ResponseOutput) -> TaskOutcome {
        let WsgiTask {
            app,
            request,
            context,
        } = self;
        let head = request.info.method == "HEAD";
        let version = request.version;
        let mut environ = Environ::from_request(
            request.info,
            context.logger.clone(),
            output.client_disconnected(),
        );
        let mut writer = ResponseWriter::new(output, context, version, head, request.close_after);
        let result = run_application(app, &mut environ, &mut writer);
        // For the log: the target as the client sent it (read only on failure).
        let path = || environ.get("REQUEST_URI").unwrap_or("").to_string();
        match result {
            Ok(()) => TaskOutcome {
                close: writer.close,
                status: writer.start.status_code(),
                body_bytes: writer.sent,
            },
            Err(failure) if failure.client_gone => {
                context.logger.info(
                    "waitress",
                    format_args!("Client disconnected while serving {}", path()),
                );
                TaskOutcome {
                    close: true,
                    status: writer.start.status_code(),
                    body_bytes: writer.sent,
                }
            }
            Err(failure) => {
                context.logger.error(
                    "waitress",
                    format_args!("Exception while serving {}: {}", path(), failure.message),
                );
                if writer.headers_sent() {
                    // Too late for a 500: close, and a chunked body stays
                    // unterminated so the client sees it was cut.
                    return TaskOutcome {
                        close: true,
                        status: writer.start.status_code(),
                        body_bytes: writer.sent,
                    };
                }
                let detail = if context.expose_tracebacks {
                    failure.message
                } else {
                    "The server encountered an unexpected internal server error".to_string()
                };
                let writer_output = writer.output;
                ErrorTask::new(HttpError::new(500, detail), version).service(writer_output, context)
            }
        }
    }
}
// ANCHOR_END: wsgi_task

/// Why an application run failed.
struct Failure {
    message: String,
    client_gone: bool,
}

impl From<AppError> for Failure {
    fn from(error: AppError) -> Failure {
        Failure::from_error(&error)
    }
}

impl Failure {
    fn from_error(error: &AppError) -> Failure {
        let client_gone = error
            .downcast_ref::<io::Error>()
            .is_some_and(|e| is_disconnect(e.kind()));
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let _ = write!(message, ": {cause}");
            source = cause.source();
        }
        Failure {
            message,
            client_gone,
        }
    }

    fn from_panic(payload: Box<dyn std::any::Any + Send>) -> Failure {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-text payload".to_string());
        Failure {
            message: format!("the application panicked: {text}"),
            client_gone: false,
        }
    }
}

fn is_disconnect(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
    )
}

// ANCHOR: run_application
/// Calls the application and streams its body, catching panics.
fn run_application(
    app: &dyn Application,
    environ: &mut Environ,
    writer: &mut ResponseWriter<'_>,
) -> Result<(), Failure> {
    let called = panic::catch_unwind(AssertUnwindSafe(|| app.call(environ, writer)));
    let body = match called {
        Ok(Ok(body)) => body,
        Ok(Err(error)) => return Err(Failure::from_error(&error)),
        Err(payload) => return Err(Failure::from_panic(payload)),
    };
    let (exact_one_chunk, known_length) = (body.size_hint() == (1, Some(1)), body.content_length());
    if let Some(length) = known_length {
        writer.set_known_length(length);
    }
    match body.into_kind() {
        BodyKind::Empty => {}
        BodyKind::Bytes(bytes) => writer.write_body(&bytes).map_err(Failure::from)?,
        BodyKind::File(file) => match file.into_reader() {
            (reader, Some(length)) => writer.write_file(reader, length).map_err(Failure::from)?,
            (reader, None) => {
                let mut body = crate::wsgi::Body::reader(reader, 32 * 1024);
                stream_chunks(&mut body, false, writer)?;
            }
        },
        BodyKind::Chunks(chunks) => {
            let mut chunks = chunks;
            stream_chunks(&mut chunks, exact_one_chunk, writer)?;
        }
    }
    writer.finish().map_err(Failure::from)
}
// ANCHOR_END: run_application

/// Writes every chunk; a single chunk gives the body's length (PEP 3333's
/// `len(iterable) == 1`). For HEAD, stops once the headers are out.
fn stream_chunks<I>(
    chunks: &mut I,
    exact_one_chunk: bool,
    writer: &mut ResponseWriter<'_>,
) -> Result<(), Failure>
where
    I: Iterator<Item = crate::wsgi::Chunk> + ?Sized,
{
    loop {
        let next = panic::catch_unwind(AssertUnwindSafe(|| chunks.next()));
        let chunk = match next {
            Ok(None) => return Ok(()),
            Ok(Some(Ok(chunk))) => chunk,
            Ok(Some(Err(error))) => return Err(Failure::from_error(&error)),
            Err(payload) => return Err(Failure::from_panic(payload)),
        };
        if exact_one_chunk {
            writer.set_known_length(chunk.len() as u64);
        }
        writer.write_body(&chunk).map_err(Failure::from)?;
        if writer.head && writer.framing.is_some() {
            return Ok(()); // the rest would not be sent anyway
        }
    }
}

// ANCHOR: error_task
/// Answers a request the server refused (or a failed application) with a
/// complete `text/plain` error response, and always closes the connection:
/// after a framing error the server cannot know where the next request starts.
#[derive(Clone, Debug)]
pub struct ErrorTask {
    error: HttpError,
    version: Version,
}

impl ErrorTask {
    /// A task that answers `error` in `version`.
    pub fn new(error: HttpError, version: Version) -> ErrorTask {
        ErrorTask { error, version }
    }

    /// Writes the response.
    pub fn service(self, output: &mut dyn ResponseOutput, context: &TaskContext) -> TaskOutcome {
        let body = self.error.body(context.ident.as_deref());
        let mut bytes = Vec::with_capacity(256 + body.len());
        let mut head = LatinWriter(&mut bytes);
        let _ = write!(
            head,
            "{} {}\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: text/plain; charset=utf-8\r\nDate: ",
            self.version.as_str(),
            self.error.status_line(),
            body.len()
        );
        with_http_date(|date| head.push(date));
        head.push("\r\n");
        if let Some(ident) = &context.ident {
            let _ = write!(head, "Server: {ident}\r\n");
        }
        head.push("\r\n");
        bytes.extend_from_slice(body.as_bytes());
        let _ = output.write(&bytes);
        TaskOutcome {
            close: true,
            status: self.error.status,
            body_bytes: body.len() as u64,
        }
    }
}
// ANCHOR_END: error_task

/// Writes text into bytes as latin-1, the encoding of header text on the
/// wire (the checks allow only U+0000–U+00FF), with a fast path for ASCII.
struct LatinWriter<'a>(&'a mut Vec<u8>);

impl LatinWriter<'_> {
    fn push(&mut self, text: &str) {
        if text.is_ascii() {
            self.0.extend_from_slice(text.as_bytes());
        } else {
            self.0.extend(
                text.chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
            );
        }
    }
}

impl std::fmt::Write for LatinWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push(s);
        Ok(())
    }
}

thread_local! {
    /// The `Date` header changes once a second; each worker formats it once
    /// per second rather than once per response.
    static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

fn with_http_date(f: impl FnOnce(&str)) {
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != second {
            *cached = (second, crate::httpdate::format_http_date(now));
        }
        f(&cached.1);
    });
}
