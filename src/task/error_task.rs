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
}

impl ErrorTask {
    /// A task that answers `error` in `version`.
    pub fn new(error: HttpError, version: Version) -> ErrorTask {
        ErrorTask { error, version }
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
        bytes.extend_from_slice(body.as_bytes());
        let _ = output.write(&bytes);
        TaskOutcome {
            close: true,
            status: self.error.status,
            body_bytes: body.len() as u64,
        }
    }
    // ANCHOR_END: error_task_service
}
