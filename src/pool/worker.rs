//! The worker threads: starting one, its loop (fast path, slow path, idle
//! spin, sleep), running a task with its panic caught, and retiring.
#![forbid(unsafe_code)]

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::Instant;

use super::Task;
use super::state::{Inbox, PoolState, WORKER_OF_POOL};

/// At most this many workers spin at once: one is enough to catch the next
/// task, and more would take cores from the threads doing work.
const MAX_SPINNING_WORKERS: usize = 1;

impl PoolState {
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

    // ANCHOR: worker_fast_path
    /// The body of every worker thread.
    fn worker_loop(&self, serial: u64, number: usize) {
        WORKER_OF_POOL.with(|pool| pool.set(self.pool_id));
        self.lock_inbox().starting -= 1; // from now on it counts itself
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
            // ANCHOR_END: worker_fast_path
            // ANCHOR: worker_slow_path
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
            // ANCHOR_END: worker_slow_path
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
            // ANCHOR: worker_sleep
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
            // ANCHOR_END: worker_sleep
        }
    }

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
    pub(super) fn spawn_worker(self: &Arc<Self>, inbox: &mut Inbox) -> bool {
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
                inbox.starting += 1;
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
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "(a non-string panic payload)"
    }
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
