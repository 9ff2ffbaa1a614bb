//! The worker's half of a connection: the dispatcher's task that answers a
//! connection's queued requests in order, and the output a response is
//! written to (send directly when nothing is pending, buffer the rest,
//! pause or wait at the high watermark).
#![forbid(unsafe_code)]

use std::io::{self, IoSlice, Read};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Instant;

use crate::gateway::{ClientDisconnected, RequestInfo};
use crate::http::parser::Request;
use crate::pool::Task;
use crate::task::{PausedResponse, Progress, ResponseOutput, TaskRequest, WsgiTask};

use crate::task::failure::panic_message;

use super::connection::{Connection, ConnectionState, Queued, ServerContext, lock, wake};
use super::stream::ConnectionInfo;

/// The dispatcher's unit of work: answer a channel's queued requests, in
/// order, on one worker.
pub(super) struct ChannelTask {
    pub(super) connection: Arc<Connection>,
    pub(super) server: Arc<ServerContext>,
}

/// What a worker does next for a channel.
pub(super) enum Job {
    Resume(Box<PausedResponse>),
    Answer(Queued),
}

impl Task for ChannelTask {
    fn service(self: Box<Self>) {
        let ChannelTask { connection, server } = *self;
        loop {
            let job = {
                let mut state = lock(&connection.state);
                let resumable = if state.closed {
                    None
                } else {
                    state.paused.take()
                };
                if let Some(paused) = resumable {
                    Job::Resume(paused)
                } else if !state.closed
                    && !state.requests.is_empty()
                    && state.output.len() > server.high_watermark
                {
                    // Between two responses, and the client is behind:
                    // give the worker back until it reads.
                    state.waiting_for_room = true;
                    wake(&connection, &mut state, &server);
                    return;
                } else {
                    // ANCHOR: next_request
                    // ANCHOR: pop_request
                    match state.requests.pop_front() {
                        Some(request) if !state.closed => Job::Answer(request),
                        _ => {
                            // Done, or closed (a paused response left is
                            // dropped here, on the worker).
                            let paused = state.paused.take();
                            state.in_service = false;
                            let needs_io_thread = state.read_paused
                                || !state.output.is_empty()
                                || state.close_when_flushed
                                || state.closed
                                || state.continue_owed;
                            if needs_io_thread {
                                wake(&connection, &mut state, &server);
                            }
                            drop(state);
                            drop(paused);
                            if server.tasks_waiting.load(Ordering::SeqCst) {
                                server.waker.wake_loop();
                            }
                            return;
                        }
                    }
                    // ANCHOR_END: next_request
                    // ANCHOR_END: pop_request
                }
            };
            // ANCHOR: last_guard
            // Everything the application's code can reach runs guarded
            // inside; this is the last guard, for whatever escapes it.
            let served = panic::catch_unwind(AssertUnwindSafe(|| serve(job, &connection, &server)));
            let progress = served.unwrap_or_else(|payload| {
                server.logger.error(
                    "waitress",
                    format_args!(
                        "Exception while serving a request: panicked: {}",
                        panic_message(payload.as_ref())
                    ),
                );
                Progress::Done(crate::task::TaskOutcome {
                    close: true,
                    status: 0,
                    body_bytes: 0,
                })
            });
            // ANCHOR_END: last_guard
            match progress {
                Progress::Paused(paused) => {
                    let mut state = lock(&connection.state);
                    state.paused = Some(paused);
                    state.waiting_for_room = true;
                    wake(&connection, &mut state, &server);
                    return;
                }
                Progress::Done(outcome) if outcome.close => {
                    let mut state = lock(&connection.state);
                    state.close_when_flushed = true;
                    state.requests.clear();
                    state.in_service = false;
                    if state.output.is_empty() {
                        // Everything is sent: tell the client now. This is a
                        // shutdown, not a close, so the descriptor stays valid
                        // until the I/O thread closes it.
                        connection.stream.shutdown_write();
                    }
                    wake(&connection, &mut state, &server);
                    return;
                }
                Progress::Done(_) => {}
            }
        }
    }

    fn cancel(self: Box<Self>) {
        // The server is shutting down and this channel's requests will not
        // be served: drop them and let the I/O thread close it.
        let mut state = lock(&self.connection.state);
        state.requests.clear();
        let paused = state.paused.take();
        state.in_service = false;
        state.close_when_flushed = true;
        wake(&self.connection, &mut state, &self.server);
        drop(state);
        drop(paused);
    }
}

// ANCHOR: serve
/// Runs one job: a new request (the application, or an error response) or
/// a paused response taken up again. It may pause.
pub(super) fn serve(job: Job, connection: &Connection, server: &ServerContext) -> Progress {
    // A job starts below the watermark: the loop in `service` pauses
    // between responses otherwise, and resumes only below half of it.
    let mut output = ChannelOutput {
        connection,
        server,
        over_watermark: std::cell::Cell::new(false),
    };
    match job {
        Job::Resume(paused) => paused.resume(&mut output, &server.task_context, true),
        Job::Answer(Queued::Request(request)) => {
            let task_request = task_request(request, &connection.info, server);
            WsgiTask::new(&*server.app, task_request, &server.task_context).start(&mut output, true)
        }
        Job::Answer(Queued::Error(task)) => {
            Progress::Done(task.service(&mut output, &server.task_context))
        }
    }
}
// ANCHOR_END: serve

