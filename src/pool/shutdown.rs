//! Stopping: what `shutdown` and dropping the pool share. Refusing new
//! tasks, taking every queued task out of both ends, and cancelling tasks
//! (a panic in a task's `cancel` is logged, never passed on).
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use super::Task;
use super::state::{Inbox, Outbox, PoolState};
use super::worker::panic_message;

impl PoolState {
    /// Stops accepting tasks, sets the target thread count to zero and wakes
    /// everyone; returns the tasks to cancel. Shared by `shutdown` and drop.
    pub(super) fn begin_shutdown(&self, cancel_pending: bool) -> VecDeque<Box<dyn Task>> {
        let mut outbox = self.lock_outbox();
        let mut inbox = self.lock_inbox();
        inbox.shutting_down = true;
        inbox.target_threads = 0;
        inbox.drain_before_exit = !cancel_pending;
        let to_cancel = if cancel_pending {
            self.take_all_queued(&mut outbox, &mut inbox)
        } else {
            VecDeque::new()
        };
        self.update_exit_request(&inbox);
        self.wake_all_workers(&mut inbox);
        // Blocked submitters wake up, see the shutdown and cancel their task.
        self.space_available.notify_all();
        to_cancel
    }

    /// Takes every queued task, oldest first (outbox, then inbox); call with
    /// both ends locked.
    pub(super) fn take_all_queued(
        &self,
        outbox: &mut Outbox,
        inbox: &mut Inbox,
    ) -> VecDeque<Box<dyn Task>> {
        let mut all = std::mem::take(&mut outbox.queue);
        all.append(&mut inbox.queue);
        self.hints.outbox_len.store(0, Ordering::SeqCst);
        self.hints.inbox_len.store(0, Ordering::SeqCst);
        inbox.cancelled += all.len() as u64;
        all
    }

    pub(super) fn cancel_task(&self, task: Box<dyn Task>) {
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

    pub(super) fn cancel_all(&self, tasks: VecDeque<Box<dyn Task>>) {
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
}
