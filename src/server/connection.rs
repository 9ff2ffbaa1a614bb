//! What the I/O thread and the worker serving a connection share: the
//! socket, the queue of complete requests and the output buffer, behind one
//! mutex; and what every connection of a server shares (`ServerContext`).
//! The I/O thread's own half is [`Channel`](super::channel::Channel); the
//! worker's is [`ChannelTask`](super::channel_task).
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::gateway::{Application, ClientDisconnected};
use crate::http::parser::{Limits, Request};
use crate::logging::Logger;
use crate::pool::Dispatcher;
use crate::task::{ErrorTask, PausedResponse, TaskContext};

use super::output::Output;
use super::stream::{ConnectionInfo, Stream};
use super::waker::{IoWaker, Token};

/// What every channel of a server shares: the application and settings.
pub(super) struct ServerContext {
    pub(super) app: Arc<dyn Application>,
    pub(super) task_context: TaskContext,
    pub(super) logger: Logger,
    pub(super) server_name: String,
    pub(super) url_scheme: String,
    pub(super) url_prefix: String,
    pub(super) ident: Option<String>,
    pub(super) limits: Limits,
    pub(super) lookahead: usize,
    pub(super) outbuf_overflow: usize,
    pub(super) high_watermark: u64,
    pub(super) log_socket_errors: bool,
    pub(super) waker: Arc<IoWaker>,
    pub(super) dispatcher: Arc<dyn Dispatcher>,
    /// Some channel holds a task the dispatcher's full queue refused: a
    /// worker that finishes wakes the loop to offer it again.
    pub(super) tasks_waiting: AtomicBool,
}

/// A complete request waiting for a worker, or the error to answer instead.
pub(super) enum Queued {
    Request(Request),
    Error(ErrorTask),
}

/// What the I/O thread and a worker share.
pub(super) struct Connection {
    pub(super) token: Token,
    pub(super) stream: Stream,
    pub(super) info: ConnectionInfo,
    pub(super) state: Mutex<ConnectionState>,
    /// Signalled when output drains below the watermark or the channel closes.
    pub(super) drained: Condvar,
    pub(super) disconnected: ClientDisconnected,
}

// ANCHOR: state
/// The state both threads see, under one lock.
pub(super) struct ConnectionState {
    /// Complete requests waiting for the worker, oldest first.
    pub(super) requests: VecDeque<Queued>,
    /// A worker owns this channel (queued in the dispatcher or running).
    pub(super) in_service: bool,
    /// Bytes (and files) the socket has not taken yet.
    pub(super) output: Output,
    /// Close once the output is sent: after an error, `Connection: close`,
    /// end of file.
    pub(super) close_when_flushed: bool,
    /// The I/O thread closed the socket, or a write found it broken.
    pub(super) closed: bool,
    /// The I/O thread saw it readable but could not read (a request is in
    /// service); the worker must wake it when done.
    pub(super) read_paused: bool,
    /// The channel is on the I/O thread's wake-up list already.
    pub(super) notified: bool,
    /// A `100 Continue` is owed once the requests before it are answered.
    pub(super) continue_owed: bool,
    /// The last time a byte was read or written.
    pub(super) last_activity: Instant,
    /// A worker waits on `drained` for the output to shrink. Notifying a
    /// condition variable is a system call even with nobody waiting, so it
    /// is done only then.
    pub(super) worker_waiting: bool,
    /// The worker gave the channel back because its client is not reading
    /// (the output is over `outbuf_high_watermark`). The channel stays in
    /// service; the I/O thread dispatches it again once the client has
    /// read half of that.
    pub(super) waiting_for_room: bool,
    /// The response that paused, if it paused in the middle of one.
    pub(super) paused: Option<Box<PausedResponse>>,
}
// ANCHOR_END: state

pub(super) fn lock(state: &Mutex<ConnectionState>) -> MutexGuard<'_, ConnectionState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the poll loop should do with a channel after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Keep polling it with the channel's current interest.
    Continue,
    /// Close and forget it.
    Close,
}

// ANCHOR: wake
/// Queues the channel on the I/O thread's wake-up list, once.
pub(super) fn wake(connection: &Connection, state: &mut ConnectionState, server: &ServerContext) {
    if !state.notified {
        state.notified = true;
        server.waker.wake(connection.token);
    }
}
// ANCHOR_END: wake
