//! One connection: read, parse, queue requests, buffer output.
//!
//! A channel has two halves. The I/O thread owns a `Channel`: the parser
//! and what the poll loop needs to know (should it wait for readable,
//! writable). Both the I/O thread and, while a request is in service, one
//! worker share a `Connection`: the socket, the queue of complete requests and
//! the output buffer, behind one mutex.
//!
//! The rules that keep a connection correct, each enforced here:
//!
//! * **One request in service at a time.** A channel is handed to the
//!   dispatcher when its first request is complete; the worker then answers
//!   the queued requests in order, so pipelined responses cannot overtake
//!   each other and one connection never occupies two workers.
//! * **Bounded reading.** The channel does not read while a request is queued
//!   or in service (unless `channel_request_lookahead` allows it) nor while
//!   output is pending: a client cannot make the server buffer without bound,
//!   and TCP's window pushes back on it.
//! * **Bounded writing.** A worker appends to the output buffer (after trying
//!   to send directly), and waits while more than `outbuf_high_watermark`
//!   bytes are pending, until the I/O thread has drained them.
//! * **Only the I/O thread closes.** A worker that sees a broken socket marks
//!   it and wakes the I/O thread (CVE-2022-31015: a worker closing a socket
//!   the I/O thread was polling killed Waitress).
//! * **Nothing after an error is dispatched.** Once a request was refused, or
//!   a response must end the connection, the bytes that follow are never
//!   parsed into requests (CVE-2024-49768).
//! * **End of file is final.** After a client half-closes, the channel never
//!   polls it for reading again, so it cannot spin (CVE-2024-49769).
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::gateway::ClientDisconnected;
use crate::http::error::HttpError;
use crate::http::parser::{ParseError, RequestParser, Status, Version};
use crate::pool::Task;
use crate::task::{ErrorTask, TaskContext};

use crate::task::failure::is_disconnect;

use super::channel_task::ChannelTask;
use super::connection::{Connection, ConnectionState, Next, Queued, ServerContext, lock};
use super::output::Output;
use super::stream::{ConnectionInfo, Stream};
use super::waker::Token;

/// `HTTP/1.1 100 Continue`, the interim response to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The I/O thread's half of a connection. The poll loop may read and set
/// the `pub(super)` fields (what to poll for, a task to offer again, when a
/// head began); everything else changes only through the methods.
pub(super) struct Channel {
    /// The half a worker shares.
    pub(super) connection: Arc<Connection>,
    /// Boxed: a parser is most of a kilobyte, and an idle connection, which
    /// has none, should not pay for one in the I/O thread's slot array.
    parser: Option<Box<RequestParser>>,
    /// End of file, a read error, or a refused request: never read again.
    read_closed: bool,
    /// Poll for readable.
    pub(super) want_read: bool,
    /// Poll for writable.
    pub(super) want_write: bool,
    /// A task the dispatcher's bounded queue refused; offered again later.
    pub(super) blocked_task: Option<Box<dyn Task>>,
    /// When the request head being received began (its first byte), until
    /// the head is complete: `request_header_timeout` counts from here.
    pub(super) head_started: Option<Instant>,
    /// Since when the connection has waited for its next request (accepted,
    /// or its last request answered): at the connection limit the one
    /// waiting longest makes room for a new client.
    waiting_since: Instant,
}

impl Channel {
    /// A channel for a freshly accepted (nonblocking) socket.
    pub(super) fn new(token: Token, stream: Stream, info: ConnectionInfo) -> Channel {
        Channel {
            connection: Arc::new(Connection {
                token,
                stream,
                info,
                state: Mutex::new(ConnectionState {
                    requests: VecDeque::new(),
                    in_service: false,
                    output: Output::default(),
                    close_when_flushed: false,
                    closed: false,
                    read_paused: false,
                    notified: false,
                    continue_owed: false,
                    last_activity: Instant::now(),
                    worker_waiting: false,
                    waiting_for_room: false,
                    paused: None,
                }),
                drained: Condvar::new(),
                disconnected: ClientDisconnected::new(),
            }),
            parser: None,
            read_closed: false,
            want_read: true,
            want_write: false,
            blocked_task: None,
            head_started: None,
            waiting_since: Instant::now(),
        }
    }

