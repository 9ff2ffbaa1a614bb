//! The pool's state, [`PoolState`]: the two ends of the queue with a lock
//! each ([`Inbox`] and [`Outbox`]), the lock-free [`Hints`], the condition
//! variables threads sleep on, and the settings. The small methods every
//! other part uses (locking, publishing hints, waking workers) are here too.
//!
//! What the submitters, the workers and shutdown each do with it is in
//! `submit.rs`, `worker.rs` and `shutdown.rs`.
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Task;
use crate::logging::Logger;

/// The pool's state: what the workers and the submitters share.
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
pub(super) struct PoolState {
    /// Tells this pool's worker threads apart from other threads (see
    /// `WORKER_OF_POOL`).
    pub(super) pool_id: u64,
    /// The submitters' end, and everything about sleeping, resizing and
    /// shutting down.
    pub(super) inbox: CachePadded<Mutex<Inbox>>,
    /// The workers' end, and the counters a worker updates after each task.
    pub(super) outbox: CachePadded<Mutex<Outbox>>,
    pub(super) hints: Hints,
    /// Workers sleep here (with `inbox`) when both ends are empty.
    pub(super) work_available: Condvar,
    /// `add_task` callers sleep here (with `inbox`) while the queue is full.
    pub(super) space_available: Condvar,
    /// `shutdown` sleeps here (with `inbox`) until the workers have exited.
    pub(super) thread_exited: Condvar,
    pub(super) logger: Logger,
    pub(super) queue_limit: Option<usize>,
    pub(super) thread_name_prefix: String,
    pub(super) stack_size: Option<usize>,
    pub(super) queue_warning_interval: Duration,
    pub(super) idle_spin: Duration,
}

/// Keeps a value on its own cache line, so that two threads writing two
/// neighbouring values do not slow each other down ("false sharing").
#[derive(Default)]
#[repr(align(64))]
pub(super) struct CachePadded<T>(T);

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
pub(super) struct Hints {
    pub(super) inbox_len: CachePadded<AtomicUsize>,
    pub(super) outbox_len: CachePadded<AtomicUsize>,
    /// Sleeping workers that no wake-up is on its way to.
    pub(super) unclaimed_sleepers: CachePadded<AtomicUsize>,
    /// Idle workers watching the lengths above instead of sleeping.
    pub(super) spinning: CachePadded<AtomicUsize>,
    pub(super) blocked_submitters: CachePadded<AtomicUsize>,
    /// Set while some worker should leave, so that workers look at the
    /// inbox's resize and shutdown fields after their current task.
    pub(super) exit_requested: CachePadded<AtomicBool>,
}

/// The submitters' end of the queue, and the pool's bookkeeping.
#[derive(Default)]
pub(super) struct Inbox {
    pub(super) queue: VecDeque<Box<dyn Task>>,
    /// True once `shutdown` (or drop) has begun.
    pub(super) shutting_down: bool,
    /// When shutting down without cancelling, workers empty the queue
    /// before they exit.
    pub(super) drain_before_exit: bool,
    /// The thread count asked for; threads above it exit when free.
    pub(super) target_threads: usize,
    /// Threads alive (spawned and not yet exited).
    pub(super) threads: usize,
    /// Workers asleep on `work_available`.
    pub(super) sleeping: usize,
    /// Threads spawned that have not yet reached their loop: idle, as far
    /// as the queue-depth warning is concerned (a server's first request
    /// can come before its workers have started).
    pub(super) starting: usize,
    /// Notifications sent to `work_available` that no worker has woken up
    /// for yet. Each wake-up is a system call, so nobody notifies while a
    /// spinning worker or an earlier wake-up is already on its way.
    pub(super) wakeups_pending: usize,
    pub(super) blocked_submitters: usize,
    pub(super) submitted: u64,
    pub(super) cancelled: u64,
    /// Name numbers in use: a new thread takes the lowest free one, as in
    /// Waitress, so a resized pool keeps names `waitress-0..n`.
    pub(super) thread_numbers: BTreeSet<usize>,
    /// Join handles, by spawn serial number (unique, unlike name numbers).
    pub(super) handles: Vec<(u64, JoinHandle<()>)>,
    /// Spawn serial numbers of threads that have exited and can be joined.
    pub(super) exited: Vec<u64>,
    pub(super) next_serial: u64,
    pub(super) last_queue_warning: Option<Instant>,
    /// Depth checks left to skip before the clock is read again.
    pub(super) warning_checks_skipped: u32,
}

