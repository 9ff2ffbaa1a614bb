//! The thread pool: [`ThreadedTaskDispatcher`], a Mutex + Condvar FIFO queue.
//!
//! Waitress runs every request on a fixed pool of worker threads fed by one
//! queue. The I/O thread parses a request and hands the pool a [`Task`]; a
//! worker takes the oldest task, runs it, and goes straight on to the next one.
//! The queue has two ends with a lock each, so the thread adding tasks and
//! the threads taking them rarely wait for one another; the book's chapter
//! "The thread pool" builds it up from a single Mutex and Condvar.
//!
//! What this pool adds to the textbook version (the Rust Book's, chapter 21):
//!
//! - **Backpressure.** An optional bound on the queue: [`Dispatcher::add_task`]
//!   blocks while the queue is full, and [`Dispatcher::try_add_task`] hands the
//!   task back instead, so the I/O thread can stop reading rather than block.
//! - **Panics are survived.** A task that panics is logged and counted; the
//!   worker carries on. The pool never loses threads.
//! - **Resizing and shutdown.** [`Dispatcher::set_thread_count`] grows or
//!   shrinks the pool at run time; [`Dispatcher::shutdown`] stops accepting
//!   tasks, cancels the queued ones, waits (with a timeout) for the running
//!   ones and reports the threads that did not finish in time.
//! - **Observability.** [`ThreadedTaskDispatcher::stats`] reads every counter
//!   at once, and Waitress's `Task queue depth is N` warning (rate-limited) tells
//!   the operator that requests are waiting for a thread.
//!
//! ```
//! use std::sync::mpsc;
//! use std::time::Duration;
//! use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
//!
//! let pool = ThreadedTaskDispatcher::new();
//! pool.set_thread_count(2);
//! let (done, finished) = mpsc::channel();
//! for n in 0..3 {
//!     let done = done.clone();
//!     pool.add_task(Box::new(move || done.send(n * n).unwrap()));
//! }
//! let mut squares: Vec<i32> = finished.iter().take(3).collect();
//! squares.sort();
//! assert_eq!(squares, [0, 1, 4]);
//! assert_eq!(pool.shutdown(true, Duration::from_secs(5)), 0);
//! ```
//!
//! The files, in the order the book reads them: this one holds the
//! [`Task`] and [`Dispatcher`] traits and the counters; `state.rs` the
//! pool's state (the two-lock queue); `worker.rs` the worker threads;
//! `submit.rs` how a task gets in; `dispatcher.rs` the
//! [`ThreadedTaskDispatcher`] itself; `shutdown.rs` cancelling and
//! stopping; `builder.rs` the [`DispatcherBuilder`].
#![forbid(unsafe_code)]

mod builder;
mod dispatcher;
mod shutdown;
mod state;
mod submit;
mod worker;

pub(crate) use worker::panic_message;

pub use builder::DispatcherBuilder;
pub use dispatcher::ThreadedTaskDispatcher;

use std::time::Duration;

/// The number of worker threads Waitress's server starts (its `threads`
/// setting): the server calls `set_thread_count(DEFAULT_THREADS)` unless told
/// otherwise.
///
/// ```
/// assert_eq!(waitress::pool::DEFAULT_THREADS, 4);
/// ```
pub const DEFAULT_THREADS: usize = 4;

/// The shortest time between two `Task queue depth is N` warnings, unless
/// [`DispatcherBuilder::queue_warning_interval`] says otherwise.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(waitress::pool::DEFAULT_QUEUE_WARNING_INTERVAL, Duration::from_secs(1));
/// ```
pub const DEFAULT_QUEUE_WARNING_INTERVAL: Duration = Duration::from_secs(1);

/// How long one idle worker spins before sleeping, unless
/// [`DispatcherBuilder::idle_spin`] says otherwise.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(waitress::pool::DEFAULT_IDLE_SPIN, Duration::from_micros(50));
/// ```
pub const DEFAULT_IDLE_SPIN: Duration = Duration::from_micros(50);

