//! The thread pool: [`ThreadedTaskDispatcher`], a Mutex + Condvar FIFO queue.
//!
//! Waitress runs every request on a fixed pool of worker threads fed by one
//! queue. The I/O thread parses a request and hands the pool a [`Task`]; a
//! worker takes the oldest task, runs it, and goes straight on to the next one.
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
//! use waitress::dispatcher::{Dispatcher, ThreadedTaskDispatcher};
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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::logging::Logger;

/// The number of worker threads Waitress's server starts (its `threads`
/// setting): the server calls `set_thread_count(DEFAULT_THREADS)` unless told
/// otherwise.
///
/// ```
/// assert_eq!(waitress::dispatcher::DEFAULT_THREADS, 4);
/// ```
pub const DEFAULT_THREADS: usize = 4;

/// The shortest time between two `Task queue depth is N` warnings, unless
/// [`DispatcherBuilder::queue_warning_interval`] says otherwise.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(waitress::dispatcher::DEFAULT_QUEUE_WARNING_INTERVAL, Duration::from_secs(1));
/// ```
pub const DEFAULT_QUEUE_WARNING_INTERVAL: Duration = Duration::from_secs(1);

/// How long one idle worker spins before sleeping, unless
/// [`DispatcherBuilder::idle_spin`] says otherwise.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(waitress::dispatcher::DEFAULT_IDLE_SPIN, Duration::from_micros(50));
/// ```
pub const DEFAULT_IDLE_SPIN: Duration = Duration::from_micros(50);

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
/// use waitress::dispatcher::{Dispatcher, Task, ThreadedTaskDispatcher};
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
/// use waitress::dispatcher::Task;
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
/// use waitress::dispatcher::{Dispatcher, Task, ThreadedTaskDispatcher};
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
    /// After shutdown the task is cancelled at once.
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

