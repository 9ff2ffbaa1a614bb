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
//! This file holds what every task shares: where it writes
//! ([`ResponseOutput`]), what it is given ([`TaskContext`], [`TaskRequest`])
//! and what it returns ([`TaskOutcome`]). The rest is one concern a file:
//! `writer.rs` (the framing above), `wsgi_task.rs` (running the application,
//! pausing, the panic guards), `error_task.rs`, and `failure.rs` (what a
//! failed run becomes, and how a panic or a lost client is recognised).
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

mod error_task;
pub(crate) mod failure;
mod writer;
mod wsgi_task;

use std::io::{self, Read};

use crate::config::Adjustments;
use crate::gateway::{ClientDisconnected, RequestInfo};
use crate::logging::Logger;

pub use error_task::ErrorTask;
pub use writer::ResponseWriter;
pub use wsgi_task::{PausedResponse, Progress, WsgiTask};

// ANCHOR: response_output_write
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
    // ANCHOR_END: response_output_write

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
    /// The environ's ingredients (method, target, version, headers, body,
    /// addresses); the response is framed for `info.version`.
    pub info: RequestInfo,
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
