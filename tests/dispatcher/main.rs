//! Behaviour of the thread pool, `waitress::pool`.
//!
//! Every wait is bounded: results come back over channels read with
//! `recv_timeout`, and state that has no channel (thread counts) is polled
//! with a deadline. A test that fails therefore fails within seconds instead
//! of hanging.
//!
//! The tests are in `threads` (order, growing, shrinking), `queue` (bounds,
//! `try_add_task`, `defer`), `shutdown` and `reports` (panics, warnings,
//! counters); the helpers they share are here.

#[path = "../support/mod.rs"]
mod support;

mod queue;
mod reports;
mod shutdown;
mod threads;

use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use support::{Gate, wait_until};
use waitress::logging::{Level, Logger, MemoryLog};
use waitress::pool::{DispatcherStats, Task, ThreadedTaskDispatcher};

/// Long enough for anything that should happen, short enough not to hang.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long to watch for something that must *not* happen.
const A_MOMENT: Duration = Duration::from_millis(50);

fn quiet_pool() -> (ThreadedTaskDispatcher, MemoryLog) {
    let (logger, log) = Logger::memory(Level::Debug);
    let pool = ThreadedTaskDispatcher::builder().logger(logger).build();
    (pool, log)
}

/// A pool whose queue holds at most `limit` tasks, logging errors only.
fn bounded_pool(limit: usize) -> ThreadedTaskDispatcher {
    let (logger, _log) = Logger::memory(Level::Error);
    ThreadedTaskDispatcher::builder()
        .logger(logger)
        .queue_limit(limit)
        .build()
}

fn wait_for_stats(
    pool: &ThreadedTaskDispatcher,
    what: &str,
    mut condition: impl FnMut(&DispatcherStats) -> bool,
) -> DispatcherStats {
    let mut last = pool.stats();
    wait_until(what, || {
        last = pool.stats();
        condition(&last)
    });
    last
}

/// A task that reports `started` (when it begins), then waits at `gate`.
fn blocking_task(gate: &Gate, started: &Sender<()>) -> Box<dyn Task> {
    let (gate, started) = (gate.clone(), started.clone());
    Box::new(move || {
        started.send(()).unwrap();
        gate.wait();
    })
}

/// Records which of `service` and `cancel` the pool called.
struct Recorder {
    id: usize,
    events: Sender<(usize, &'static str)>,
}

impl Task for Recorder {
    fn service(self: Box<Self>) {
        self.events.send((self.id, "service")).unwrap();
    }
    fn cancel(self: Box<Self>) {
        self.events.send((self.id, "cancel")).unwrap();
    }
}

fn recorder(id: usize, events: &Sender<(usize, &'static str)>) -> Box<dyn Task> {
    Box::new(Recorder {
        id,
        events: events.clone(),
    })
}

fn drain<T>(receiver: &Receiver<T>) -> Vec<T> {
    receiver.try_iter().collect()
}