pub(super) fn task_request(
    request: Request,
    info: &ConnectionInfo,
    server: &ServerContext,
) -> TaskRequest {
    TaskRequest {
        info: RequestInfo {
            // The copies are made here, on the worker thread.
            method: request.method().to_string(),
            target: request.target().to_string(),
            version: request.version,
            headers: request.to_cgi_headers(),
            body: request.body,
            remote_addr: info.remote_addr.clone(),
            remote_port: info.remote_port.clone(),
            server_name: server.server_name.clone(),
            server_port: info.server_port.clone(),
            url_scheme: server.url_scheme.clone(),
            url_prefix: server.url_prefix.clone(),
            ident: server.ident.clone(),
        },
        close_after: request.close_after,
    }
}

/// A worker's view of the channel's output: send directly when nothing is
/// pending, buffer the rest, wait at the high watermark.
pub(super) struct ChannelOutput<'a> {
    pub(super) connection: &'a Connection,
    pub(super) server: &'a ServerContext,
    /// The last write left more than the high watermark pending. Only this
    /// worker adds to the output while it serves (the I/O thread only
    /// drains it), so while this is false there is no need to look.
    pub(super) over_watermark: std::cell::Cell<bool>,
}

impl ChannelOutput<'_> {
    /// Waits until the output is below the high watermark. Errors if the
    /// channel closed meanwhile.
    fn wait_for_room(&self) -> io::Result<MutexGuard<'_, ConnectionState>> {
        let mut state = lock(&self.connection.state);
        loop {
            if state.closed {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            if state.output.len() <= self.server.high_watermark {
                return Ok(state);
            }
            wake(self.connection, &mut state, self.server);
            state.worker_waiting = true;
            state = self
                .connection
                .drained
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.worker_waiting = false;
        }
    }
}

impl ResponseOutput for ChannelOutput<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.write_parts(data, &[])
    }

    fn write_parts(&mut self, mut first: &[u8], mut second: &[u8]) -> io::Result<()> {
        // ANCHOR: write_parts
        // ANCHOR: write_directly
        let mut state = self.wait_for_room()?;
        if state.output.is_empty() {
            // Nothing is queued ahead: try the socket directly (it is
            // nonblocking), which saves the I/O thread a wake-up; both
            // pieces in one system call (writev), straight from where they are.
            while !first.is_empty() || !second.is_empty() {
                let parts = [IoSlice::new(first), IoSlice::new(second)];
                match self.connection.stream.write_vectored(&parts) {
                    Ok(0) => break,
                    Ok(mut sent) => {
                        let from_first = sent.min(first.len());
                        first = &first[from_first..];
                        sent -= from_first;
                        second = &second[sent..];
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        // Broken: mark it, and let the I/O thread close it.
                        state.closed = true;
                        wake(self.connection, &mut state, self.server);
                        return Err(e);
                    }
                }
            }
            state.last_activity = Instant::now();
        }
        // ANCHOR_END: write_directly
        // ANCHOR: buffer_the_rest
        if !first.is_empty() || !second.is_empty() {
            state
                .output
                .push_bytes(first, self.server.outbuf_overflow)?;
            state
                .output
                .push_bytes(second, self.server.outbuf_overflow)?;
            self.over_watermark
                .set(state.output.len() > self.server.high_watermark);
            wake(self.connection, &mut state, self.server);
        }
        Ok(())
        // ANCHOR_END: write_parts
        // ANCHOR_END: buffer_the_rest
    }

    fn write_file(&mut self, file: Box<dyn Read + Send>, len: u64) -> io::Result<u64> {
        // No wait for room: a file takes no memory until the I/O thread
        // streams it, a block at a time.
        let mut state = lock(&self.connection.state);
        if state.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        state.output.push_file(file, len);
        self.over_watermark
            .set(state.output.len() > self.server.high_watermark);
        wake(self.connection, &mut state, self.server);
        Ok(len)
    }

    fn should_pause(&self) -> bool {
        if !self.over_watermark.get() {
            return false;
        }
        let over = lock(&self.connection.state).output.len() > self.server.high_watermark;
        self.over_watermark.set(over);
        over
    }

    fn client_disconnected(&self) -> ClientDisconnected {
        self.connection.disconnected.clone()
    }

    // ANCHOR: will_close
    fn will_close(&self) -> bool {
        // Set at shutdown (`close_when_done`) or at the client's end of
        // file. Only the last queued response may say so: a server that
        // sends `Connection: close` answers nothing after it.
        let state = lock(&self.connection.state);
        state.close_when_flushed && state.requests.is_empty()
    }
    // ANCHOR_END: will_close
}