/// A snapshot of the pool's counters, read at one instant under the lock.
///
/// The counters add up: every task the pool took is queued, running, or
/// finished in exactly one way, so
/// `submitted == queued + running + completed + failed + cancelled`; and
/// `idle + running <= threads` (a thread starting up or exiting is neither).
///
/// ```
/// use waitress::dispatcher::{Dispatcher, ThreadedTaskDispatcher};
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
/// use waitress::dispatcher::{Dispatcher, ThreadedTaskDispatcher};
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
    /// idle workers sleep at once, for the lowest CPU use.
    pub fn idle_spin(mut self, spin: Duration) -> Self {
        self.idle_spin = spin;
        self
    }

    /// Builds the pool, with no threads until
    /// [`set_thread_count`](Dispatcher::set_thread_count).
    pub fn build(self) -> ThreadedTaskDispatcher {
        ThreadedTaskDispatcher {
            shared: Arc::new(Shared {
                pool_id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
                state: Mutex::new(State::default()),
                available_hint: AtomicUsize::new(0),
                queued_hint: AtomicUsize::new(0),
                work_available: Condvar::new(),
                space_available: Condvar::new(),
                thread_exited: Condvar::new(),
                logger: self.logger.unwrap_or_default(),
                queue_limit: self.queue_limit,
                thread_name_prefix: self.thread_name_prefix,
                stack_size: self.stack_size,
                queue_warning_interval: self.queue_warning_interval,
                idle_spin: self.idle_spin,
            }),
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
/// guarded by a `Mutex`, with `Condvar`s to sleep on.
///
/// Created with no threads; the server calls
/// [`set_thread_count`](Dispatcher::set_thread_count) (with
/// [`DEFAULT_THREADS`] unless configured). Dropping the pool without calling
/// [`shutdown`](Dispatcher::shutdown) cancels the queued tasks and lets the
/// threads exit after their current task, without waiting for them.
///
/// ```
/// use std::time::Duration;
/// use waitress::dispatcher::{Dispatcher, ThreadedTaskDispatcher};
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
struct Shared {
    /// Tells this pool's worker threads apart from other threads (see
    /// `WORKER_OF_POOL`).
    pool_id: u64,
    state: Mutex<State>,
    /// A copy of `State::available_workers`, written under the lock and read
    /// without it, so that `add_task` can call [`Task::defer`] before taking
    /// the lock. Only a hint: it can change the moment after it is read.
    available_hint: AtomicUsize,
    /// A copy of the queue's length, for spinning workers to watch without
    /// taking the lock. Also only a hint: they take the lock to pop.
    queued_hint: AtomicUsize,
    /// Workers sleep here when the queue is empty.
    work_available: Condvar,
    /// `add_task` callers sleep here while a bounded queue is full.
    space_available: Condvar,
    /// `shutdown` sleeps here until the workers have exited.
    thread_exited: Condvar,
    logger: Logger,
    queue_limit: Option<usize>,
    thread_name_prefix: String,
    stack_size: Option<usize>,
    queue_warning_interval: Duration,
    idle_spin: Duration,
}

// ANCHOR: state
/// Everything behind the lock. Each field changes only with the lock held,
/// so one lock acquisition sees a consistent picture.
#[derive(Default)]
struct State {
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
    /// Idle workers awake and watching for a task (see `idle_spin`).
    spinning: usize,
    /// Notifications sent to `work_available` that no worker has woken up
    /// for yet. Each wake-up is a system call, so nobody notifies while a
    /// spinning worker or an earlier wake-up is already on its way.
    wakeups_pending: usize,
    running: usize,
    blocked_submitters: usize,
    submitted: u64,
    completed: u64,
    failed: u64,
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
}
// ANCHOR_END: state

impl State {
    fn stats(&self) -> DispatcherStats {
        DispatcherStats {
            threads: self.threads,
            idle: self.sleeping + self.spinning,
            running: self.running,
            queued: self.queue.len(),
            blocked_submitters: self.blocked_submitters,
            submitted: self.submitted,
            completed: self.completed,
            failed: self.failed,
            cancelled: self.cancelled,
        }
    }

    fn queue_full(&self, limit: Option<usize>) -> bool {
        limit.is_some_and(|limit| self.queue.len() >= limit)
    }

    // ANCHOR: should_exit
    /// A worker leaves when the pool has more threads than asked for, unless
    /// it was asked to empty the queue first.
    fn worker_should_exit(&self) -> bool {
        let draining = self.drain_before_exit && !self.queue.is_empty();
        self.threads > self.target_threads && !draining
    }
    // ANCHOR_END: should_exit

    /// Sleeping workers that no notification is on its way to.
    fn unclaimed_sleepers(&self) -> usize {
        self.sleeping.saturating_sub(self.wakeups_pending)
    }

    /// Idle workers that will take a new task without anyone else's help.
    fn available_workers(&self) -> usize {
        self.spinning + self.unclaimed_sleepers()
    }

    /// Whether a task just queued needs a sleeper woken for it: not if a
    /// spinning worker will see it, nor if every sleeper is already woken.
    fn should_wake_sleeper(&self) -> bool {
        self.spinning == 0 && self.unclaimed_sleepers() > 0
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
    /// use waitress::dispatcher::ThreadedTaskDispatcher;
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
    /// use waitress::dispatcher::ThreadedTaskDispatcher;
    /// let pool = ThreadedTaskDispatcher::builder().queue_limit(8).build();
    /// assert_eq!(pool.queue_limit(), Some(8));
    /// ```
    pub fn builder() -> DispatcherBuilder {
        DispatcherBuilder::default()
    }

    /// The bound on queued tasks, if any.
    ///
    /// ```
    /// use waitress::dispatcher::ThreadedTaskDispatcher;
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
    /// use waitress::dispatcher::{Dispatcher, ThreadedTaskDispatcher};
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
        self.shared.lock().stats()
    }

    /// Whether [`shutdown`](Dispatcher::shutdown) has begun.
    ///
    /// ```
    /// use std::time::Duration;
    /// use waitress::dispatcher::{Dispatcher, ThreadedTaskDispatcher};
    /// let pool = ThreadedTaskDispatcher::new();
    /// assert!(!pool.is_shut_down());
    /// pool.shutdown(true, Duration::ZERO);
    /// assert!(pool.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.shared.lock().shutting_down
    }

    /// Stops accepting tasks, sets the target thread count to zero and wakes
    /// everyone; returns the tasks to cancel. Shared by `shutdown` and drop.
    fn begin_shutdown(&self, cancel_pending: bool) -> VecDeque<Box<dyn Task>> {
        let mut state = self.shared.lock();
        state.shutting_down = true;
        state.target_threads = 0;
        state.drain_before_exit = !cancel_pending;
        let to_cancel = if cancel_pending {
            std::mem::take(&mut state.queue)
        } else {
            VecDeque::new()
        };
        state.cancelled += to_cancel.len() as u64;
        self.shared.wake_all_workers(&mut state);
        // Blocked submitters wake up, see the shutdown and cancel their task.
        self.shared.space_available.notify_all();
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
        for handle in self.shared.lock().take_exited_handles() {
            let _ = handle.join();
        }
    }
}

impl Shared {
    /// Locks the state. A poisoned lock is taken over: no task ever runs
    /// under it, and a panic elsewhere must not stop the pool.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes every sleeping worker, e.g. so that surplus ones can exit.
    fn wake_all_workers(&self, state: &mut State) {
        state.wakeups_pending = state.sleeping;
        self.publish_hints(state);
        self.work_available.notify_all();
    }

    /// Copies what lock-free readers watch; called after each change.
    fn publish_hints(&self, state: &State) {
        self.available_hint
            .store(state.available_workers(), Ordering::Relaxed);
        self.queued_hint.store(state.queue.len(), Ordering::Relaxed);
    }

    /// Whether a task offered now would have to wait, read without the lock.
    fn no_idle_worker_hint(&self) -> bool {
        self.available_hint.load(Ordering::Relaxed) == 0
    }

    // ANCHOR: spin
    /// Watches the queue's length, without the lock, for up to `idle_spin`.
    /// Yields the core every few rounds: on a machine with fewer cores than
    /// threads, the submitter may need it to produce the very task we wait for.
    fn spin_for_work(&self) {
        let deadline = Instant::now() + self.idle_spin;
        loop {
            for _ in 0..32 {
                if self.queued_hint.load(Ordering::Relaxed) > 0 {
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

    fn is_own_worker(&self) -> bool {
        WORKER_OF_POOL.with(Cell::get) == self.pool_id
    }

    // ANCHOR: enqueue
    /// Appends a task with the lock held. The caller does the slow parts
    /// (notifying, logging) after releasing the lock.
    fn enqueue(&self, state: &mut State, task: Box<dyn Task>) -> Enqueued {
        state.queue.push_back(task);
        state.submitted += 1;
        // Wake a sleeper only if no idle worker is already on its way: each
        // notification is a system call, and a running worker loops to the
        // next task by itself.
        let wake_worker = state.should_wake_sleeper();
        if wake_worker {
            state.wakeups_pending += 1;
        }
        self.publish_hints(state);
        // Waitress's measure: tasks beyond what the idle workers will take.
        let depth = state
            .queue
            .len()
            .saturating_sub(state.sleeping + state.spinning);
        let mut depth_warning = None;
        if depth > 0 {
            let now = Instant::now();
            let due = state
                .last_queue_warning
                .is_none_or(|last| now.duration_since(last) >= self.queue_warning_interval);
            if due {
                state.last_queue_warning = Some(now);
                depth_warning = Some(depth);
            }
        }
        Enqueued::Queued {
            wake_worker,
            depth_warning,
        }
    }
    // ANCHOR_END: enqueue

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
        let mut state = self.lock();
        let mut just_spun = false;
        loop {
            if state.worker_should_exit() {
                break;
            }
            if let Some(task) = state.queue.pop_front() {
                state.running += 1;
                // More tasks waiting and nobody coming for them? Wake a
                // sleeper here, rather than making the submitter do it.
                let wake_another = !state.queue.is_empty() && state.should_wake_sleeper();
                if wake_another {
                    state.wakeups_pending += 1;
                }
                self.publish_hints(&state);
                let wake_submitter = state.blocked_submitters > 0;
                drop(state); // never hold the lock while a task runs
                if wake_another {
                    self.work_available.notify_one();
                }
                if wake_submitter {
                    self.space_available.notify_one();
                }
                let outcome = panic::catch_unwind(AssertUnwindSafe(move || task.service()));
                if let Err(payload) = &outcome {
                    self.log_task_panic(payload.as_ref());
                }
                state = self.lock();
                state.running -= 1;
                match outcome {
                    Ok(()) => state.completed += 1,
                    Err(_) => state.failed += 1,
                }
                just_spun = false;
                continue; // straight on to the next task, without sleeping
            }
            // The queue is empty. Watch it for a moment before sleeping: a
            // task that arrives meanwhile costs nobody a wake-up.
            if !just_spun && !self.idle_spin.is_zero() && state.spinning < MAX_SPINNING_WORKERS {
                state.spinning += 1;
                self.publish_hints(&state);
                drop(state);
                self.spin_for_work();
                state = self.lock();
                state.spinning -= 1;
                self.publish_hints(&state);
                just_spun = true;
                continue; // look again, under the lock, before sleeping
            }
            state.sleeping += 1;
            self.publish_hints(&state);
            state = self
                .work_available
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.sleeping -= 1;
            state.wakeups_pending = state.wakeups_pending.saturating_sub(1);
            self.publish_hints(&state);
            just_spun = false;
        }
        state.threads -= 1;
        state.thread_numbers.remove(&number);
        state.exited.push(serial);
        self.thread_exited.notify_all();
    }
    // ANCHOR_END: worker_loop

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

    /// Starts one worker with the lock held, so that its handle is stored
    /// before it can exit. Spawning is rare (start-up and resizing).
    fn spawn_worker(self: &Arc<Self>, state: &mut State) -> bool {
        let number = (0..)
            .find(|n| !state.thread_numbers.contains(n))
            .expect("fewer than usize::MAX threads");
        let serial = state.next_serial;
        let mut builder =
            thread::Builder::new().name(format!("{}-{}", self.thread_name_prefix, number));
        if let Some(bytes) = self.stack_size {
            builder = builder.stack_size(bytes);
        }
        let shared = Arc::clone(self);
        match builder.spawn(move || shared.worker_loop(serial, number)) {
            Ok(handle) => {
                state.next_serial += 1;
                state.threads += 1;
                state.thread_numbers.insert(number);
                state.handles.push((serial, handle));
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
        let mut state = shared.lock();
        if state.queue_full(shared.queue_limit) && !shared.is_own_worker() {
            // Backpressure: wait for a worker to take a task. A worker of
            // this pool never waits here: it may be the one that must make
            // room, so it queues beyond the bound instead.
            state.blocked_submitters += 1;
            while state.queue_full(shared.queue_limit) && !state.shutting_down {
                state = shared
                    .space_available
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.blocked_submitters -= 1;
        }
        let outcome = if state.shutting_down {
            state.submitted += 1;
            state.cancelled += 1;
            Enqueued::Rejected(task)
        } else {
            shared.enqueue(&mut state, task)
        };
        drop(state);
        shared.after_enqueue(outcome);
    }
    // ANCHOR_END: add_task

    // ANCHOR: try_add_task
    fn try_add_task(&self, mut task: Box<dyn Task>) -> Result<(), Box<dyn Task>> {
        let shared = &*self.shared;
        if shared.no_idle_worker_hint() {
            task.defer();
        }
        let mut state = shared.lock();
        if state.shutting_down || state.queue_full(shared.queue_limit) {
            return Err(task);
        }
        let outcome = shared.enqueue(&mut state, task);
        drop(state);
        shared.after_enqueue(outcome);
        Ok(())
    }
    // ANCHOR_END: try_add_task

    // ANCHOR: set_thread_count
    fn set_thread_count(&self, count: usize) {
        let mut state = self.shared.lock();
        if state.shutting_down {
            return;
        }
        state.target_threads = count;
        while state.threads < count {
            if !self.shared.spawn_worker(&mut state) {
                break;
            }
        }
        if state.threads > count {
            // Idle surplus threads wake up and leave; busy ones leave after
            // their current task, when they next look at the state.
            self.shared.wake_all_workers(&mut state);
        }
        let joinable = state.take_exited_handles();
        drop(state);
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
        let mut state = self.shared.lock();
        while state.threads > own {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .shared
                .thread_exited
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let still_running = state.threads - own.min(state.threads);
        // Whatever a drain left queued is cancelled: after shutdown returns,
        // every task was either serviced, cancelled or is in a stuck thread.
        let leftovers = std::mem::take(&mut state.queue);
        state.cancelled += leftovers.len() as u64;
        let joinable = state.take_exited_handles();
        drop(state);

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

    #[test]
    fn a_full_queue_is_only_full_with_a_limit() {
        let mut state = State::default();
        state.queue.push_back(Box::new(|| {}));
        assert!(!state.queue_full(None));
        assert!(state.queue_full(Some(1)));
        assert!(!state.queue_full(Some(2)));
    }
}