/// A unit of work for the pool: in the server, one request to answer.
///
/// A task is boxed and moved into the pool; the pool calls exactly one of
/// [`service`](Task::service) (on a worker thread) or [`cancel`](Task::cancel)
/// (when the pool shuts down before the task ran), each consuming the task.
///
/// Any `FnOnce() + Send + 'static` closure is a task, which is what tests and
/// small programs want; the server's own tasks are structs.
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
/// use waitress::pool::{Dispatcher, Task, ThreadedTaskDispatcher};
///
/// struct Greet(mpsc::Sender<String>);
///
/// impl Task for Greet {
///     fn service(self: Box<Self>) {
///         self.0.send("hello".to_string()).unwrap();
///     }
///     fn cancel(self: Box<Self>) {
///         self.0.send("cancelled".to_string()).unwrap();
///     }
/// }
///
/// let pool = ThreadedTaskDispatcher::new();
/// let (tx, rx) = mpsc::channel();
/// pool.add_task(Box::new(Greet(tx.clone()))); // no threads yet: it waits
/// pool.shutdown(true, Duration::ZERO);        // so shutdown cancels it
/// assert_eq!(rx.recv().unwrap(), "cancelled");
/// ```
// ANCHOR: task_trait
pub trait Task: Send + 'static {
    /// Runs the task. Called on a worker thread, never with the pool's lock
    /// held, so it may block, add more tasks or even panic (the pool logs the
    /// panic and counts it as failed).
    fn service(self: Box<Self>);

    /// Called instead of `service` when the task is dropped from the queue at
    /// shutdown, or offered with `add_task` after shutdown. The default does
    /// nothing (dropping the task frees what it owns).
    fn cancel(self: Box<Self>) {}

    /// Called by `add_task` and `try_add_task`, on the caller's thread and
    /// before the task is queued, when no worker is idle, so the task will
    /// wait in the queue (zope.server's `ITask.defer`: "called just before the
    /// task is queued"). The check is made without the lock, so it is
    /// advisory: a worker may free up a moment later, and `try_add_task` may
    /// still hand the task back. The default does nothing.
    fn defer(&mut self) {}
}

/// Every `FnOnce() + Send + 'static` closure is a task whose `service` calls it.
///
/// ```
/// use waitress::pool::Task;
/// let task: Box<dyn Task> = Box::new(|| println!("served"));
/// task.service();
/// ```
impl<F: FnOnce() + Send + 'static> Task for F {
    fn service(self: Box<Self>) {
        (*self)()
    }
}
// ANCHOR_END: task_trait

/// What the server needs from a thread pool. [`ThreadedTaskDispatcher`] is the
/// implementation; a custom dispatcher can wrap it (to count, trace or route
/// tasks) and be handed to the server instead, as Waitress's `_dispatcher=`
/// argument allows.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use waitress::pool::{Dispatcher, Task, ThreadedTaskDispatcher};
///
/// let pool: Arc<dyn Dispatcher> = Arc::new(ThreadedTaskDispatcher::new());
/// pool.set_thread_count(1);
/// let (tx, rx) = std::sync::mpsc::channel();
/// pool.add_task(Box::new(move || tx.send(42).unwrap()));
/// assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(42));
/// assert_eq!(pool.shutdown(true, Duration::from_secs(5)), 0);
/// ```
// ANCHOR: dispatcher_trait
pub trait Dispatcher: Send + Sync + 'static {
    /// Queues a task, first in first out. Blocks while a bounded queue is full
    /// (except on the pool's own worker threads, which never block here).
    /// After shutdown the task is cancelled at once (except, in
    /// `ThreadedTaskDispatcher`, a task added by a running task while
    /// `shutdown(false, ..)` drains the queue: that is part of the work
    /// being drained).
    fn add_task(&self, task: Box<dyn Task>);

    /// Queues a task without ever blocking: the I/O thread's way in. Gives
    /// the task back when the queue is full or the pool has shut down; the
    /// caller then keeps it and stops reading from that client until there
    /// is room.
    fn try_add_task(&self, task: Box<dyn Task>) -> Result<(), Box<dyn Task>>;

    /// Grows or shrinks the pool to `count` threads. New threads start at
    /// once; threads above the new count exit after their current task.
    fn set_thread_count(&self, count: usize);

    /// Stops accepting tasks, cancels the queued ones when `cancel_pending`
    /// (otherwise lets the workers run them first), waits up to `timeout`
    /// for the workers to finish and exit, and returns how many threads were
    /// still running when it stopped waiting.
    fn shutdown(&self, cancel_pending: bool, timeout: Duration) -> usize;
}
// ANCHOR_END: dispatcher_trait

/// A snapshot of the pool's counters, read at one instant under the pool's
/// locks.
///
/// The counters add up: every task the pool took is queued, running, or
/// finished in exactly one way, so
/// `submitted == queued + running + completed + failed + cancelled`; and
/// `idle + running <= threads` (a thread starting up or exiting is neither).
///
/// ```
/// use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
///
/// let pool = ThreadedTaskDispatcher::new(); // no threads yet
/// pool.add_task(Box::new(|| {}));
/// let stats = pool.stats();
/// assert_eq!((stats.queued, stats.submitted, stats.threads), (1, 1, 0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatcherStats {
    /// Worker threads alive, including any that are about to exit.
    pub threads: usize,
    /// Workers waiting for a task.
    pub idle: usize,
    /// Workers running a task (Waitress's `active_count`).
    pub running: usize,
    /// Tasks waiting in the queue.
    pub queued: usize,
    /// Callers of `add_task` blocked because the bounded queue is full.
    pub blocked_submitters: usize,
    /// Tasks the pool has taken, in total.
    pub submitted: u64,
    /// Tasks whose `service` returned.
    pub completed: u64,
    /// Tasks whose `service` panicked.
    pub failed: u64,
    /// Tasks cancelled: dropped from the queue at shutdown or added after it.
    pub cancelled: u64,
}
