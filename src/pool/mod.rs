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
#![forbid(unsafe_code)]

use std::any::Any;
use std::cell::Cell;
use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::logging::Logger;

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

/// While the queue-depth warning is rate-limited, the clock is read once per
/// this many tasks that have to wait (reading it costs about as much as the
/// rest of `add_task`). So a warning can come this many tasks late.
const CLOCK_CHECK_EVERY: u32 = 64;

/// At most this many workers spin at once: one is enough to catch the next
/// task, and more would take cores from the threads doing work.
const MAX_SPINNING_WORKERS: usize = 1;

// ANCHOR: task
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
// ANCHOR_END: task

// ANCHOR: dispatcher_trait
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

/// Configures a [`ThreadedTaskDispatcher`]; start from
/// [`ThreadedTaskDispatcher::builder`].
///
/// ```
/// use std::time::Duration;
/// use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
/// use waitress::logging::{Level, Logger};
///
/// let (logger, _log) = Logger::memory(Level::Info);
/// let pool = ThreadedTaskDispatcher::builder()
///     .logger(logger)
///     .queue_limit(1024)
///     .thread_name_prefix("app")
///     .stack_size(256 * 1024)
///     .queue_warning_interval(Duration::from_secs(10))
///     .build();
/// pool.set_thread_count(2);
/// assert_eq!(pool.shutdown(true, Duration::from_secs(5)), 0);
/// ```
#[derive(Clone, Debug)]
pub struct DispatcherBuilder {
    logger: Option<Logger>,
    queue_limit: Option<usize>,
    thread_name_prefix: String,
    stack_size: Option<usize>,
    queue_warning_interval: Duration,
    idle_spin: Duration,
}

impl DispatcherBuilder {
    /// Where the pool logs (task panics, queue depth, shutdown). The default
    /// is standard error at `Info`, like `waitress-serve`.
    pub fn logger(mut self, logger: Logger) -> Self {
        self.logger = Some(logger);
        self
    }

    /// Bounds the queue at `limit` waiting tasks (at least 1). Without a
    /// bound, the default, the queue grows without limit as in Waitress.
    pub fn queue_limit(mut self, limit: usize) -> Self {
        self.queue_limit = Some(limit.max(1));
        self
    }

    /// Names the threads `<prefix>-0`, `<prefix>-1`, …; the default prefix is
    /// `waitress`, as in Waitress.
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name_prefix = prefix.into();
        self
    }

    /// The stack size of each worker thread, in bytes. The default is std's
    /// (2 MiB unless `RUST_MIN_STACK` says otherwise); embedded deployments
    /// with many threads and little memory want less.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The shortest time between two `Task queue depth is N` warnings
    /// (default [`DEFAULT_QUEUE_WARNING_INTERVAL`]). `Duration::ZERO` logs
    /// every time a task has to wait, as Waitress does.
    pub fn queue_warning_interval(mut self, interval: Duration) -> Self {
        self.queue_warning_interval = interval;
        self
    }

    /// How long a worker that finds the queue empty keeps looking (spinning,
    /// and yielding its core) before it goes to sleep; at most one worker
    /// spins at a time. Default [`DEFAULT_IDLE_SPIN`]. Under load this saves
    /// the submitter a wake-up system call per task; `Duration::ZERO` makes
    /// idle workers sleep at once, for the lowest CPU use. Keep it short: a
    /// spinning worker notices a shrink or a draining shutdown only when its
    /// spin ends.
    pub fn idle_spin(mut self, spin: Duration) -> Self {
        self.idle_spin = spin;
        self
    }

    /// Builds the pool, with no threads until
    /// [`set_thread_count`](Dispatcher::set_thread_count).
    pub fn build(self) -> ThreadedTaskDispatcher {
        ThreadedTaskDispatcher {
            shared: Arc::new(Shared::new(self)),
        }
    }
}

impl Default for DispatcherBuilder {
    fn default() -> Self {
        DispatcherBuilder {
            logger: None,
            queue_limit: None,
            thread_name_prefix: "waitress".to_string(),
            stack_size: None,
            queue_warning_interval: DEFAULT_QUEUE_WARNING_INTERVAL,
            idle_spin: DEFAULT_IDLE_SPIN,
        }
    }
}

