//! The error task: a complete `text/plain` error response for a request the
//! server refused itself (400, 408, 413, 431, …) or an application that
//! failed before its headers went out (500).
//!
//! Separate from the WSGI task because no application runs: the server
//! writes the whole response itself, in one write.
#![forbid(unsafe_code)]

use std::fmt::Write as _;

use super::writer::{LatinWriter, with_http_date};
use super::{ResponseOutput, TaskContext, TaskOutcome};
use crate::http::error::HttpError;
use crate::http::parser::Version;

/// Answers a request the server refused (or a failed application) with a
/// complete `text/plain` error response, and always closes the connection:
/// after a framing error the server cannot know where the next request starts.
#[derive(Clone, Debug)]
pub struct ErrorTask {
    error: HttpError,
    version: Version,
    head: bool,
}

impl ErrorTask {
    /// A task that answers `error` in `version`.
    pub fn new(error: HttpError, version: Version) -> ErrorTask {
        ErrorTask {
            error,
            version,
            head: false,
        }
    }

    /// The same task answering a `HEAD` request: the headers a `GET` would
    /// get, `Content-Length` included, and no body (RFC 9110 §9.3.2).
    ///
    /// ```
    /// use waitress::http::error::HttpError;
    /// use waitress::http::parser::Version;
    /// use waitress::task::ErrorTask;
    ///
    /// let task = ErrorTask::new(HttpError::new(500, "boom"), Version::Http11).for_head(true);
    /// # let _ = task;
    /// ```
    pub fn for_head(self, head: bool) -> ErrorTask {
        ErrorTask { head, ..self }
    }

    // ANCHOR: error_task_service
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
        let body_bytes = if self.head { 0 } else { body.len() };
        bytes.extend_from_slice(&body.as_bytes()[..body_bytes]);
        let _ = output.write(&bytes);
        TaskOutcome {
            close: true,
            status: self.error.status,
            body_bytes: body_bytes as u64,
        }
    }
    // ANCHOR_END: error_task_service
}
