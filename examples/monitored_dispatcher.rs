//! A custom dispatcher: wrap `ThreadedTaskDispatcher` to count what goes
//! through it.
//!
//! Waitress lets a program pass its own dispatcher to `create_server`
//! (`_dispatcher=`); ours will take any `Arc<dyn Dispatcher>` once the server
//! lands. Until then this example drives the wrapper with plain tasks:
//!
//! ```text
//! cargo run --example monitored_dispatcher
//! ```
//!
//! The wrapper counts tasks queued and tasks completed by wrapping each task
//! in another task, which is all a monitoring layer needs: the inner pool
//! still does the queueing, the threads and the shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use waitress::dispatcher::{Dispatcher, Task, ThreadedTaskDispatcher};

// ANCHOR: monitored
/// Counters shared by the dispatcher and every task it wrapped.
#[derive(Default, Debug)]
struct Counters {
    queued: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
}

/// A dispatcher that counts, and delegates everything else.
struct MonitoredDispatcher {
    inner: ThreadedTaskDispatcher,
    counters: Arc<Counters>,
}

/// A task wrapped so that its end is counted.
struct Counted {
    task: Box<dyn Task>,
    counters: Arc<Counters>,
}

impl Task for Counted {
    fn service(self: Box<Self>) {
        self.task.service();
        // Not reached if the task panics: the pool counts those as failed.
        self.counters.completed.fetch_add(1, Ordering::Relaxed);
    }

    fn cancel(self: Box<Self>) {
        self.counters.cancelled.fetch_add(1, Ordering::Relaxed);
        self.task.cancel();
    }

    fn defer(&mut self) {
        self.task.defer();
    }
}

impl MonitoredDispatcher {
    fn wrap(&self, task: Box<dyn Task>) -> Box<dyn Task> {
        Box::new(Counted {
            task,
            counters: Arc::clone(&self.counters),
        })
    }
}

impl Dispatcher for MonitoredDispatcher {
    fn add_task(&self, task: Box<dyn Task>) {
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        self.inner.add_task(self.wrap(task));
    }

    fn try_add_task(&self, task: Box<dyn Task>) -> Result<(), Box<dyn Task>> {
        // On refusal the caller gets its task back still wrapped; that is
        // fine, since a `Counted` is a task too, and counts when it runs.
        let result = self.inner.try_add_task(self.wrap(task));
        if result.is_ok() {
            self.counters.queued.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn set_thread_count(&self, count: usize) {
        self.inner.set_thread_count(count);
    }

    fn shutdown(&self, cancel_pending: bool, timeout: Duration) -> usize {
        self.inner.shutdown(cancel_pending, timeout)
    }
}
// ANCHOR_END: monitored

fn main() {
    let dispatcher = Arc::new(MonitoredDispatcher {
        inner: ThreadedTaskDispatcher::new(),
        counters: Arc::default(),
    });
    // The server will see only this: a `Dispatcher`.
    let as_server_sees_it: Arc<dyn Dispatcher> = dispatcher.clone();
    as_server_sees_it.set_thread_count(4);

    let (done, finished) = mpsc::channel();
    for n in 0..100_u64 {
        let done = done.clone();
        as_server_sees_it.add_task(Box::new(move || done.send(n).unwrap()));
    }
    let total: u64 = finished.iter().take(100).sum();
    let still_running = as_server_sees_it.shutdown(true, Duration::from_secs(5));

    let counters = &dispatcher.counters;
    println!(
        "queued {}, completed {}, cancelled {} (sum of results {total}, {still_running} thread(s) left)",
        counters.queued.load(Ordering::Relaxed),
        counters.completed.load(Ordering::Relaxed),
        counters.cancelled.load(Ordering::Relaxed),
    );
    println!("the inner pool's own view: {:?}", dispatcher.inner.stats());
}