/// The thread pool: worker threads taking [`Task`]s from one FIFO queue
/// guarded by `Mutex`es (one for each end of the queue), with `Condvar`s to
/// sleep on.
///
/// Created with no threads; the server calls
/// [`set_thread_count`](Dispatcher::set_thread_count) (with
/// [`DEFAULT_THREADS`] unless configured). Dropping the pool without calling
/// [`shutdown`](Dispatcher::shutdown) cancels the queued tasks and lets the
/// threads exit after their current task, without waiting for them.
///
/// ```
/// use std::time::Duration;
/// use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
///
/// let pool = ThreadedTaskDispatcher::new();
/// pool.set_thread_count(3);
/// assert_eq!(pool.stats().threads, 3);
/// pool.set_thread_count(0); // threads leave as soon as they are free
/// assert_eq!(pool.shutdown(true, Duration::from_secs(5)), 0);
/// assert_eq!(pool.stats().threads, 0);
/// ```
pub struct ThreadedTaskDispatcher {
    shared: Arc<Shared>,
}

/// What the workers and the submitters share.
///
/// The queue has two ends, each behind its own lock (in the spirit of
/// Michael and Scott's two-lock queue, 1996): submitters append to the `inbox`, workers take
/// from the `outbox`, and a worker that finds the outbox empty moves the whole
/// inbox into it at once (it swaps two `VecDeque`s: no copying, no
/// allocation). First in, first out still holds, since everything in the
/// outbox is older than everything in the inbox; and no task hides from an
/// idle worker, since the outbox is shared. So the submitter and the workers
/// mostly take different locks, instead of queueing for one.
///
/// Lock order: `outbox` before `inbox`, whenever a thread holds both.
struct Shared {
    /// Tells this pool's worker threads apart from other threads (see
    /// `WORKER_OF_POOL`).
    pool_id: u64,
    /// The submitters' end, and everything about sleeping, resizing and
    /// shutting down.
    inbox: CachePadded<Mutex<Inbox>>,
    /// The workers' end, and the counters a worker updates after each task.
    outbox: CachePadded<Mutex<Outbox>>,
    hints: Hints,
    /// Workers sleep here (with `inbox`) when both ends are empty.
    work_available: Condvar,
    /// `add_task` callers sleep here (with `inbox`) while the queue is full.
    space_available: Condvar,
    /// `shutdown` sleeps here (with `inbox`) until the workers have exited.
    thread_exited: Condvar,
    logger: Logger,
    queue_limit: Option<usize>,
    thread_name_prefix: String,
    stack_size: Option<usize>,
    queue_warning_interval: Duration,
    idle_spin: Duration,
}