    /// Whether the channel may read now (the lock is held).
    fn can_read(&self, state: &ConnectionState, lookahead: usize) -> bool {
        !self.read_closed
            && !state.close_when_flushed
            && !state.closed
            && state.output.is_empty()
            && state.requests.len() + usize::from(state.in_service) <= lookahead
    }

    /// The socket is readable: read once, feed the parser, queue what is
    /// complete and hand the channel to the dispatcher if it has work.
    pub(super) fn handle_read(&mut self, buffer: &mut [u8], server: &Arc<ServerContext>) -> Next {
        {
            let mut state = lock(&self.connection.state);
            if !self.can_read(&state, server.lookahead) {
                // Busy: stop polling for readable until the worker is done.
                state.read_paused = true;
                self.want_read = false;
                return Next::Continue;
            }
        }
        let read = loop {
            match self.connection.stream.read(buffer) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let count = match read {
            Ok(0) => return self.end_of_file(),
            Ok(count) => count,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Continue,
            Err(e) => {
                if server.log_socket_errors {
                    server
                        .logger
                        .info("waitress", format_args!("Socket error: {e}"));
                }
                return Next::Close;
            }
        };
        // ANCHOR: parse_loop
        // ANCHOR: feed_parser
        let mut data = &buffer[..count];
        let mut queued = Vec::new();
        while !data.is_empty() && !self.read_closed {
            let parser = self
                .parser
                .get_or_insert_with(|| Box::new(RequestParser::new(server.limits)));
            let received = parser.received(data);
            data = &data[received.consumed.min(data.len())..];
            match received.status {
                Status::NeedMore => break,
                Status::ExpectContinue => self.expect_continue(),
                Status::Complete(request) => {
                    self.parser = None;
                    self.head_started = None;
                    queued.push(Queued::Request(request));
                }
                Status::Error { error, version } => {
                    let head = parser.is_head();
                    self.parser = None;
                    self.head_started = None;
                    // Nothing after a refused request is ever parsed.
                    self.read_closed = true;
                    let mut answer = HttpError::from(error.clone());
                    if let ParseError::BodyStorage(cause) = &error {
                        // The only 500 the parser gives, and the server's
                        // fault (a full disk, a missing TMPDIR): say why in
                        // the log, and to the client only when allowed to.
                        log_storage_failure(server, &self.connection.info, cause);
                        if !server.task_context.expose_tracebacks {
                            answer =
                                HttpError::new(500, "The server could not store the request body");
                        }
                    }
                    let task = ErrorTask::new(answer, version).for_head(head);
                    queued.push(Queued::Error(task));
                }
            }
        }
        // ANCHOR_END: parse_loop
        // ANCHOR_END: feed_parser
        let now = Instant::now();
        match &self.parser {
            Some(parser) if parser.is_reading_head() => {
                self.head_started.get_or_insert(now);
            }
            _ => self.head_started = None,
        }
        // ANCHOR: queue_requests
        let mut state = lock(&self.connection.state);
        state.last_activity = now;
        if !queued.is_empty() && !state.close_when_flushed && !state.closed {
            if state.requests.capacity() == 0 {
                // Room for what came, not the default four: an idle
                // keep-alive connection keeps this allocation.
                state.requests.reserve_exact(queued.len());
            }
            state.requests.extend(queued);
            if !state.in_service {
                state.in_service = true;
                drop(state);
                self.dispatch(server);
                return Next::Continue;
            }
        }
        Next::Continue
        // ANCHOR_END: queue_requests
    }

    /// The client sent end of file: answer what it asked, then close.
    fn end_of_file(&mut self) -> Next {
        self.read_closed = true;
        self.want_read = false;
        self.parser = None;
        self.head_started = None;
        self.connection.disconnected.mark_disconnected();
        let mut state = lock(&self.connection.state);
        if !state.in_service && state.requests.is_empty() && state.output.is_empty() {
            return Next::Close;
        }
        state.close_when_flushed = true;
        Next::Continue
    }

    /// Sends `100 Continue` now if this request is next in line, or owes it.
    fn expect_continue(&mut self) {
        let connection = Arc::clone(&self.connection);
        let mut state = lock(&connection.state);
        if state.requests.is_empty() && !state.in_service {
            self.send_continue(&mut state);
        } else {
            state.continue_owed = true;
        }
    }

    fn send_continue(&mut self, state: &mut ConnectionState) {
        state.continue_owed = false;
        if state.output.push_bytes(CONTINUE, usize::MAX).is_ok() {
            self.want_write = true;
        }
    }

    /// Offers the channel to the dispatcher without blocking.
    fn dispatch(&mut self, server: &Arc<ServerContext>) {
        let task: Box<dyn Task> = Box::new(ChannelTask {
            connection: Arc::clone(&self.connection),
            server: Arc::clone(server),
        });
        self.offer(task, server);
    }

    /// Dispatches a channel that gave its worker back while in service.
    fn resume_service(&mut self, server: &Arc<ServerContext>) {
        let task: Box<dyn Task> = Box::new(ChannelTask {
            connection: Arc::clone(&self.connection),
            server: Arc::clone(server),
        });
        self.offer(task, server);
    }

    // ANCHOR: release_paused
    /// Before the I/O thread closes a channel whose response paused: the
    /// response holds the application's body, whose `close()` must run on
    /// a worker, so a task is dispatched to drop it there.
    pub(super) fn release_paused(&mut self, server: &Arc<ServerContext>) {
        let mut state = lock(&self.connection.state);
        if !state.waiting_for_room {
            return;
        }
        state.waiting_for_room = false;
        state.closed = true;
        drop(state);
        let task = Box::new(ChannelTask {
            connection: Arc::clone(&self.connection),
            server: Arc::clone(server),
        });
        if let Err(task) = server.dispatcher.try_add_task(task) {
            // The queue is full or shut down: drop it here, panics caught.
            task.cancel();
        }
    }
    // ANCHOR_END: release_paused

    // ANCHOR: offer
    /// Offers a task to the dispatcher; a full queue keeps it for later and
    /// stops reading meanwhile (backpressure reaches the client through TCP).
    pub(super) fn offer(&mut self, task: Box<dyn Task>, server: &Arc<ServerContext>) {
        match server.dispatcher.try_add_task(task) {
            Ok(()) => self.blocked_task = None,
            Err(task) => {
                self.blocked_task = Some(task);
                self.want_read = false;
                server.tasks_waiting.store(true, Ordering::SeqCst);
            }
        }
    }
    // ANCHOR_END: offer

    // ANCHOR: handle_write
    /// The socket is writable: send what is pending.
    pub(super) fn handle_write(&mut self, scratch: &mut [u8], server: &Arc<ServerContext>) -> Next {
        let connection = Arc::clone(&self.connection);
        let mut state = lock(&connection.state);
        match state.output.flush_to(&connection.stream, scratch) {
            Ok(flush) => {
                if flush.wrote > 0 {
                    state.last_activity = Instant::now();
                }
                if flush.file_ended_early {
                    // A file shorter than its Content-Length: the client was
                    // promised more bytes than exist, so end the connection.
                    state.output.clear();
                    return Next::Close;
                }
            }
            Err(e) => {
                if server.log_socket_errors && !is_disconnect(&e) {
                    server
                        .logger
                        .info("waitress", format_args!("Socket error: {e}"));
                }
                return Next::Close;
            }
        }
        if state.output.len() <= server.high_watermark && state.worker_waiting {
            connection.drained.notify_all();
        }
        self.want_write = !state.output.is_empty();
        self.after_change(&mut state, server)
    }
    // ANCHOR_END: handle_write

    /// A worker changed the connection state: recompute what to poll for.
    pub(super) fn refresh(&mut self, server: &Arc<ServerContext>) -> Next {
        let connection = Arc::clone(&self.connection);
        let mut state = lock(&connection.state);
        state.notified = false;
        if state.closed {
            return Next::Close;
        }
        if state.continue_owed && !state.in_service && state.requests.is_empty() {
            self.send_continue(&mut state);
        }
        if !state.in_service {
            self.waiting_since = Instant::now();
        }
        self.want_write = !state.output.is_empty();
        self.after_change(&mut state, server)
    }

    fn after_change(&mut self, state: &mut ConnectionState, server: &Arc<ServerContext>) -> Next {
        if state.output.is_empty() && state.close_when_flushed && !state.in_service {
            return Next::Close;
        }
        if state.waiting_for_room && state.output.len() <= server.high_watermark / 2 {
            // The client caught up: a worker takes the response up again.
            state.waiting_for_room = false;
            self.resume_service(server);
        }
        if self.read_closed || state.close_when_flushed {
            self.want_read = false;
        } else if state.read_paused && self.can_read(state, server.lookahead) {
            state.read_paused = false;
            self.want_read = true;
        } else if !state.read_paused && self.blocked_task.is_none() {
            self.want_read = true;
        }
        Next::Continue
    }

    // ANCHOR: check_idle
    /// The idle sweep. A connection idle for longer than the timeout, with
    /// no request in service, is closed; one that stalled in the middle of a
    /// request is told so with `408 Request Timeout` first. A response the
    /// client has not read from for as long is abandoned: the connection
    /// closes, and a worker waiting to write gets an error and moves on.
    pub(super) fn check_idle(
        &mut self,
        now: Instant,
        timeout: Duration,
        context: &TaskContext,
    ) -> Next {
        let connection = Arc::clone(&self.connection);
        let mut state = lock(&connection.state);
        let stalled = now.saturating_duration_since(state.last_activity) >= timeout;
        if !state.output.is_empty() {
            // Reading pauses while output is pending, so the last activity
            // is the last write the client made room for.
            return if stalled { Next::Close } else { Next::Continue };
        }
        if state.in_service || !state.requests.is_empty() || !stalled {
            return Next::Continue;
        }
        if self.parser.is_none() {
            return Next::Close;
        }
        self.answer_timeout(&mut state, context)
    }
    // ANCHOR_END: check_idle

    // ANCHOR: head_deadline
    /// `request_header_timeout`: a head that began longer ago than
    /// `timeout` and is still incomplete is answered with `408` and the
    /// connection closes, however steadily its bytes trickle in. Returns
    /// when to look again, if the head is still being received.
    pub(super) fn check_head_deadline(
        &mut self,
        now: Instant,
        timeout: Duration,
        context: &TaskContext,
    ) -> (Next, Option<Instant>) {
        let Some(started) = self.head_started else {
            return (Next::Continue, None);
        };
        let deadline = started + timeout;
        if now < deadline {
            return (Next::Continue, Some(deadline));
        }
        let connection = Arc::clone(&self.connection);
        let mut state = lock(&connection.state);
        if state.in_service || !state.requests.is_empty() || !state.output.is_empty() {
            // Read ahead while an earlier request is answered: time it out
            // once that response is out, not in the middle of it.
            return (Next::Continue, Some(now + Duration::from_secs(1)));
        }
        self.head_started = None;
        (self.answer_timeout(&mut state, context), None)
    }
    // ANCHOR_END: head_deadline

    /// Queues `408 Request Timeout` for the request being received, and
    /// closes once it is sent.
    fn answer_timeout(&mut self, state: &mut ConnectionState, context: &TaskContext) -> Next {
        let Some(parser) = self.parser.take() else {
            return Next::Close;
        };
        let response = timeout_response(parser.response_version(), parser.is_head(), context);
        if state.output.push_bytes(&response, usize::MAX).is_err() {
            return Next::Close;
        }
        self.read_closed = true;
        self.want_read = false;
        self.want_write = true;
        state.close_when_flushed = true;
        Next::Continue
    }

    // ANCHOR: evictable
    /// When this connection began waiting for its next request, if closing
    /// it to make room at the connection limit loses nothing the server has
    /// accepted: no request queued, in service or being answered, and no
    /// request body being received. An idle keep-alive connection and one
    /// still sending its head qualify.
    pub(super) fn evictable_since(&self) -> Option<Instant> {
        if self.read_closed || self.blocked_task.is_some() {
            return None;
        }
        if self.parser.as_ref().is_some_and(|p| !p.is_reading_head()) {
            return None; // a body is arriving: the head was accepted
        }
        let state = lock(&self.connection.state);
        let busy = state.in_service
            || !state.requests.is_empty()
            || !state.output.is_empty()
            || state.close_when_flushed
            || state.closed;
        (!busy).then_some(self.waiting_since)
    }
    // ANCHOR_END: evictable

    /// Before the I/O thread closes this connection to make room: a client
    /// in the middle of its head is told `408`, in one nonblocking write
    /// (best effort: the socket is closed right after).
    pub(super) fn say_goodbye(&self, context: &TaskContext) {
        if let Some(parser) = &self.parser {
            let response = timeout_response(parser.response_version(), parser.is_head(), context);
            let _ = self.connection.stream.write(&response);
        }
    }

    /// Whether the channel has nothing accepted, queued, in service or
    /// pending: safe to close at shutdown. A head still arriving counts as
    /// nothing: the request was not accepted, and a client that trickles
    /// it must not hold the shutdown for its whole timeout.
    pub(super) fn is_idle(&self) -> bool {
        let state = lock(&self.connection.state);
        self.parser.as_ref().is_none_or(|p| p.is_reading_head())
            && !state.in_service
            && state.requests.is_empty()
            && state.output.is_empty()
    }

    /// At shutdown: take no new requests; close once what was received is answered.
    pub(super) fn close_when_done(&mut self) {
        self.read_closed = true;
        self.want_read = false;
        lock(&self.connection.state).close_when_flushed = true;
    }

    /// Closes the connection (the I/O thread only). A worker still holding
    /// the connection half sees `closed` and stops; the descriptor itself is
    /// released when the last holder lets go, so it cannot be reused while
    /// anyone might still use it.
    pub(super) fn close(self) {
        self.connection.disconnected.mark_disconnected();
        if !self.is_shared() {
            return; // dropping the last holder closes the descriptor
        }
        let mut state = lock(&self.connection.state);
        state.closed = true;
        state.requests.clear();
        state.output.clear();
        if state.worker_waiting {
            self.connection.drained.notify_all();
        }
        drop(state);
        // Tell the client now, not when the worker lets go.
        self.connection.stream.shutdown();
    }

    /// Whether anyone but the I/O thread holds the connection: a worker
    /// serving it, or a task waiting in the dispatcher's queue. Only the I/O
    /// thread makes new holders, so `false` stays `false` here.
    pub(super) fn is_shared(&self) -> bool {
        Arc::strong_count(&self.connection) > 1
    }
}

/// The bytes of `408 Request Timeout`.
fn timeout_response(version: Version, head: bool, context: &TaskContext) -> Vec<u8> {
    let mut response = Vec::new();
    ErrorTask::new(
        HttpError::new(408, "The client did not send a complete request in time"),
        version,
    )
    .for_head(head)
    .service(&mut response, context);
    response
}

/// Logs why a request body could not be stored, which the client only sees
/// as a 500: the operator needs the cause and where the file was to go.
fn log_storage_failure(server: &ServerContext, info: &ConnectionInfo, cause: &str) {
    server.logger.error(
        "waitress",
        format_args!(
            "Answering 500 Internal Server Error to {}: could not store the request body in a temporary file under {}: {cause}",
            info.remote_addr,
            std::env::temp_dir().display()
        ),
    );
}
