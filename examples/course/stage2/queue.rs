//! A bounded first-in, first-out queue shared by threads (course stage 2).
//!
//! Stage 2 hands accepted connections to its workers through it; later
//! stages reuse this file with `#[path = "../stage2/queue.rs"] mod queue;`.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

// ANCHOR: queue
/// A bounded first-in, first-out queue shared by threads.
pub struct Queue<T> {
    items: Mutex<VecDeque<T>>,
    /// Signalled when an item is pushed: a waiting worker can take it.
    not_empty: Condvar,
    /// Signalled when an item is popped: a waiting producer can push.
    not_full: Condvar,
    capacity: usize,
}
// ANCHOR_END: queue

// ANCHOR: queue_methods
impl<T> Queue<T> {
    pub fn new(capacity: usize) -> Queue<T> {
        Queue {
            items: Mutex::new(VecDeque::with_capacity(capacity)),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity,
        }
    }

    /// Adds `item` at the back, waiting while the queue is full.
    pub fn push(&self, item: T) {
        let mut items = self.items.lock().unwrap();
        // `wait` releases the lock while asleep and takes it back on waking.
        // Wake-ups can be spurious, so the condition is checked in a loop.
        while items.len() == self.capacity {
            items = self.not_full.wait(items).unwrap();
        }
        items.push_back(item);
        self.not_empty.notify_one();
    }

    /// Takes the item at the front, waiting while the queue is empty.
    pub fn pop(&self) -> T {
        let mut items = self.items.lock().unwrap();
        loop {
            if let Some(item) = items.pop_front() {
                self.not_full.notify_one();
                return item;
            }
            items = self.not_empty.wait(items).unwrap();
        }
    }
}
// ANCHOR_END: queue_methods