/// Keeps a value on its own cache line, so that two threads writing two
/// neighbouring values do not slow each other down ("false sharing").
#[derive(Default)]
#[repr(align(64))]
struct CachePadded<T>(T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Copies of a few numbers, readable without a lock. Each is written under
/// the lock that guards the original; whoever needs the exact value takes
/// that lock, so most are `Relaxed`: a stale value costs a wasted look, never
/// a lost task. `SeqCst` only where a writer on one side and a reader on the
/// other must not both miss each other's update (see
/// `wake_blocked_submitter`).
#[derive(Default)]
struct Hints {
    inbox_len: CachePadded<AtomicUsize>,
    outbox_len: CachePadded<AtomicUsize>,
    /// Sleeping workers that no wake-up is on its way to.
    unclaimed_sleepers: CachePadded<AtomicUsize>,
    /// Idle workers watching the lengths above instead of sleeping.
    spinning: CachePadded<AtomicUsize>,
    blocked_submitters: CachePadded<AtomicUsize>,
    /// Set while some worker should leave, so that workers look at the
    /// inbox's resize and shutdown fields after their current task.
    exit_requested: CachePadded<AtomicBool>,
}

// ANCHOR: state
/// The submitters' end of the queue, and the pool's bookkeeping.
#[derive(Default)]
struct Inbox {
    queue: VecDeque<Box<dyn Task>>,
    /// True once `shutdown` (or drop) has begun.
    shutting_down: bool,
    /// When shutting down without cancelling, workers empty the queue
    /// before they exit.
    drain_before_exit: bool,
    /// The thread count asked for; threads above it exit when free.
    target_threads: usize,
    /// Threads alive (spawned and not yet exited).
    threads: usize,
    /// Workers asleep on `work_available`.
    sleeping: usize,
    /// Notifications sent to `work_available` that no worker has woken up
    /// for yet. Each wake-up is a system call, so nobody notifies while a
    /// spinning worker or an earlier wake-up is already on its way.
    wakeups_pending: usize,
    blocked_submitters: usize,
    submitted: u64,
    cancelled: u64,
    /// Name numbers in use: a new thread takes the lowest free one, as in
    /// Waitress, so a resized pool keeps names `waitress-0..n`.
    thread_numbers: BTreeSet<usize>,
    /// Join handles, by spawn serial number (unique, unlike name numbers).
    handles: Vec<(u64, JoinHandle<()>)>,
    /// Spawn serial numbers of threads that have exited and can be joined.
    exited: Vec<u64>,
    next_serial: u64,
    last_queue_warning: Option<Instant>,
    /// Depth checks left to skip before the clock is read again.
    warning_checks_skipped: u32,
}

/// The workers' end of the queue.
#[derive(Default)]
struct Outbox {
    queue: VecDeque<Box<dyn Task>>,
    running: usize,
    completed: u64,
    failed: u64,
}
// ANCHOR_END: state

impl Inbox {
    /// Whether a new task is refused: always after shutdown began, except
    /// from the pool's own workers while they drain the queue, since a task
    /// that queues its follow-up (a connection's next pipelined request) is
    /// part of the work being drained.
    fn refuses(&self, from_own_worker: impl FnOnce() -> bool) -> bool {
        self.shutting_down && !(self.drain_before_exit && from_own_worker())
    }

    // ANCHOR: should_exit
    /// A worker leaves when the pool has more threads than asked for, unless
    /// it was asked to empty the queue first.
    fn worker_should_exit(&self, outbox_is_empty: bool) -> bool {
        let draining = self.drain_before_exit && !(outbox_is_empty && self.queue.is_empty());
        self.threads > self.target_threads && !draining
    }
    // ANCHOR_END: should_exit

    /// Sleeping workers that no notification is on its way to.
    fn unclaimed_sleepers(&self) -> usize {
        self.sleeping.saturating_sub(self.wakeups_pending)
    }

    /// Removes the handles of exited threads, to be joined without the lock.
    fn take_exited_handles(&mut self) -> Vec<JoinHandle<()>> {
        if self.exited.is_empty() {
            return Vec::new();
        }
        let exited = std::mem::take(&mut self.exited);
        let mut joinable = Vec::with_capacity(exited.len());
        let mut index = 0;
        while index < self.handles.len() {
            if exited.contains(&self.handles[index].0) {
                joinable.push(self.handles.swap_remove(index).1);
            } else {
                index += 1;
            }
        }
        joinable
    }
}

impl Outbox {
    /// Counts the task this worker just ran.
    fn record(&mut self, completed: bool) {
        self.running -= 1;
        if completed {
            self.completed += 1;
        } else {
            self.failed += 1;
        }
    }
}

/// Gives each pool a distinct id for `WORKER_OF_POOL`.
static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The id of the pool this thread works for (0: none). A worker adding a
    /// task to its own full queue must not block: it could be the only thread
    /// able to make room, and would wait for itself forever.
    static WORKER_OF_POOL: Cell<u64> = const { Cell::new(0) };
}

/// What a submitter must do after releasing the lock.
enum Enqueued {
    /// The task is queued.
    Queued {
        /// A sleeping worker was picked to take it: notify the condvar.
        wake_worker: bool,
        /// Log `Task queue depth is N` with this N.
        depth_warning: Option<usize>,
    },
    /// The pool has shut down: the task must be cancelled.
    Rejected(Box<dyn Task>),
}

impl ThreadedTaskDispatcher {
    /// A pool with the default configuration: unbounded queue, logging to
    /// standard error, threads named `waitress-N` with std's stack size, and
    /// no threads until [`set_thread_count`](Dispatcher::set_thread_count).
    ///
    /// ```
    /// use waitress::pool::ThreadedTaskDispatcher;
    /// let pool = ThreadedTaskDispatcher::new();
    /// assert_eq!(pool.stats().threads, 0);
    /// ```
    pub fn new() -> ThreadedTaskDispatcher {
        DispatcherBuilder::default().build()
    }

    /// Starts configuring a pool: logger, queue bound, thread names, stack
    /// size, warning interval.
    ///
    /// ```
    /// use waitress::pool::ThreadedTaskDispatcher;
    /// let pool = ThreadedTaskDispatcher::builder().queue_limit(8).build();
    /// assert_eq!(pool.queue_limit(), Some(8));
    /// ```
    pub fn builder() -> DispatcherBuilder {
        DispatcherBuilder::default()
    }

    /// The bound on queued tasks, if any.
    ///
    /// ```
    /// use waitress::pool::ThreadedTaskDispatcher;
    /// assert_eq!(ThreadedTaskDispatcher::new().queue_limit(), None);
    /// ```
    pub fn queue_limit(&self) -> Option<usize> {
        self.shared.queue_limit
    }

