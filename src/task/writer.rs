//! The response writer: the server's `start_response`, where the framing of
//! every response is decided (the table in the [module docs](super)), the
//! status line and headers are built, and the body bytes are framed.
//!
//! Separate from the task that drives it because it is the one place that
//! knows the wire format of a response; [`LatinWriter`] and the cached
//! `Date` header live here for the same reason (the error task borrows them).
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Read;
use std::time::SystemTime;

use super::{ResponseOutput, TaskContext};
use crate::gateway::{AppError, Headers, ResponseError, ResponseStart, StartResponse};
use crate::http::parser::Version;

/// How the body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
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
    pub(super) output: &'a mut dyn ResponseOutput,
    pub(super) context: &'a TaskContext,
    pub(super) state: ResponseState,
}
// ANCHOR_END: response_writer

/// What a response has decided and sent so far: the part of a
/// [`ResponseWriter`] that outlives a pause (see
/// [`PausedResponse`](super::PausedResponse)).
#[derive(Debug)]
pub(super) struct ResponseState {
    pub(super) start: ResponseStart,
    pub(super) version: Version,
    pub(super) head: bool,
    pub(super) close: bool,
    /// The body's length, from the application's header or the body's shape.
    content_length: Option<u64>,
    /// Set once the headers are decided.
    pub(super) framing: Option<Framing>,
    /// Headers decided but not yet written (they go with the first bytes).
    head_pending: Option<Vec<u8>>,
    /// Body bytes sent.
    pub(super) sent: u64,
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
    pub(super) fn set_known_length(&mut self, length: u64) {
        if self.state.framing.is_none() && self.state.start.content_length().is_none() {
            self.state.content_length = Some(length);
        }
    }

    // ANCHOR: framing_decision
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
        // ANCHOR_END: framing_decision

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

    // ANCHOR: send
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
    // ANCHOR_END: send

    /// Frames and sends body bytes (the `write` of PEP 3333 and every chunk).
    pub(super) fn write_body(&mut self, data: &[u8]) -> Result<(), AppError> {
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
    pub(super) fn write_file(
        &mut self,
        file: Box<dyn Read + Send>,
        length: u64,
    ) -> Result<(), AppError> {
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
    pub(super) fn finish(&mut self) -> Result<(), AppError> {
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

// ANCHOR: start_response_impl
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
// ANCHOR_END: start_response_impl

/// Writes text into bytes as latin-1, the encoding of header text on the
/// wire (the checks allow only U+0000–U+00FF), with a fast path for ASCII.
pub(super) struct LatinWriter<'a>(pub(super) &'a mut Vec<u8>);

impl LatinWriter<'_> {
    pub(super) fn push(&mut self, text: &str) {
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

pub(super) fn with_http_date(f: impl FnOnce(&str)) {
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
