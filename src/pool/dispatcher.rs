//! [`ThreadedTaskDispatcher`]: the handle the server holds, and its
//! [`Dispatcher`] implementation (adding tasks, resizing, shutting down).
//!
//! Each method here takes the pool's locks only as long as the queue needs
//! them and leaves the rest to [`PoolState`]: the submitter's side is in
//! `submit.rs`, the workers in `worker.rs`, the cancelling in `shutdown.rs`.
#![forbid(unsafe_code)]

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::state::PoolState;
use super::submit::Enqueued;
use super::{Dispatcher, DispatcherStats, Task};

/// The thread pool: worker threads taking [`Task`]s from one FIFO queue
/// guarded by `Mutex`es (one for each end of the queue), with `Condvar`s to
/// sleep on.
///
/// Created with no threads; the server calls
/// [`set_thread_count`](Dispatcher::set_thread_count) (with
/// [`DEFAULT_THREADS`](super::DEFAULT_THREADS) unless configured). Dropping the pool without calling
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
    pub(super) shared: Arc<PoolState>,
}

impl ThreadedTaskDispatcher {
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
        let to_cancel = self.shared.begin_shutdown(true);
        self.shared.cancel_all(to_cancel);
        for handle in self.shared.lock_inbox().take_exited_handles() {
            let _ = handle.join();
        }
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

    // ANCHOR: shutdown_wait
    fn shutdown(&self, cancel_pending: bool, timeout: Duration) -> usize {
        let to_cancel = self.shared.begin_shutdown(cancel_pending);
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
        // ANCHOR_END: shutdown_wait

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
}