    /// Reads every counter at once (one short lock acquisition), for a
    /// status page or a monitoring wrapper.
    ///
    /// ```
    /// use std::time::Duration;
    /// use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
    ///
    /// let pool = ThreadedTaskDispatcher::new();
    /// pool.set_thread_count(1);
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// pool.add_task(Box::new(move || tx.send(()).unwrap()));
    /// rx.recv_timeout(Duration::from_secs(5)).unwrap();
    /// pool.shutdown(true, Duration::from_secs(5));
    /// let stats = pool.stats();
    /// assert_eq!((stats.submitted, stats.completed, stats.threads), (1, 1, 0));
    /// ```
    pub fn stats(&self) -> DispatcherStats {
        let outbox = self.shared.lock_outbox();
        let inbox = self.shared.lock_inbox();
        DispatcherStats {
            threads: inbox.threads,
            idle: inbox.sleeping + self.shared.hints.spinning.load(Ordering::Relaxed),
            running: outbox.running,
            queued: inbox.queue.len() + outbox.queue.len(),
            blocked_submitters: inbox.blocked_submitters,
            submitted: inbox.submitted,
            completed: outbox.completed,
            failed: outbox.failed,
            cancelled: inbox.cancelled,
        }
    }

    /// Whether [`shutdown`](Dispatcher::shutdown) has begun.
    ///
    /// ```
    /// use std::time::Duration;
    /// use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
    /// let pool = ThreadedTaskDispatcher::new();
    /// assert!(!pool.is_shut_down());
    /// pool.shutdown(true, Duration::ZERO);
    /// assert!(pool.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.shared.lock_inbox().shutting_down
    }

    /// Stops accepting tasks, sets the target thread count to zero and wakes
    /// everyone; returns the tasks to cancel. Shared by `shutdown` and drop.
    fn begin_shutdown(&self, cancel_pending: bool) -> VecDeque<Box<dyn Task>> {
        let shared = &self.shared;
        let mut outbox = shared.lock_outbox();
        let mut inbox = shared.lock_inbox();
        inbox.shutting_down = true;
        inbox.target_threads = 0;
        inbox.drain_before_exit = !cancel_pending;
        let to_cancel = if cancel_pending {
            shared.take_all_queued(&mut outbox, &mut inbox)
        } else {
            VecDeque::new()
        };
        shared.update_exit_request(&inbox);
        shared.wake_all_workers(&mut inbox);
        // Blocked submitters wake up, see the shutdown and cancel their task.
        shared.space_available.notify_all();
        to_cancel
    }
}

impl Default for ThreadedTaskDispatcher {
    fn default() -> Self {
        ThreadedTaskDispatcher::new()
    }
}

impl fmt::Debug for ThreadedTaskDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadedTaskDispatcher")
            .field("stats", &self.stats())
            .field("queue_limit", &self.shared.queue_limit)
            .finish_non_exhaustive()
    }
}

impl Drop for ThreadedTaskDispatcher {
    /// Cancels what is queued and lets the threads go, without waiting.
    fn drop(&mut self) {
        let to_cancel = self.begin_shutdown(true);
        self.shared.cancel_all(to_cancel);
        for handle in self.shared.lock_inbox().take_exited_handles() {
            let _ = handle.join();
        }
    }
}

impl Shared {
    fn new(config: DispatcherBuilder) -> Shared {
        Shared {
            pool_id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            inbox: CachePadded::default(),
            outbox: CachePadded::default(),
            hints: Hints::default(),
            work_available: Condvar::new(),
            space_available: Condvar::new(),
            thread_exited: Condvar::new(),
            logger: config.logger.unwrap_or_default(),
            queue_limit: config.queue_limit,
            thread_name_prefix: config.thread_name_prefix,
            stack_size: config.stack_size,
            queue_warning_interval: config.queue_warning_interval,
            idle_spin: config.idle_spin,
        }
    }

    /// Locks the submitters' end. A poisoned lock is taken over: no task
    /// ever runs under it, and a panic elsewhere must not stop the pool.
    fn lock_inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the workers' end (before the inbox, if both are needed).
    fn lock_outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tasks waiting at both ends; call with the inbox locked.
    fn queued(&self, inbox: &Inbox) -> usize {
        inbox.queue.len() + self.hints.outbox_len.load(Ordering::SeqCst)
    }

    fn queue_full(&self, inbox: &Inbox) -> bool {
        self.queue_limit
            .is_some_and(|limit| self.queued(inbox) >= limit)
    }

