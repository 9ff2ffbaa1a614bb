//! The WSGI task: running the application for one request and sending its
//! body, pausing when the client does not read, with every call into the
//! application's code guarded against panics.
//!
//! Separate from the [writer](super::ResponseWriter), which frames what this
//! sends: here is the order of events (call, body, close, environ) and what
//! a failure at each step becomes.
#![forbid(unsafe_code)]

use std::io::{self, Read};
use std::panic::{self, AssertUnwindSafe};

use super::failure::Failure;
use super::writer::ResponseState;
use super::{ErrorTask, ResponseOutput, ResponseWriter, TaskContext, TaskOutcome, TaskRequest};
use crate::gateway::{Application, BodyKind, Environ};
use crate::http::error::HttpError;

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

    // ANCHOR: wsgi_task_start
    // ANCHOR: start
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
        let version = request.info.version;
        let mut environ = Environ::from_request(
            request.info,
            context.logger.clone(),
            output.client_disconnected(),
        );
        let mut writer = ResponseWriter::new(output, context, version, head, request.close_after);
        let rest = run_application(app, &mut environ, &mut writer);
        go_on(environ, writer, rest, may_pause)
    }
    // ANCHOR_END: wsgi_task_start
    // ANCHOR_END: start
}

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
// ANCHOR_END: paused_response

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

// ANCHOR: rest_of_body
/// What is left to send of a body.
pub(super) enum RestOfBody {
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
// ANCHOR_END: rest_of_body

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
    let result = match rest {
        Err(failure) => Err(failure),
        Ok(mut rest) => match send_rest(&mut rest, &mut writer, may_pause) {
            Ok(true) => drop_caught(rest, CLOSING_BODY),
            Ok(false) => {
                return Progress::Paused(Box::new(PausedResponse {
                    environ: DropGuard(Some(environ)),
                    state: writer.state,
                    rest: DropGuard(Some(rest)),
                }));
            }
            Err(failure) => {
                let _ = drop_caught(rest, CLOSING_BODY); // the first failure is the one to report
                Err(failure)
            }
        },
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
        .for_head(writer.state.head)
        .service(writer.output, context)
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

// ANCHOR: send_rest_chunks
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
            // ANCHOR_END: send_rest_chunks
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
