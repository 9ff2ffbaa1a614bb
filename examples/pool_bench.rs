//! How fast can tasks go through the pool?
//!
//! Pushes 1,000,000 trivial tasks from one thread (as the server's I/O thread
//! does) through `ThreadedTaskDispatcher` with 1, 4 and 16 workers, and
//! through a pool built the Rust Book's way (chapter 21: workers sharing an
//! `Arc<Mutex<mpsc::Receiver<Job>>>`), and prints tasks per second for both.
//!
//! ```text
//! cargo run --release --example pool_bench                 # 1,000,000 tasks, best of 3
//! cargo run --release --example pool_bench -- 200000 1     # tasks, rounds
//! ```
//!
//! The clock starts once every worker is up and waiting, and stops when the
//! last task has run and the workers have exited (our `shutdown(false, ..)`
//! drains the queue; the Book's pool drops its sender and joins). Each task
//! adds one to a static counter, so its closure captures nothing and boxing
//! it allocates nothing, in both pools: what is measured is the queue.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use waitress::logging::{Level, Logger};
use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};

static TASKS_RUN: AtomicUsize = AtomicUsize::new(0);

fn trivial_task() {
    TASKS_RUN.fetch_add(1, Ordering::Relaxed);
}

/// Seconds to push `tasks` tasks through a `ThreadedTaskDispatcher`.
fn time_waitress_pool(threads: usize, tasks: usize) -> Duration {
    // Queue warnings would flood nothing (they are rate-limited) but would
    // still cost a write each second: send them nowhere.
    let quiet = Logger::to_writer(std::io::sink(), Level::Error);
    let pool = ThreadedTaskDispatcher::builder()
        .logger(quiet)
        .idle_spin(Duration::from_micros(
            std::env::var("SPIN").map_or(50, |v| v.parse().unwrap()),
        ))
        .build();
    pool.set_thread_count(threads);
    while pool.stats().idle < threads {
        thread::yield_now();
    }
    TASKS_RUN.store(0, Ordering::Relaxed);
    let began = Instant::now();
    for _ in 0..tasks {
        pool.add_task(Box::new(trivial_task));
    }
    let still_running = pool.shutdown(false, Duration::from_secs(600));
    let took = began.elapsed();
    assert_eq!(still_running, 0);
    assert_eq!(TASKS_RUN.load(Ordering::Relaxed), tasks);
    took
}

/// The Rust Book's pool (chapter 21, final listing), minus its `println!`s.
mod book_pool {
    use super::*;

    type Job = Box<dyn FnOnce() + Send + 'static>;

    pub struct ThreadPool {
        workers: Vec<thread::JoinHandle<()>>,
        sender: Option<mpsc::Sender<Job>>,
    }

    impl ThreadPool {
        /// `ready` lets the benchmark start the clock once every worker runs.
        pub fn new(size: usize, ready: Arc<Barrier>) -> ThreadPool {
            // ANCHOR: book_pool_new
            let (sender, receiver) = mpsc::channel::<Job>();
            let receiver = Arc::new(Mutex::new(receiver));
            let workers = (0..size)
                .map(|_| {
                    let (receiver, ready) = (Arc::clone(&receiver), Arc::clone(&ready));
                    thread::spawn(move || {
                        ready.wait();
                        loop {
                            // The guard is a temporary: dropped at the `;`.
                            let message = receiver.lock().unwrap().recv();
                            match message {
                                Ok(job) => job(),
                                Err(_) => break, // sender dropped: shut down
                            }
                        }
                    })
                })
                .collect();
            // ANCHOR_END: book_pool_new
            ThreadPool {
                workers,
                sender: Some(sender),
            }
        }

        pub fn execute<F: FnOnce() + Send + 'static>(&self, f: F) {
            self.sender.as_ref().unwrap().send(Box::new(f)).unwrap();
        }
    }

    impl Drop for ThreadPool {
        fn drop(&mut self) {
            drop(self.sender.take());
            for worker in self.workers.drain(..) {
                worker.join().unwrap();
            }
        }
    }
}

/// Seconds to push `tasks` tasks through the Book's pool.
fn time_book_pool(threads: usize, tasks: usize) -> Duration {
    let ready = Arc::new(Barrier::new(threads + 1));
    let pool = book_pool::ThreadPool::new(threads, Arc::clone(&ready));
    ready.wait();
    TASKS_RUN.store(0, Ordering::Relaxed);
    let began = Instant::now();
    for _ in 0..tasks {
        pool.execute(trivial_task);
    }
    drop(pool); // closes the channel; workers drain it, then exit and are joined
    let took = began.elapsed();
    assert_eq!(TASKS_RUN.load(Ordering::Relaxed), tasks);
    took
}

fn best_of(rounds: usize, mut run: impl FnMut() -> Duration) -> Duration {
    (0..rounds).map(|_| black_box(run())).min().unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("task count"));
    let rounds: usize = args.next().map_or(3, |a| a.parse().expect("rounds"));
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    println!("{tasks} trivial tasks from one submitting thread, best of {rounds}, {cores} cores");
    println!(
        "{:>7}  {:>18}  {:>18}  {:>6}",
        "threads", "waitress tasks/s", "mpsc pool tasks/s", "ratio"
    );
    for threads in [1, 4, 16] {
        let ours = best_of(rounds, || time_waitress_pool(threads, tasks));
        let book = best_of(rounds, || time_book_pool(threads, tasks));
        let rate = |took: Duration| tasks as f64 / took.as_secs_f64();
        println!(
            "{:>7}  {:>18.0}  {:>18.0}  {:>5.2}x",
            threads,
            rate(ours),
            rate(book),
            rate(ours) / rate(book)
        );
    }
}