    /// Publishes the outbox's length; call with the outbox locked. Only a
    /// bounded queue needs the expensive ordering (a full fence on x86), for
    /// its blocked submitters; otherwise the length only guides spinners.
    fn publish_outbox_len(&self, len: usize) {
        let order = if self.queue_limit.is_some() {
            Ordering::SeqCst
        } else {
            Ordering::Relaxed
        };
        self.hints.outbox_len.store(len, order);
    }

    fn publish_sleepers(&self, inbox: &Inbox) {
        self.hints
            .unclaimed_sleepers
            .store(inbox.unclaimed_sleepers(), Ordering::Relaxed);
    }

    /// Sets `exit_requested` from the inbox's fields; call after changing them.
    fn update_exit_request(&self, inbox: &Inbox) {
        let surplus = inbox.threads > inbox.target_threads && !inbox.drain_before_exit;
        self.hints.exit_requested.store(surplus, Ordering::SeqCst);
    }

    /// Wakes every sleeping worker, e.g. so that surplus ones can exit.
    fn wake_all_workers(&self, inbox: &mut Inbox) {
        inbox.wakeups_pending = inbox.sleeping;
        self.publish_sleepers(inbox);
        self.work_available.notify_all();
    }

    /// Whether a task offered now would have to wait, read without a lock.
    fn no_idle_worker_hint(&self) -> bool {
        self.hints.spinning.load(Ordering::Relaxed) == 0
            && self.hints.unclaimed_sleepers.load(Ordering::Relaxed) == 0
    }

    fn is_own_worker(&self) -> bool {
        WORKER_OF_POOL.with(Cell::get) == self.pool_id
    }

    // ANCHOR: spin
    /// Watches both ends, without a lock, for up to `idle_spin`. Yields the
    /// core every few rounds: on a machine with fewer cores than threads, the
    /// submitter may need it to produce the very task we wait for.
    fn spin_for_work(&self) {
        let deadline = Instant::now() + self.idle_spin;
        loop {
            for _ in 0..32 {
                if self.hints.inbox_len.load(Ordering::Relaxed) > 0
                    || self.hints.outbox_len.load(Ordering::Relaxed) > 0
                    || self.hints.exit_requested.load(Ordering::Relaxed)
                {
                    return;
                }
                std::hint::spin_loop();
            }
            if Instant::now() >= deadline {
                return;
            }
            thread::yield_now();
        }
    }
    // ANCHOR_END: spin

    // ANCHOR: enqueue
    /// Appends a task with the inbox locked. The caller does the slow parts
    /// (notifying, logging) after releasing the lock.
    fn enqueue(&self, inbox: &mut Inbox, task: Box<dyn Task>) -> Enqueued {
        inbox.queue.push_back(task);
        inbox.submitted += 1;
        self.hints
            .inbox_len
            .store(inbox.queue.len(), Ordering::Relaxed);
        // Wake a sleeper only if no idle worker is already on its way: each
        // notification is a system call, and a running worker loops to the
        // next task by itself.
        let spinning = self.hints.spinning.load(Ordering::Relaxed);
        let wake_worker = spinning == 0 && inbox.unclaimed_sleepers() > 0;
        if wake_worker {
            inbox.wakeups_pending += 1;
            self.publish_sleepers(inbox);
        }
        let idle = inbox.sleeping + spinning;
        Enqueued::Queued {
            wake_worker,
            depth_warning: self.queue_depth_warning(inbox, idle),
        }
    }
    // ANCHOR_END: enqueue

    // ANCHOR: depth_warning
    /// Waitress's `Task queue depth is N`: N tasks are queued beyond what the
    /// idle workers will take. Rate-limited, and cheap while limited: the
    /// clock is read once per `CLOCK_CHECK_EVERY` waiting tasks, and the
    /// workers' end (whose length another core keeps changing) only when a
    /// warning is actually logged.
    fn queue_depth_warning(&self, inbox: &mut Inbox, idle: usize) -> Option<usize> {
        // Idle workers have found both ends empty, so while any is idle the
        // outbox is empty and the inbox alone says whether tasks wait.
        if inbox.queue.len() <= idle {
            return None;
        }
        if inbox.warning_checks_skipped > 0 {
            inbox.warning_checks_skipped -= 1;
            return None;
        }
        let now = Instant::now();
        let due = inbox
            .last_queue_warning
            .is_none_or(|last| now.duration_since(last) >= self.queue_warning_interval);
        if !self.queue_warning_interval.is_zero() {
            inbox.warning_checks_skipped = CLOCK_CHECK_EVERY - 1;
        }
        if !due {
            return None;
        }
        inbox.last_queue_warning = Some(now);
        Some(self.queued(inbox).saturating_sub(idle))
    }
    // ANCHOR_END: depth_warning

