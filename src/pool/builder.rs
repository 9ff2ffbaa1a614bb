//! Making a pool: [`DispatcherBuilder`], its defaults, and the two ways to
//! start one ([`ThreadedTaskDispatcher::new`] and
//! [`ThreadedTaskDispatcher::builder`]), which live here beside what they
//! return. The builder's settings end up in the pool's [`PoolState`].
//!
//! Separate from `dispatcher.rs` because configuring a pool is read once,
//! while the dispatcher's methods are what a reader studies.
#![forbid(unsafe_code)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar};
use std::time::Duration;

use super::dispatcher::ThreadedTaskDispatcher;
use super::state::{CachePadded, Hints, NEXT_POOL_ID, PoolState};
use super::{DEFAULT_IDLE_SPIN, DEFAULT_QUEUE_WARNING_INTERVAL};
use crate::logging::Logger;

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
    /// [`set_thread_count`](super::Dispatcher::set_thread_count).
    pub fn build(self) -> ThreadedTaskDispatcher {
        ThreadedTaskDispatcher {
            shared: Arc::new(PoolState::new(self)),
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

impl ThreadedTaskDispatcher {
    /// A pool with the default configuration: unbounded queue, logging to
    /// standard error, threads named `waitress-N` with std's stack size, and
    /// no threads until [`set_thread_count`](super::Dispatcher::set_thread_count).
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
}

impl Default for ThreadedTaskDispatcher {
    fn default() -> Self {
        ThreadedTaskDispatcher::new()
    }
}

impl PoolState {
    /// The pool's state as the builder configured it, with no threads.
    fn new(config: DispatcherBuilder) -> PoolState {
        PoolState {
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
}
