//! The submitter's side: appending a task to the inbox, deciding whether a
//! sleeping worker must be woken, Waitress's `Task queue depth is N`
//! warning, and what is done after the lock is released. `add_task` and
//! `try_add_task` (in `dispatcher.rs`) are built from these.
#![forbid(unsafe_code)]

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::Task;
use super::state::{Inbox, PoolState};

/// While the queue-depth warning is rate-limited, the clock is read once per
/// this many tasks that have to wait (reading it costs about as much as the
/// rest of `add_task`). So a warning can come this many tasks late.
const CLOCK_CHECK_EVERY: u32 = 64;

/// What a submitter must do after releasing the lock.
pub(super) enum Enqueued {
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

impl PoolState {
    // ANCHOR: enqueue
    /// Appends a task with the inbox locked. The caller does the slow parts
    /// (notifying, logging) after releasing the lock.
    pub(super) fn enqueue(&self, inbox: &mut Inbox, task: Box<dyn Task>) -> Enqueued {
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
        let idle = inbox.sleeping + spinning + inbox.starting;
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
    pub(super) fn after_enqueue(&self, outcome: Enqueued) {
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
}