    /// The end of `add_task` and `try_add_task`, after the lock is released.
    fn after_enqueue(&self, outcome: Enqueued) {
        match outcome {
            Enqueued::Queued {
                wake_worker,
                depth_warning,
            } => {
                // Notifying after unlocking saves the woken worker from
                // blocking at once on the lock we still held. No wake-up is
                // lost: the sleeper registered its wait under the lock.
                if wake_worker {
                    self.work_available.notify_one();
                }
                if let Some(depth) = depth_warning {
                    self.logger.warn(
                        "waitress.queue",
                        format_args!("Task queue depth is {depth}"),
                    );
                }
            }
            Enqueued::Rejected(task) => {
                self.logger.debug(
                    "waitress",
                    format_args!("Task added after shutdown: cancelled"),
                );
                self.cancel_task(task);
            }
        }
    }

    /// Takes every queued task, oldest first (outbox, then inbox); call with
    /// both ends locked.
    fn take_all_queued(&self, outbox: &mut Outbox, inbox: &mut Inbox) -> VecDeque<Box<dyn Task>> {
        let mut all = std::mem::take(&mut outbox.queue);
        all.append(&mut inbox.queue);
        self.hints.outbox_len.store(0, Ordering::SeqCst);
        self.hints.inbox_len.store(0, Ordering::SeqCst);
        inbox.cancelled += all.len() as u64;
        all
    }

