//! One connection: read, parse, queue requests, buffer output.
//!
//! A channel has two halves. The I/O thread owns a `Channel`: the parser
//! and what the poll loop needs to know (should it wait for readable,
//! writable). Both the I/O thread and, while a request is in service, one
//! worker share a `Shared`: the socket, the queue of complete requests and
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
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::gateway::{Application, ClientDisconnected, RequestInfo};
use crate::http::buffers::OverflowableBuffer;
use crate::http::error::HttpError;
use crate::http::parser::{Limits, ParseError, Request, RequestParser, Status, Version};
use crate::logging::Logger;
use crate::pool::{Dispatcher, Task};
use crate::task::{
    ErrorTask, PausedResponse, Progress, ResponseOutput, TaskContext, TaskRequest, WsgiTask,
};

/// `HTTP/1.1 100 Continue`, the interim response to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A connected socket: TCP or Unix domain.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).read(buf),
            Stream::Unix(s) => (&*s).read(buf),
        }
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write(buf),
            Stream::Unix(s) => (&*s).write(buf),
        }
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write_vectored(bufs),
            Stream::Unix(s) => (&*s).write_vectored(bufs),
        }
    }

    fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }

    fn shutdown_write(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
        };
    }

    pub(crate) fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// Where a connection's requests come from and arrive, for the environ.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionInfo {
    pub remote_addr: String,
    pub remote_port: String,
    pub server_port: String,
}

/// Identifies a channel to the I/O thread: its slot, and a generation so a
/// late wake-up for a closed channel cannot reach the slot's next tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub index: usize,
    pub generation: u64,
}

/// Wakes the I/O thread for a channel whose state a worker changed.
pub(crate) trait Wake: Send + Sync {
    fn wake(&self, token: Token);
    /// Wakes the loop itself (to offer tasks a full queue refused).
    fn wake_loop(&self);
}

/// What every channel of a server shares: the application and settings.
pub(crate) struct ServerShared {
    pub app: Arc<dyn Application>,
    pub task_context: TaskContext,
    pub logger: Logger,
    pub server_name: String,
    pub url_scheme: String,
    pub url_prefix: String,
    pub ident: Option<String>,
    pub limits: Limits,
    pub lookahead: usize,
    pub outbuf_overflow: usize,
    pub high_watermark: u64,
    pub log_socket_errors: bool,
    pub waker: Arc<dyn Wake>,
    pub dispatcher: Arc<dyn Dispatcher>,
    /// Some channel holds a task the dispatcher's full queue refused: a
    /// worker that finishes wakes the loop to offer it again.
    pub tasks_waiting: AtomicBool,
}

/// A complete request waiting for a worker, or the error to answer instead.
enum Queued {
    Request(Request),
    Error(HttpError, Version),
}

/// What the I/O thread and a worker share.
pub(crate) struct Shared {
    pub token: Token,
    pub stream: Stream,
    info: ConnectionInfo,
    state: Mutex<State>,
    /// Signalled when output drains below the watermark or the channel closes.
    drained: Condvar,
    disconnected: ClientDisconnected,
}

// ANCHOR: state
/// The state both threads see, under one lock.
struct State {
    /// Complete requests waiting for the worker, oldest first.
    requests: VecDeque<Queued>,
    /// A worker owns this channel (queued in the dispatcher or running).
    in_service: bool,
    /// Bytes (and files) the socket has not taken yet.
    output: Output,
    /// Close once the output is sent: after an error, `Connection: close`,
    /// end of file.
    close_when_flushed: bool,
    /// The I/O thread closed the socket, or a write found it broken.
    closed: bool,
    /// The I/O thread saw it readable but could not read (a request is in
    /// service); the worker must wake it when done.
    read_paused: bool,
    /// The channel is on the I/O thread's wake-up list already.
    notified: bool,
    /// A `100 Continue` is owed once the requests before it are answered.
    continue_owed: bool,
    /// The last time a byte was read or written.
    last_activity: Instant,
    /// A worker waits on `drained` for the output to shrink. Notifying a
    /// condition variable is a system call even with nobody waiting, so it
    /// is done only then.
    worker_waiting: bool,
    /// The worker gave the channel back because its client is not reading
    /// (the output is over `outbuf_high_watermark`). The channel stays in
    /// service; the I/O thread dispatches it again once the client has
    /// read half of that.
    waiting_for_room: bool,
    /// The response that paused, if it paused in the middle of one.
    paused: Option<Box<PausedResponse>>,
}
// ANCHOR_END: state

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the poll loop should do with a channel after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep polling it with the channel's current interest.
    Continue,
    /// Close and forget it.
    Close,
}

