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
//! use waitress::gateway::{headers, AppResult, Body, Environ, StartResponse};
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

use crate::config::Adjustments;
use crate::gateway::{
    AppError, Application, BodyKind, ClientDisconnected, Environ, Headers, RequestInfo,
    ResponseError, ResponseStart, StartResponse,
};
use crate::http::error::HttpError;
use crate::http::parser::Version;
use crate::logging::Logger;

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

    /// Whether a response should stop and give its worker back, because
    /// the client has not taken what was already written (it is over
    /// `outbuf_high_watermark`). The default never asks.
    fn should_pause(&self) -> bool {
        false
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
    state: ResponseState,
}
// ANCHOR_END: response_writer

/// What a response has decided and sent so far: the part of a
/// [`ResponseWriter`] that outlives a pause (see [`PausedResponse`]).
#[derive(Debug)]
struct ResponseState {
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
            state: ResponseState {
                start: ResponseStart::default(),
                version,
                head,
                close: close_after,
                content_length: None,
                framing: None,
                head_pending: None,
                sent: 0,
                warned_overflow: false,
            },
        }
    }

    /// Whether the status line and headers have been written.
    pub fn headers_sent(&self) -> bool {
        self.state.framing.is_some() && self.state.head_pending.is_none()
    }

    /// Tells the writer the body's length when the application gave no
    /// `Content-Length` (one buffer, one chunk, a file). Ignored once headers
    /// are out, or when the application gave its own.
    fn set_known_length(&mut self, length: u64) {
        if self.state.framing.is_none() && self.state.start.content_length().is_none() {
            self.state.content_length = Some(length);
        }
    }

    // ANCHOR: build_response_header
    /// Decides the framing and whether the connection stays open, and builds
    /// the status line and headers.
    fn build_response_header(&mut self) -> Result<(Vec<u8>, Framing), AppError> {
        let status_code = self.state.start.status_code();
        if (100..200).contains(&status_code) {
            // A final response cannot be interim; 101 would need Upgrade,
            // which applications may not send.
            return Err(ResponseError::InvalidStatus(
                self.state.start.status().unwrap_or_default().to_string(),
            )
            .into());
        }
        let length = self
            .state
            .start
            .content_length()
            .or(self.state.content_length);
        let framing = if status_code == 204 || status_code == 304 {
            Framing::NoBody
        } else if let Some(length) = length {
            Framing::Length(length)
        } else if self.state.version == Version::Http11 {
            Framing::Chunked
        } else {
            Framing::UntilClose
        };
        let keep_alive_possible = !matches!(framing, Framing::UntilClose);
        self.state.close = self.state.close || !keep_alive_possible || self.output.will_close();

        let mut bytes = Vec::with_capacity(256);
        let mut head = LatinWriter(&mut bytes);
        let _ = write!(
            head,
            "{} {}\r\n",
            self.state.version.as_str(),
            self.state.start.status().unwrap_or_default()
        );
        let mut app_server_header = false;
        let mut app_date_header = false;
        for (name, value) in self.state.start.headers() {
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
        if self.state.close {
            head.push("Connection: close\r\n");
        } else if self.state.version == Version::Http10 {
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
        if let Some(framing) = self.state.framing {
            return Ok(framing);
        }
        self.state.start.mark_headers_sent()?;
        let (bytes, framing) = self.build_response_header()?;
        self.state.head_pending = Some(bytes);
        self.state.framing = Some(framing);
        Ok(framing)
    }

    /// Writes the headers if they are still pending, then `data` (already
    /// framed), in one write.
    fn send(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.decide()?;
        match self.state.head_pending.take() {
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
        if !self.state.start.is_started() {
            return Err(ResponseError::NotStarted.into());
        }
        if data.is_empty() {
            return Ok(());
        }
        // The framing is decided before these bytes are framed.
        let framing = self.decide()?;
        let mut data = data;
        if let Framing::Length(length) = framing {
            let room = length.saturating_sub(self.state.sent);
            if data.len() as u64 > room {
                if !self.state.warned_overflow {
                    self.state.warned_overflow = true;
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
        if self.state.head || framing == Framing::NoBody || data.is_empty() {
            if framing == Framing::NoBody && !self.state.warned_overflow {
                self.state.warned_overflow = true;
                self.context.logger.warn(
                    "waitress",
                    format_args!(
                        "application-written content was ignored due to HTTP response that may not contain a message-body: ({})",
                        self.state.start.status().unwrap_or_default()
                    ),
                );
            }
            return Ok(());
        }
        self.state.sent += data.len() as u64;
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
        match self.state.framing {
            Some(Framing::Length(announced)) if !self.state.head => {
                let want = announced.min(length);
                let sent = self.output.write_file(file, want)?;
                self.state.sent += sent;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Ends the response: headers if none were sent, the chunked terminator,
    /// and the check that a `Content-Length` was honoured.
    fn finish(&mut self) -> Result<(), AppError> {
        let framing = self.decide()?;
        if framing == Framing::Chunked && !self.state.head {
            return self.send(b"0\r\n\r\n");
        }
        self.send(&[])?;
        match self.state.framing {
            Some(Framing::Length(length)) if !self.state.head && self.state.sent < length => {
                self.context.logger.warn(
                    "waitress",
                    format_args!(
                        "application returned too few bytes ({}) for specified Content-Length ({length})",
                        self.state.sent
                    ),
                );
                self.state.close = true;
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
        self.state.start.start_response(status, headers, exc_info)
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
        let context = self.context;
        let mut progress = self.start(output, false);
        loop {
            match progress {
                Progress::Done(outcome) => return outcome,
                Progress::Paused(paused) => progress = paused.resume(output, context, false),
            }
        }
    }

    /// Calls the application and sends its body. With `may_pause`, stops
    /// between two pieces of the body when the output asks to
    /// ([`ResponseOutput::should_pause`]) and returns the rest to resume.
    pub fn start(self, output: &mut dyn ResponseOutput, may_pause: bool) -> Progress {
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
        let rest = run_application(app, &mut environ, &mut writer);
        go_on(environ, writer, rest, may_pause)
    }
}
// ANCHOR_END: wsgi_task

// ANCHOR: paused_response
/// How far a [`WsgiTask`] got.
pub enum Progress {
    /// The response is complete (or abandoned).
    Done(TaskOutcome),
    /// The client is not reading fast enough: the response gave its worker
    /// back, and [`PausedResponse::resume`] goes on where it stopped.
    Paused(Box<PausedResponse>),
}

/// A response waiting for its client to read: everything needed to go on,
/// on whichever worker resumes it. Dropping it closes the body (PEP 3333's
/// `close()`), with any panic in there caught.
pub struct PausedResponse {
    environ: DropGuard<Environ>,
    state: ResponseState,
    rest: DropGuard<RestOfBody>,
}

impl PausedResponse {
    /// Sends more of the body to `output`, and finishes the response or
    /// pauses again.
    pub fn resume(
        self: Box<Self>,
        output: &mut dyn ResponseOutput,
        context: &TaskContext,
        may_pause: bool,
    ) -> Progress {
        let PausedResponse {
            mut environ,
            state,
            mut rest,
        } = *self;
        let (Some(environ), Some(rest)) = (environ.take(), rest.take()) else {
            // Never so: both are set when a response pauses.
            return Progress::Done(TaskOutcome {
                close: true,
                status: state.start.status_code(),
                body_bytes: state.sent,
            });
        };
        let writer = ResponseWriter {
            output,
            context,
            state,
        };
        go_on(environ, writer, Ok(rest), may_pause)
    }
}

impl std::fmt::Debug for PausedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PausedResponse")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// What is left to send of a body.
enum RestOfBody {
    /// The application's iterator, not exhausted yet.
    Chunks {
        chunks: Box<dyn Iterator<Item = crate::gateway::Chunk> + Send>,
        exact_one_chunk: bool,
    },
    /// One buffer, sent a slice at a time so the output stays bounded.
    Bytes {
        bytes: std::borrow::Cow<'static, [u8]>,
        sent: usize,
    },
    /// Everything is sent but the end (the chunked terminator).
    End,
}

/// Holds an application's value (its body, its environ's objects) and
/// drops it with panics caught: its `Drop` is application code.
struct DropGuard<T>(Option<T>);

impl<T> DropGuard<T> {
    fn take(&mut self) -> Option<T> {
        self.0.take()
    }
}

impl<T> Drop for DropGuard<T> {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            let _ = drop_caught(value, "");
        }
    }
}

/// Drops `value`, returning the panic its `Drop` raised, if any; `when`
/// says what was dropped, for the log.
fn drop_caught<T>(value: T, when: &str) -> Result<(), Failure> {
    panic::catch_unwind(AssertUnwindSafe(move || drop(value)))
        .map_err(|payload| Failure::from_panic(payload, when))
}

const CLOSING_BODY: &str = "while closing its body";
// ANCHOR_END: paused_response

/// How much of a one-buffer body is sent between two looks at whether the
/// client keeps up.
const BYTES_SLICE: usize = 1024 * 1024;

// ANCHOR: go_on
/// Sends the rest of the body, then ends the response: with its outcome,
/// or a 500 if the application failed before the headers went out.
fn go_on(
    environ: Environ,
    mut writer: ResponseWriter<'_>,
    rest: Result<RestOfBody, Failure>,
    may_pause: bool,
) -> Progress {
    let result = rest.and_then(
        |mut rest| match send_rest(&mut rest, &mut writer, may_pause) {
            Ok(true) => drop_caught(rest, CLOSING_BODY),
            Ok(false) => Err(Failure::pause(rest)),
            Err(failure) => {
                let _ = drop_caught(rest, CLOSING_BODY); // the first failure is the one to report
                Err(failure)
            }
        },
    );
    let result = match result {
        Err(Failure {
            paused: Some(rest), ..
        }) => {
            return Progress::Paused(Box::new(PausedResponse {
                environ: DropGuard(Some(environ)),
                state: writer.state,
                rest: DropGuard(Some(*rest)),
            }));
        }
        other => other,
    };
    // For the log: the target as the client sent it (read only on failure).
    let path = |environ: &Environ| environ.get("REQUEST_URI").unwrap_or("").to_string();
    let (result, path) = match result {
        Ok(()) => (
            drop_caught(environ, "while dropping its environ"),
            String::new(),
        ),
        Err(failure) => {
            let path = path(&environ);
            let _ = drop_caught(environ, "while dropping its environ"); // the first failure is the one to report
            (Err(failure), path)
        }
    };
    Progress::Done(conclude(writer, result, &path))
}
// ANCHOR_END: go_on

/// The outcome of a response that ran to its end or failed.
fn conclude(writer: ResponseWriter<'_>, result: Result<(), Failure>, path: &str) -> TaskOutcome {
    let context = writer.context;
    let outcome = TaskOutcome {
        close: writer.state.close,
        status: writer.state.start.status_code(),
        body_bytes: writer.state.sent,
    };
    let failure = match result {
        Ok(()) => return outcome,
        Err(failure) => failure,
    };
    if failure.client_gone {
        context.logger.info(
            "waitress",
            format_args!("Client disconnected while serving {path}"),
        );
        return TaskOutcome {
            close: true,
            ..outcome
        };
    }
    context.logger.error(
        "waitress",
        format_args!("Exception while serving {path}: {}", failure.message),
    );
    if writer.headers_sent() {
        // Too late for a 500: close, and a chunked body stays
        // unterminated so the client sees it was cut.
        return TaskOutcome {
            close: true,
            ..outcome
        };
    }
    let detail = if context.expose_tracebacks {
        failure.message
    } else {
        "The server encountered an unexpected internal server error".to_string()
    };
    ErrorTask::new(HttpError::new(500, detail), writer.state.version)
        .service(writer.output, context)
}

/// Why an application run failed, or (`paused`) why it stopped early.
struct Failure {
    message: String,
    client_gone: bool,
    /// Not a failure: the output is full and the response pauses with this
    /// left to send.
    paused: Option<Box<RestOfBody>>,
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
            paused: None,
        }
    }

    /// `when` says where, e.g. "while closing its body", or is empty.
    fn from_panic(payload: Box<dyn std::any::Any + Send>, when: &str) -> Failure {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-text payload".to_string());
        let when = if when.is_empty() {
            String::new()
        } else {
            format!(" {when}")
        };
        Failure {
            message: format!("the application panicked{when}: {text}"),
            client_gone: false,
            paused: None,
        }
    }

    fn pause(rest: RestOfBody) -> Failure {
        Failure {
            message: String::new(),
            client_gone: false,
            paused: Some(Box::new(rest)),
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
/// Calls the application, catching a panic, and says what of its body is
/// left to send. A file of known length goes to the output whole: the I/O
/// thread streams it.
fn run_application(
    app: &dyn Application,
    environ: &mut Environ,
    writer: &mut ResponseWriter<'_>,
) -> Result<RestOfBody, Failure> {
    let called = panic::catch_unwind(AssertUnwindSafe(|| app.call(environ, writer)));
    let body = match called {
        Ok(Ok(body)) => body,
        Ok(Err(error)) => return Err(Failure::from_error(&error)),
        Err(payload) => return Err(Failure::from_panic(payload, "")),
    };
    let (exact_one_chunk, known_length) = (body.size_hint() == (1, Some(1)), body.content_length());
    if let Some(length) = known_length {
        writer.set_known_length(length);
    }
    Ok(match body.into_kind() {
        BodyKind::Empty => RestOfBody::End,
        BodyKind::Bytes(bytes) => RestOfBody::Bytes { bytes, sent: 0 },
        BodyKind::File(file) => match file.into_reader() {
            (reader, Some(length)) => {
                let reader = Box::new(GuardedReader(DropGuard(Some(reader))));
                writer.write_file(reader, length).map_err(Failure::from)?;
                RestOfBody::End
            }
            (reader, None) => RestOfBody::Chunks {
                chunks: Box::new(crate::gateway::Body::reader(reader, 32 * 1024)),
                exact_one_chunk: false,
            },
        },
        BodyKind::Chunks(chunks) => RestOfBody::Chunks {
            chunks,
            exact_one_chunk,
        },
    })
}
// ANCHOR_END: run_application

// ANCHOR: send_rest
/// Sends what is left of the body and ends the response: `Ok(true)` when
/// done, `Ok(false)` when it stopped because the output is full and
/// `may_pause`. Every call into the application's iterator is guarded.
fn send_rest(
    rest: &mut RestOfBody,
    writer: &mut ResponseWriter<'_>,
    may_pause: bool,
) -> Result<bool, Failure> {
    loop {
        if may_pause && writer.output.should_pause() {
            return Ok(false);
        }
        match rest {
            RestOfBody::Chunks {
                chunks,
                exact_one_chunk,
            } => {
                let next = panic::catch_unwind(AssertUnwindSafe(|| chunks.next()));
                let chunk = match next {
                    Ok(None) => {
                        drop_caught(std::mem::replace(rest, RestOfBody::End), CLOSING_BODY)?;
                        continue;
                    }
                    Ok(Some(Ok(chunk))) => chunk,
                    Ok(Some(Err(error))) => return Err(Failure::from_error(&error)),
                    Err(payload) => return Err(Failure::from_panic(payload, "")),
                };
                if *exact_one_chunk {
                    writer.set_known_length(chunk.len() as u64);
                }
                writer.write_body(&chunk).map_err(Failure::from)?;
                if writer.state.head && writer.state.framing.is_some() {
                    // The rest would not be sent anyway.
                    drop_caught(std::mem::replace(rest, RestOfBody::End), CLOSING_BODY)?;
                }
            }
            RestOfBody::Bytes { bytes, sent } => {
                let end = bytes.len().min(*sent + BYTES_SLICE);
                writer
                    .write_body(&bytes[*sent..end])
                    .map_err(Failure::from)?;
                *sent = end;
                if end == bytes.len() {
                    *rest = RestOfBody::End;
                }
            }
            RestOfBody::End => {
                writer.finish().map_err(Failure::from)?;
                return Ok(true);
            }
        }
    }
}
// ANCHOR_END: send_rest

/// An application's file, read by the I/O thread: a panic in its `read` is
/// an error, and one in its `Drop` is caught, so neither can stop the loop.
struct GuardedReader(DropGuard<Box<dyn Read + Send>>);

impl Read for GuardedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(reader) = self.0.0.as_mut() else {
            return Err(io::Error::other("the application's file panicked"));
        };
        match panic::catch_unwind(AssertUnwindSafe(|| reader.read(buf))) {
            Ok(result) => result,
            Err(_) => {
                // Never read it again; leak it rather than run its `Drop`
                // after a panic left it half-changed.
                std::mem::forget(self.0.take());
                Err(io::Error::other("the application's file panicked"))
            }
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
            *cached = (second, crate::http::date::format_http_date(now));
        }
        f(&cached.1);
    });
}