    fn cancel_task(&self, task: Box<dyn Task>) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || task.cancel())) {
            self.logger.error(
                "waitress",
                format_args!(
                    "Exception when cancelling task: {}",
                    panic_message(payload.as_ref())
                ),
            );
        }
    }

    fn cancel_all(&self, tasks: VecDeque<Box<dyn Task>>) {
        if tasks.is_empty() {
            return;
        }
        self.logger.warn(
            "waitress",
            format_args!("Canceling {} pending task(s)", tasks.len()),
        );
        for task in tasks {
            self.cancel_task(task);
        }
    }

    // ANCHOR: worker_loop
    /// The body of every worker thread.
    fn worker_loop(&self, serial: u64, number: usize) {
        WORKER_OF_POOL.with(|pool| pool.set(self.pool_id));
        let mut last_task_completed: Option<bool> = None;
        let mut just_spun = false;
        loop {
            let mut outbox = self.lock_outbox();
            if let Some(completed) = last_task_completed.take() {
                outbox.record(completed);
            }
            // The fast path: the oldest task from the workers' end, under
            // the workers' lock only. A worker that finishes a task comes
            // straight back here, without sleeping.
            if !self.hints.exit_requested.load(Ordering::Relaxed) {
                if let Some(task) = outbox.queue.pop_front() {
                    outbox.running += 1;
                    let left = outbox.queue.len();
                    self.publish_outbox_len(left);
                    drop(outbox); // never hold a lock while a task runs
                    if self.queue_limit.is_some() {
                        self.wake_blocked_submitter();
                    }
                    last_task_completed = Some(self.run_task(task));
                    just_spun = false;
                    continue;
                }
            }
            // The slow path, with both locks: exit, or refill, or wait.
            let mut inbox = self.lock_inbox();
            if inbox.worker_should_exit(outbox.queue.is_empty()) {
                drop(outbox);
                self.retire_worker(&mut inbox, serial, number);
                return;
            }
            if outbox.queue.is_empty() && !inbox.queue.is_empty() {
                // Move every submitted task to the workers' end at once.
                std::mem::swap(&mut outbox.queue, &mut inbox.queue);
                self.hints.inbox_len.store(0, Ordering::Relaxed);
            }
            if let Some(task) = outbox.queue.pop_front() {
                outbox.running += 1;
                let left = outbox.queue.len();
                self.publish_outbox_len(left);
                // The tasks left must not wait behind this one while workers
                // sleep: wake one sleeper per task (a spinner takes one).
                let spinning = self.hints.spinning.load(Ordering::Relaxed);
                let helpers = left
                    .saturating_sub(spinning)
                    .min(inbox.unclaimed_sleepers());
                inbox.wakeups_pending += helpers;
                self.publish_sleepers(&inbox);
                let wake_submitter = inbox.blocked_submitters > 0;
                drop(inbox);
                drop(outbox);
                for _ in 0..helpers {
                    self.work_available.notify_one();
                }
                if wake_submitter {
                    self.space_available.notify_one();
                }
                last_task_completed = Some(self.run_task(task));
                just_spun = false;
                continue;
            }
            drop(outbox);
            // Both ends are empty. Watch them for a moment before sleeping:
            // a task that arrives meanwhile costs nobody a wake-up.
            if !just_spun
                && !self.idle_spin.is_zero()
                && self.hints.spinning.load(Ordering::Relaxed) < MAX_SPINNING_WORKERS
            {
                self.hints.spinning.fetch_add(1, Ordering::SeqCst);
                drop(inbox);
                self.spin_for_work();
                self.hints.spinning.fetch_sub(1, Ordering::SeqCst);
                just_spun = true;
                continue; // look again, under the locks, before sleeping
            }
            inbox.sleeping += 1;
            self.publish_sleepers(&inbox);
            inbox = self
                .work_available
                .wait(inbox)
                .unwrap_or_else(PoisonError::into_inner);
            inbox.sleeping -= 1;
            inbox.wakeups_pending = inbox.wakeups_pending.saturating_sub(1);
            self.publish_sleepers(&inbox);
            just_spun = false;
        }
    }
    // ANCHOR_END: worker_loop

    // ANCHOR: run_task
    /// Runs one task, catching a panic; true if it completed.
    fn run_task(&self, task: Box<dyn Task>) -> bool {
        // `AssertUnwindSafe`: after a panic nothing of the task is used
        // again (it was moved in and is dropped while unwinding), and the
        // pool's own state is not touched inside.
        match panic::catch_unwind(AssertUnwindSafe(move || task.service())) {
            Ok(()) => true,
            Err(payload) => {
                self.log_task_panic(payload.as_ref());
                false
            }
        }
    }
    // ANCHOR_END: run_task

    /// A worker made room in a bounded queue: wake a blocked `add_task`.
    /// The submitter publishes that it waits, then re-reads the queue's
    /// length; we published the length, then read whether anyone waits.
    /// With `SeqCst` on both sides at least one of us sees the other's
    /// write, so the wake-up cannot be missed. We notify with the inbox
    /// locked so the notification cannot slip in between the submitter's
    /// check and its wait.
    fn wake_blocked_submitter(&self) {
        if self.hints.blocked_submitters.load(Ordering::SeqCst) > 0 {
            let _inbox = self.lock_inbox();
            self.space_available.notify_one();
        }
    }

    /// The bookkeeping of a worker that leaves; call with the inbox locked.
    fn retire_worker(&self, inbox: &mut Inbox, serial: u64, number: usize) {
        inbox.threads -= 1;
        inbox.thread_numbers.remove(&number);
        inbox.exited.push(serial);
        self.update_exit_request(inbox);
        // If tasks are queued, make sure a remaining sleeper comes for them.
        let queued = self.queued(inbox) > 0;
        let wake = queued
            && self.hints.spinning.load(Ordering::Relaxed) == 0
            && inbox.unclaimed_sleepers() > 0;
        if wake {
            inbox.wakeups_pending += 1;
            self.publish_sleepers(inbox);
            self.work_available.notify_one();
        }
        self.thread_exited.notify_all();
    }

    fn log_task_panic(&self, payload: &(dyn Any + Send)) {
        let thread = thread::current();
        self.logger.error(
            "waitress",
            format_args!(
                "Exception when servicing task on thread {}: panicked: {}",
                thread.name().unwrap_or("?"),
                panic_message(payload)
            ),
        );
    }

    /// Starts one worker with the inbox locked, so that its handle is stored
    /// before it can exit. Spawning is rare (start-up and resizing).
    fn spawn_worker(self: &Arc<Self>, inbox: &mut Inbox) -> bool {
        let number = (0..)
            .find(|n| !inbox.thread_numbers.contains(n))
            .expect("fewer than usize::MAX threads");
        let serial = inbox.next_serial;
        let mut builder =
            thread::Builder::new().name(format!("{}-{}", self.thread_name_prefix, number));
        if let Some(bytes) = self.stack_size {
            builder = builder.stack_size(bytes);
        }
        let shared = Arc::clone(self);
        match builder.spawn(move || shared.worker_loop(serial, number)) {
            Ok(handle) => {
                inbox.next_serial += 1;
                inbox.threads += 1;
                inbox.thread_numbers.insert(number);
                inbox.handles.push((serial, handle));
                true
            }
            Err(error) => {
                self.logger.error(
                    "waitress",
                    format_args!("Cannot start a worker thread: {error}"),
                );
                false
            }
        }
    }
}

/// The text of a panic: `panic!` gives a `&str` or a `String`.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "(a non-string panic payload)"
    }
}