/// The I/O thread's half of a connection.
pub(crate) struct Channel {
    pub shared: Arc<Shared>,
    /// Boxed: a parser is most of a kilobyte, and an idle connection, which
    /// has none, should not pay for one in the I/O thread's slot array.
    parser: Option<Box<RequestParser>>,
    /// End of file, a read error, or a refused request: never read again.
    read_closed: bool,
    /// Poll for readable.
    pub want_read: bool,
    /// Poll for writable.
    pub want_write: bool,
    /// A task the dispatcher's bounded queue refused; offered again later.
    pub blocked_task: Option<Box<dyn Task>>,
    /// When the request head being received began (its first byte), until
    /// the head is complete: `request_header_timeout` counts from here.
    pub head_started: Option<Instant>,
    /// Since when the connection has waited for its next request (accepted,
    /// or its last request answered): at the connection limit the one
    /// waiting longest makes room for a new client.
    waiting_since: Instant,
}

impl Channel {
    /// A channel for a freshly accepted (nonblocking) socket.
    pub fn new(token: Token, stream: Stream, info: ConnectionInfo) -> Channel {
        Channel {
            shared: Arc::new(Shared {
                token,
                stream,
                info,
                state: Mutex::new(State {
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
    fn can_read(&self, state: &State, lookahead: usize) -> bool {
        !self.read_closed
            && !state.close_when_flushed
            && !state.closed
            && state.output.is_empty()
            && state.requests.len() + usize::from(state.in_service) <= lookahead
    }

    // ANCHOR: handle_read
    /// The socket is readable: read once, feed the parser, queue what is
    /// complete and hand the channel to the dispatcher if it has work.
    pub fn handle_read(&mut self, buffer: &mut [u8], server: &Arc<ServerShared>) -> Next {
        {
            let mut state = lock(&self.shared.state);
            if !self.can_read(&state, server.lookahead) {
                // Busy: stop polling for readable until the worker is done.
                state.read_paused = true;
                self.want_read = false;
                return Next::Continue;
            }
        }
        let read = loop {
            match self.shared.stream.read(buffer) {
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
                    self.parser = None;
                    self.head_started = None;
                    // Nothing after a refused request is ever parsed.
                    self.read_closed = true;
                    let mut answer = HttpError::from(error.clone());
                    if let ParseError::BodyStorage(cause) = &error {
                        // The only 500 the parser gives, and the server's
                        // fault (a full disk, a missing TMPDIR): say why in
                        // the log, and to the client only when allowed to.
                        log_storage_failure(server, &self.shared.info, cause);
                        if !server.task_context.expose_tracebacks {
                            answer =
                                HttpError::new(500, "The server could not store the request body");
                        }
                    }
                    queued.push(Queued::Error(answer, version));
                }
            }
        }
        let now = Instant::now();
        match &self.parser {
            Some(parser) if parser.is_reading_head() => {
                self.head_started.get_or_insert(now);
            }
            _ => self.head_started = None,
        }
        let mut state = lock(&self.shared.state);
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
    }
    // ANCHOR_END: handle_read

    /// The client sent end of file: answer what it asked, then close.
    fn end_of_file(&mut self) -> Next {
        self.read_closed = true;
        self.want_read = false;
        self.parser = None;
        self.head_started = None;
        self.shared.disconnected.mark_disconnected();
        let mut state = lock(&self.shared.state);
        if !state.in_service && state.requests.is_empty() && state.output.is_empty() {
            return Next::Close;
        }
        state.close_when_flushed = true;
        Next::Continue
    }

    /// Sends `100 Continue` now if this request is next in line, or owes it.
    fn expect_continue(&mut self) {
        let shared = Arc::clone(&self.shared);
        let mut state = lock(&shared.state);
        if state.requests.is_empty() && !state.in_service {
            self.send_continue(&mut state);
        } else {
            state.continue_owed = true;
        }
    }

    fn send_continue(&mut self, state: &mut State) {
        state.continue_owed = false;
        if state.output.push_bytes(CONTINUE, usize::MAX).is_ok() {
            self.want_write = true;
        }
    }

    /// Offers the channel to the dispatcher without blocking.
    fn dispatch(&mut self, server: &Arc<ServerShared>) {
        let task: Box<dyn Task> = Box::new(ChannelTask {
            shared: Arc::clone(&self.shared),
            server: Arc::clone(server),
        });
        self.offer(task, server);
    }

    /// Dispatches a channel that gave its worker back while in service.
    fn resume_service(&mut self, server: &Arc<ServerShared>) {
        let task: Box<dyn Task> = Box::new(ChannelTask {
            shared: Arc::clone(&self.shared),
            server: Arc::clone(server),
        });
        self.offer(task, server);
    }

    // ANCHOR: release_paused
    /// Before the I/O thread closes a channel whose response paused: the
    /// response holds the application's body, whose `close()` must run on
    /// a worker, so a task is dispatched to drop it there.
    pub fn release_paused(&mut self, server: &Arc<ServerShared>) {
        let mut state = lock(&self.shared.state);
        if !state.waiting_for_room {
            return;
        }
        state.waiting_for_room = false;
        state.closed = true;
        drop(state);
        let task = Box::new(ChannelTask {
            shared: Arc::clone(&self.shared),
            server: Arc::clone(server),
        });
        if let Err(task) = server.dispatcher.try_add_task(task) {
            // The queue is full or shut down: drop it here, panics caught.
            task.cancel();
        }
    }
    // ANCHOR_END: release_paused

    /// Offers a task to the dispatcher; a full queue keeps it for later and
    /// stops reading meanwhile (backpressure reaches the client through TCP).
    pub fn offer(&mut self, task: Box<dyn Task>, server: &Arc<ServerShared>) {
        match server.dispatcher.try_add_task(task) {
            Ok(()) => self.blocked_task = None,
            Err(task) => {
                self.blocked_task = Some(task);
                self.want_read = false;
                server.tasks_waiting.store(true, Ordering::SeqCst);
            }
        }
    }

    /// The socket is writable: send what is pending.
    pub fn handle_write(&mut self, scratch: &mut [u8], server: &Arc<ServerShared>) -> Next {
        let shared = Arc::clone(&self.shared);
        let mut state = lock(&shared.state);
        match state.output.flush_to(&shared.stream, scratch) {
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
            shared.drained.notify_all();
        }
        self.want_write = !state.output.is_empty();
        self.after_change(&mut state, server)
    }

    /// A worker changed the shared state: recompute what to poll for.
    pub fn refresh(&mut self, server: &Arc<ServerShared>) -> Next {
        let shared = Arc::clone(&self.shared);
        let mut state = lock(&shared.state);
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

    fn after_change(&mut self, state: &mut State, server: &Arc<ServerShared>) -> Next {
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
    pub fn check_idle(&mut self, now: Instant, timeout: Duration, context: &TaskContext) -> Next {
        let shared = Arc::clone(&self.shared);
        let mut state = lock(&shared.state);
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
    pub fn check_head_deadline(
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
        let shared = Arc::clone(&self.shared);
        let mut state = lock(&shared.state);
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
    fn answer_timeout(&mut self, state: &mut State, context: &TaskContext) -> Next {
        let Some(parser) = self.parser.take() else {
            return Next::Close;
        };
        let response = timeout_response(parser.response_version(), context);
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
    pub fn evictable_since(&self) -> Option<Instant> {
        if self.read_closed || self.blocked_task.is_some() {
            return None;
        }
        if self.parser.as_ref().is_some_and(|p| !p.is_reading_head()) {
            return None; // a body is arriving: the head was accepted
        }
        let state = lock(&self.shared.state);
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
    pub fn say_goodbye(&self, context: &TaskContext) {
        if let Some(parser) = &self.parser {
            let response = timeout_response(parser.response_version(), context);
            let _ = self.shared.stream.write(&response);
        }
    }

    /// Whether the channel has nothing accepted, queued, in service or
    /// pending: safe to close at shutdown. A head still arriving counts as
    /// nothing: the request was not accepted, and a client that trickles
    /// it must not hold the shutdown for its whole timeout.
    pub fn is_idle(&self) -> bool {
        let state = lock(&self.shared.state);
        self.parser.as_ref().is_none_or(|p| p.is_reading_head())
            && !state.in_service
            && state.requests.is_empty()
            && state.output.is_empty()
    }

    /// At shutdown: take no new requests; close once what was received is answered.
    pub fn close_when_done(&mut self) {
        self.read_closed = true;
        self.want_read = false;
        lock(&self.shared.state).close_when_flushed = true;
    }

    /// Closes the connection (the I/O thread only). A worker still holding
    /// the shared half sees `closed` and stops; the descriptor itself is
    /// released when the last holder lets go, so it cannot be reused while
    /// anyone might still use it.
    pub fn close(self) {
        self.shared.disconnected.mark_disconnected();
        if !self.is_shared() {
            return; // dropping the last holder closes the descriptor
        }
        let mut state = lock(&self.shared.state);
        state.closed = true;
        state.requests.clear();
        state.output.clear();
        if state.worker_waiting {
            self.shared.drained.notify_all();
        }
        drop(state);
        // Tell the client now, not when the worker lets go.
        self.shared.stream.shutdown();
    }

    /// Whether anyone but the I/O thread holds the connection: a worker
    /// serving it, or a task waiting in the dispatcher's queue. Only the I/O
    /// thread makes new holders, so `false` stays `false` here.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.shared) > 1
    }
}

/// The bytes of `408 Request Timeout`.
fn timeout_response(version: Version, context: &TaskContext) -> Vec<u8> {
    let mut response = Vec::new();
    ErrorTask::new(
        HttpError::new(408, "The client did not send a complete request in time"),
        version,
    )
    .service(&mut response, context);
    response
}

// ANCHOR: log_storage_failure
/// Logs why a request body could not be stored, which the client only sees
/// as a 500: the operator needs the cause and where the file was to go.
fn log_storage_failure(server: &ServerShared, info: &ConnectionInfo, cause: &str) {
    server.logger.error(
        "waitress",
        format_args!(
            "Answering 500 Internal Server Error to {}: could not store the request body in a temporary file under {}: {cause}",
            info.remote_addr,
            std::env::temp_dir().display()
        ),
    );
}
// ANCHOR_END: log_storage_failure

fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
    )
}

/// Queues the channel on the I/O thread's wake-up list, once.
fn wake(shared: &Shared, state: &mut State, server: &ServerShared) {
    if !state.notified {
        state.notified = true;
        server.waker.wake(shared.token);
    }
}

// ANCHOR: channel_task
/// The dispatcher's unit of work: answer a channel's queued requests, in
/// order, on one worker.
struct ChannelTask {
    shared: Arc<Shared>,
    server: Arc<ServerShared>,
}

/// What a worker does next for a channel.
enum Job {
    Resume(Box<PausedResponse>),
    Answer(Queued),
}

impl Task for ChannelTask {
    fn service(self: Box<Self>) {
        let ChannelTask { shared, server } = *self;
        loop {
            let job = {
                let mut state = lock(&shared.state);
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
                    wake(&shared, &mut state, &server);
                    return;
                } else {
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
                                wake(&shared, &mut state, &server);
                            }
                            drop(state);
                            drop(paused);
                            if server.tasks_waiting.load(Ordering::SeqCst) {
                                server.waker.wake_loop();
                            }
                            return;
                        }
                    }
                }
            };
            // Everything the application's code can reach runs guarded
            // inside; this is the last guard, for whatever escapes it.
            let served = panic::catch_unwind(AssertUnwindSafe(|| serve(job, &shared, &server)));
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
            match progress {
                Progress::Paused(paused) => {
                    let mut state = lock(&shared.state);
                    state.paused = Some(paused);
                    state.waiting_for_room = true;
                    wake(&shared, &mut state, &server);
                    return;
                }
                Progress::Done(outcome) if outcome.close => {
                    let mut state = lock(&shared.state);
                    state.close_when_flushed = true;
                    state.requests.clear();
                    state.in_service = false;
                    if state.output.is_empty() {
                        // Everything is sent: tell the client now. This is a
                        // shutdown, not a close, so the descriptor stays valid
                        // until the I/O thread closes it.
                        shared.stream.shutdown_write();
                    }
                    wake(&shared, &mut state, &server);
                    return;
                }
                Progress::Done(_) => {}
            }
        }
    }

    fn cancel(self: Box<Self>) {
        // The server is shutting down and this channel's requests will not
        // be served: drop them and let the I/O thread close it.
        let mut state = lock(&self.shared.state);
        state.requests.clear();
        let paused = state.paused.take();
        state.in_service = false;
        state.close_when_flushed = true;
        wake(&self.shared, &mut state, &self.server);
        drop(state);
        drop(paused);
    }
}

/// Runs one job: a new request (the application, or an error response) or
/// a paused response taken up again. It may pause.
fn serve(job: Job, shared: &Shared, server: &ServerShared) -> Progress {
    // A job starts below the watermark: the loop in `service` pauses
    // between responses otherwise, and resumes only below half of it.
    let mut output = ChannelOutput {
        shared,
        server,
        over_watermark: std::cell::Cell::new(false),
    };
    match job {
        Job::Resume(paused) => paused.resume(&mut output, &server.task_context, true),
        Job::Answer(Queued::Request(request)) => {
            let task_request = task_request(request, &shared.info, server);
            WsgiTask::new(&*server.app, task_request, &server.task_context).start(&mut output, true)
        }
        Job::Answer(Queued::Error(error, version)) => Progress::Done(
            ErrorTask::new(error, version).service(&mut output, &server.task_context),
        ),
    }
}

/// The text of a panic: `panic!` gives a `&str` or a `String`.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic with a non-text payload")
}
// ANCHOR_END: channel_task

fn task_request(request: Request, info: &ConnectionInfo, server: &ServerShared) -> TaskRequest {
    TaskRequest {
        info: RequestInfo {
            // The copies are made here, on the worker thread.
            method: request.method().to_string(),
            target: request.target().to_string(),
            protocol: request.version.as_str().to_string(),
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
        version: request.version,
        close_after: request.close_after,
    }
}

// ANCHOR: channel_output
/// A worker's view of the channel's output: send directly when nothing is
/// pending, buffer the rest, wait at the high watermark.
struct ChannelOutput<'a> {
    shared: &'a Shared,
    server: &'a ServerShared,
    /// The last write left more than the high watermark pending. Only this
    /// worker adds to the output while it serves (the I/O thread only
    /// drains it), so while this is false there is no need to look.
    over_watermark: std::cell::Cell<bool>,
}

impl ChannelOutput<'_> {
    /// Waits until the output is below the high watermark. Errors if the
    /// channel closed meanwhile.
    fn wait_for_room(&self) -> io::Result<MutexGuard<'_, State>> {
        let mut state = lock(&self.shared.state);
        loop {
            if state.closed {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            if state.output.len() <= self.server.high_watermark {
                return Ok(state);
            }
            wake(self.shared, &mut state, self.server);
            state.worker_waiting = true;
            state = self
                .shared
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
        let mut state = self.wait_for_room()?;
        if state.output.is_empty() {
            // Nothing is queued ahead: try the socket directly (it is
            // nonblocking), which saves the I/O thread a wake-up; both
            // pieces in one system call (writev), straight from where they are.
            while !first.is_empty() || !second.is_empty() {
                let parts = [IoSlice::new(first), IoSlice::new(second)];
                match self.shared.stream.write_vectored(&parts) {
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
                        wake(self.shared, &mut state, self.server);
                        return Err(e);
                    }
                }
            }
            state.last_activity = Instant::now();
        }
        if !first.is_empty() || !second.is_empty() {
            state
                .output
                .push_bytes(first, self.server.outbuf_overflow)?;
            state
                .output
                .push_bytes(second, self.server.outbuf_overflow)?;
            self.over_watermark
                .set(state.output.len() > self.server.high_watermark);
            wake(self.shared, &mut state, self.server);
        }
        Ok(())
    }

    fn write_file(&mut self, file: Box<dyn Read + Send>, len: u64) -> io::Result<u64> {
        // No wait for room: a file takes no memory until the I/O thread
        // streams it, a block at a time.
        let mut state = lock(&self.shared.state);
        if state.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        state.output.push_file(file, len);
        self.over_watermark
            .set(state.output.len() > self.server.high_watermark);
        wake(self.shared, &mut state, self.server);
        Ok(len)
    }

    fn should_pause(&self) -> bool {
        if !self.over_watermark.get() {
            return false;
        }
        let over = lock(&self.shared.state).output.len() > self.server.high_watermark;
        self.over_watermark.set(over);
        over
    }

    fn client_disconnected(&self) -> ClientDisconnected {
        self.shared.disconnected.clone()
    }

    // ANCHOR: will_close
    fn will_close(&self) -> bool {
        // Set at shutdown (`close_when_done`) or at the client's end of
        // file. Only the last queued response may say so: a server that
        // sends `Connection: close` answers nothing after it.
        let state = lock(&self.shared.state);
        state.close_when_flushed && state.requests.is_empty()
    }
    // ANCHOR_END: will_close
}
// ANCHOR_END: channel_output

// ANCHOR: output
/// The bytes and files a channel still has to send, in order.
#[derive(Default)]
pub(crate) struct Output {
    segments: VecDeque<Segment>,
    len: u64,
}

enum Segment {
    /// Bytes, in memory up to `outbuf_overflow`, then in a temporary file.
    Bytes(OverflowableBuffer),
    /// A file body, streamed a block at a time.
    File {
        reader: Box<dyn Read + Send>,
        remaining: u64,
        /// A block read from the file that the socket has not fully taken.
        block: Vec<u8>,
        sent_of_block: usize,
    },
}
// ANCHOR_END: output

/// What one flush did.
pub(crate) struct Flush {
    pub wrote: usize,
    pub file_ended_early: bool,
}

impl Output {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    fn push_bytes(&mut self, data: &[u8], overflow: usize) -> io::Result<()> {
        if !matches!(self.segments.back(), Some(Segment::Bytes(_))) {
            self.segments
                .push_back(Segment::Bytes(OverflowableBuffer::new(overflow)));
        }
        if let Some(Segment::Bytes(buffer)) = self.segments.back_mut() {
            buffer.append(data)?;
        }
        self.len += data.len() as u64;
        Ok(())
    }

    fn push_file(&mut self, reader: Box<dyn Read + Send>, len: u64) {
        if len == 0 {
            return;
        }
        self.segments.push_back(Segment::File {
            reader,
            remaining: len,
            block: Vec::new(),
            sent_of_block: 0,
        });
        self.len += len;
    }

    pub fn clear(&mut self) {
        self.segments.clear();
        self.len = 0;
    }

    /// Writes as much as the socket takes. `scratch` is the I/O thread's
    /// reusable buffer for bytes spooled to a file.
    fn flush_to(&mut self, stream: &Stream, scratch: &mut [u8]) -> io::Result<Flush> {
        let mut flush = Flush {
            wrote: 0,
            file_ended_early: false,
        };
        while let Some(segment) = self.segments.front_mut() {
            match segment {
                Segment::Bytes(buffer) => {
                    if buffer.is_empty() {
                        self.segments.pop_front();
                        continue;
                    }
                    // In memory: straight from the buffer; spooled: a block
                    // at a time through the scratch buffer.
                    let written = match buffer.in_memory() {
                        Some(bytes) => write_some(stream, bytes)?,
                        None => {
                            let available = buffer.peek_into(scratch)?;
                            write_some(stream, &scratch[..available])?
                        }
                    };
                    match written {
                        Some(sent) => {
                            buffer.skip(sent as u64)?;
                            self.len -= sent as u64;
                            flush.wrote += sent;
                        }
                        None => return Ok(flush),
                    }
                }
                Segment::File {
                    reader,
                    remaining,
                    block,
                    sent_of_block,
                } => {
                    if *sent_of_block == block.len() {
                        if *remaining == 0 {
                            self.segments.pop_front();
                            continue;
                        }
                        let want = scratch
                            .len()
                            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                        block.resize(want, 0);
                        let read = loop {
                            match reader.read(&mut block[..]) {
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                                other => break other?,
                            }
                        };
                        if read == 0 {
                            flush.file_ended_early = true;
                            return Ok(flush);
                        }
                        block.truncate(read);
                        *sent_of_block = 0;
                        *remaining -= read as u64;
                    }
                    match write_some(stream, &block[*sent_of_block..])? {
                        Some(sent) => {
                            *sent_of_block += sent;
                            self.len -= sent as u64;
                            flush.wrote += sent;
                        }
                        None => return Ok(flush),
                    }
                }
            }
        }
        Ok(flush)
    }
}

/// One nonblocking write: `Some(bytes written)`, or `None` when the socket
/// is full.
fn write_some(stream: &Stream, data: &[u8]) -> io::Result<Option<usize>> {
    loop {
        match stream.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => return Ok(Some(sent)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}
