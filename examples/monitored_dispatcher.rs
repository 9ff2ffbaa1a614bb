//! A custom dispatcher: wrap `ThreadedTaskDispatcher` to count what goes
//! through it.
//!
//! Waitress lets a program pass its own dispatcher to `create_server`; here it is `ServerBuilder::dispatcher`
//! (`_dispatcher=`); here `ServerBuilder::dispatcher` takes any
//! `Arc<dyn Dispatcher>`. This example serves, on 127.0.0.1:8080, a page that
//! shows the counters, with 8 worker threads:
//!
//! ```text
//! cargo run --example monitored_dispatcher
//! curl http://127.0.0.1:8080/
//! ```
//!
//! A queued task is a connection with requests to answer (a worker answers
//! its pipelined requests in one go), so the counts are of batches, not of
//! single requests.
//!
//! The wrapper counts tasks queued and tasks completed by wrapping each task
//! in another task, which is all a monitoring layer needs: the inner pool
//! still does the queueing, the threads and the shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use waitress::config::Adjustments;
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use waitress::pool::{Dispatcher, Task, ThreadedTaskDispatcher};
use waitress::server::ServerBuilder;

/// Counters shared by the dispatcher and every task it wrapped.
#[derive(Default, Debug)]
pub struct Counters {
    pub queued: AtomicU64,
    pub completed: AtomicU64,
    pub cancelled: AtomicU64,
}

/// A dispatcher that counts, and delegates everything else.
pub struct MonitoredDispatcher {
    pub inner: ThreadedTaskDispatcher,
    pub counters: Arc<Counters>,
}

// ANCHOR: counted
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
// ANCHOR_END: counted

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

    // ANCHOR: monitored_try_add
    fn try_add_task(&self, task: Box<dyn Task>) -> Result<(), Box<dyn Task>> {
        // Count first: once queued, the task may run (and be counted as
        // completed) before `try_add_task` even returns. On refusal the
        // caller gets its task back still wrapped; that is fine, since a
        // `Counted` is a task too, and counts when it runs.
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        let result = self.inner.try_add_task(self.wrap(task));
        if result.is_err() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
        }
        result
    }
    // ANCHOR_END: monitored_try_add

    fn set_thread_count(&self, count: usize) {
        self.inner.set_thread_count(count);
    }

    fn shutdown(&self, cancel_pending: bool, timeout: Duration) -> usize {
        self.inner.shutdown(cancel_pending, timeout)
    }
}

/// A page showing the counters.
pub fn counters_page(counters: Arc<Counters>) -> impl Application {
    move |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        let text = format!(
            "queued {} completed {} cancelled {}\n",
            counters.queued.load(Ordering::Relaxed),
            counters.completed.load(Ordering::Relaxed),
            counters.cancelled.load(Ordering::Relaxed),
        );
        start_response.start_response(
            "200 OK",
            headers(&[("Content-Type", "text/plain")]),
            None,
        )?;
        Ok(Body::from(text))
    }
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let counters = Arc::new(Counters::default());
    let dispatcher = Arc::new(MonitoredDispatcher {
        inner: ThreadedTaskDispatcher::new(),
        counters: Arc::clone(&counters),
    });
    // A custom dispatcher keeps its own thread count: 8 here.
    dispatcher.set_thread_count(8);
    let adjustments = Adjustments::builder()
        .host("127.0.0.1")
        .port(8080)
        .args(std::env::args().skip(1))?
        .build()?;
    let server = ServerBuilder::new(counters_page(counters), adjustments)
        .dispatcher(dispatcher)
        .build()?;
    for address in server.addresses() {
        println!("Serving on {address}");
    }
    server.install_signal_handlers()?;
    server.run()?;
    Ok(())
}
