//! How workers and the shutdown handle wake the I/O thread: the list of
//! connections whose state changed, and the trigger.
#![forbid(unsafe_code)]

use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, PoisonError};

use crate::io::trigger::Trigger;

/// Identifies a channel to the I/O thread: its slot, and a generation so a
/// late wake-up for a closed channel cannot reach the slot's next tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(super) index: usize,
    pub(super) generation: u64,
}

// ANCHOR: io_waker
/// How workers and the shutdown handle wake the I/O thread: a list of
/// channels whose state changed, and the trigger.
pub(crate) struct IoWaker {
    pub(super) trigger: Trigger,
    /// Connections whose state a worker changed since the loop last looked.
    pub(super) changed: Mutex<Vec<Token>>,
    /// A shutdown was asked for (by a handle or a signal).
    pub(super) shutdown: AtomicBool,
}

impl IoWaker {
    pub(super) fn new(trigger: Trigger) -> IoWaker {
        IoWaker {
            trigger,
            changed: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
        }
    }

    // ANCHOR: waker_wake
    /// Queues a connection whose state changed, and wakes the loop if it
    /// is the first since the loop last looked.
    pub(super) fn wake(&self, token: Token) {
        let mut changed = self.changed.lock().unwrap_or_else(PoisonError::into_inner);
        let first = changed.is_empty();
        changed.push(token);
        drop(changed);
        if first {
            // Later wakers find the list non-empty: one pull serves them all.
            self.trigger.pull();
        }
    }
    // ANCHOR_END: waker_wake

    /// Wakes the loop itself (to offer tasks a full queue refused).
    pub(super) fn wake_loop(&self) {
        self.trigger.pull();
    }
}
// ANCHOR_END: io_waker