impl Dispatcher for ThreadedTaskDispatcher {
    // ANCHOR: add_task
    fn add_task(&self, mut task: Box<dyn Task>) {
        let shared = &*self.shared;
        // `defer` is the task's own code: call it before taking the lock.
        if shared.no_idle_worker_hint() {
            task.defer();
        }
        let mut inbox = shared.lock_inbox();
        if shared.queue_full(&inbox) && !shared.is_own_worker() {
            // Backpressure: wait for a worker to take a task. A worker of
            // this pool never waits here: it may be the one that must make
            // room, so it queues beyond the bound instead.
            inbox.blocked_submitters += 1;
            shared
                .hints
                .blocked_submitters
                .store(inbox.blocked_submitters, Ordering::SeqCst);
            while shared.queue_full(&inbox) && !inbox.shutting_down {
                inbox = shared
                    .space_available
                    .wait(inbox)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            inbox.blocked_submitters -= 1;
            shared
                .hints
                .blocked_submitters
                .store(inbox.blocked_submitters, Ordering::SeqCst);
        }
        let outcome = if inbox.refuses(|| shared.is_own_worker()) {
            inbox.submitted += 1;
            inbox.cancelled += 1;
            Enqueued::Rejected(task)
        } else {
            shared.enqueue(&mut inbox, task)
        };
        drop(inbox);
        shared.after_enqueue(outcome);
    }
    // ANCHOR_END: add_task

    // ANCHOR: try_add_task
    fn try_add_task(&self, mut task: Box<dyn Task>) -> Result<(), Box<dyn Task>> {
        let shared = &*self.shared;
        if shared.no_idle_worker_hint() {
            task.defer();
        }
        let mut inbox = shared.lock_inbox();
        if inbox.refuses(|| shared.is_own_worker()) || shared.queue_full(&inbox) {
            return Err(task);
        }
        let outcome = shared.enqueue(&mut inbox, task);
        drop(inbox);
        shared.after_enqueue(outcome);
        Ok(())
    }
    // ANCHOR_END: try_add_task

    // ANCHOR: set_thread_count
    fn set_thread_count(&self, count: usize) {
        let shared = &self.shared;
        let mut inbox = shared.lock_inbox();
        if inbox.shutting_down {
            return;
        }
        inbox.target_threads = count;
        while inbox.threads < count {
            if !shared.spawn_worker(&mut inbox) {
                break;
            }
        }
        shared.update_exit_request(&inbox);
        if inbox.threads > count {
            // Idle surplus threads wake up and leave; busy ones leave after
            // their current task, when they see `exit_requested`.
            shared.wake_all_workers(&mut inbox);
        }
        let joinable = inbox.take_exited_handles();
        drop(inbox);
        for handle in joinable {
            let _ = handle.join();
        }
    }
    // ANCHOR_END: set_thread_count

    // ANCHOR: shutdown
    fn shutdown(&self, cancel_pending: bool, timeout: Duration) -> usize {
        let to_cancel = self.begin_shutdown(cancel_pending);
        self.shared.cancel_all(to_cancel);

        // A task that shuts its own pool down is itself one of the threads;
        // it exits after that task, so it does not wait for itself.
        let own = usize::from(self.shared.is_own_worker());
        let deadline = Instant::now() + timeout;
        let mut inbox = self.shared.lock_inbox();
        while inbox.threads > own {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            inbox = self
                .shared
                .thread_exited
                .wait_timeout(inbox, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let still_running = inbox.threads - own.min(inbox.threads);
        let joinable = inbox.take_exited_handles();
        drop(inbox);

        // Whatever a drain left queued is cancelled: after shutdown returns,
        // every task was either serviced, cancelled or is in a stuck thread.
        let leftovers = {
            let mut outbox = self.shared.lock_outbox();
            let mut inbox = self.shared.lock_inbox();
            self.shared.take_all_queued(&mut outbox, &mut inbox)
        };
        self.shared.cancel_all(leftovers);
        for handle in joinable {
            let _ = handle.join();
        }
        if still_running > 0 {
            self.shared.logger.warn(
                "waitress",
                format_args!("{still_running} thread(s) still running"),
            );
        }
        still_running
    }
    // ANCHOR_END: shutdown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        let text: Box<dyn Any + Send> = Box::new("static text");
        let owned: Box<dyn Any + Send> = Box::new(String::from("formatted 7"));
        let other: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(text.as_ref()), "static text");
        assert_eq!(panic_message(owned.as_ref()), "formatted 7");
        assert_eq!(
            panic_message(other.as_ref()),
            "(a non-string panic payload)"
        );
    }
}