// ANCHOR: outbox
/// The workers' end of the queue.
#[derive(Default)]
pub(super) struct Outbox {
    pub(super) queue: VecDeque<Box<dyn Task>>,
    pub(super) running: usize,
    pub(super) completed: u64,
    pub(super) failed: u64,
}
// ANCHOR_END: outbox

impl Inbox {
    /// Whether a new task is refused: always after shutdown began, except
    /// from the pool's own workers while they drain the queue, since a task
    /// that queues its follow-up (a connection's next pipelined request) is
    /// part of the work being drained.
    pub(super) fn refuses(&self, from_own_worker: impl FnOnce() -> bool) -> bool {
        self.shutting_down && !(self.drain_before_exit && from_own_worker())
    }

    // ANCHOR: should_exit
    /// A worker leaves when the pool has more threads than asked for, unless
    /// it was asked to empty the queue first.
    pub(super) fn worker_should_exit(&self, outbox_is_empty: bool) -> bool {
        let draining = self.drain_before_exit && !(outbox_is_empty && self.queue.is_empty());
        self.threads > self.target_threads && !draining
    }
    // ANCHOR_END: should_exit

    /// Sleeping workers that no notification is on its way to.
    pub(super) fn unclaimed_sleepers(&self) -> usize {
        self.sleeping.saturating_sub(self.wakeups_pending)
    }

    /// Removes the handles of exited threads, to be joined without the lock.
    pub(super) fn take_exited_handles(&mut self) -> Vec<JoinHandle<()>> {
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
    pub(super) fn record(&mut self, completed: bool) {
        self.running -= 1;
        if completed {
            self.completed += 1;
        } else {
            self.failed += 1;
        }
    }
}

/// Gives each pool a distinct id for `WORKER_OF_POOL`.
pub(super) static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The id of the pool this thread works for (0: none). A worker adding a
    /// task to its own full queue must not block: it could be the only thread
    /// able to make room, and would wait for itself forever.
    pub(super) static WORKER_OF_POOL: Cell<u64> = const { Cell::new(0) };
}

impl PoolState {
    /// Locks the submitters' end. A poisoned lock is taken over: no task
    /// ever runs under it, and a panic elsewhere must not stop the pool.
    pub(super) fn lock_inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the workers' end (before the inbox, if both are needed).
    pub(super) fn lock_outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tasks waiting at both ends; call with the inbox locked.
    pub(super) fn queued(&self, inbox: &Inbox) -> usize {
        inbox.queue.len() + self.hints.outbox_len.load(Ordering::SeqCst)
    }

    pub(super) fn queue_full(&self, inbox: &Inbox) -> bool {
        self.queue_limit
            .is_some_and(|limit| self.queued(inbox) >= limit)
    }

    /// Publishes the outbox's length; call with the outbox locked. Only a
    /// bounded queue needs the expensive ordering (a full fence on x86), for
    /// its blocked submitters; otherwise the length only guides spinners.
    pub(super) fn publish_outbox_len(&self, len: usize) {
        let order = if self.queue_limit.is_some() {
            Ordering::SeqCst
        } else {
            Ordering::Relaxed
        };
        self.hints.outbox_len.store(len, order);
    }

    pub(super) fn publish_sleepers(&self, inbox: &Inbox) {
        self.hints
            .unclaimed_sleepers
            .store(inbox.unclaimed_sleepers(), Ordering::Relaxed);
    }

    /// Sets `exit_requested` from the inbox's fields; call after changing them.
    pub(super) fn update_exit_request(&self, inbox: &Inbox) {
        let surplus = inbox.threads > inbox.target_threads && !inbox.drain_before_exit;
        self.hints.exit_requested.store(surplus, Ordering::SeqCst);
    }

    /// Wakes every sleeping worker, e.g. so that surplus ones can exit.
    pub(super) fn wake_all_workers(&self, inbox: &mut Inbox) {
        inbox.wakeups_pending = inbox.sleeping;
        self.publish_sleepers(inbox);
        self.work_available.notify_all();
    }

    /// Whether a task offered now would have to wait, read without a lock.
    pub(super) fn no_idle_worker_hint(&self) -> bool {
        self.hints.spinning.load(Ordering::Relaxed) == 0
            && self.hints.unclaimed_sleepers.load(Ordering::Relaxed) == 0
    }

    pub(super) fn is_own_worker(&self) -> bool {
        WORKER_OF_POOL.with(Cell::get) == self.pool_id
    }
}
