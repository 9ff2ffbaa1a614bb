//! Behaviour of the thread pool, `waitress::pool`.
//!
//! Every wait is bounded: results come back over channels read with
//! `recv_timeout`, and state that has no channel (thread counts) is polled
//! with a deadline. A test that fails therefore fails within seconds instead
//! of hanging.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use support::{Gate, wait_until};
use waitress::logging::{Level, Logger, MemoryLog};
use waitress::pool::{Dispatcher, DispatcherStats, Task, ThreadedTaskDispatcher};

/// Long enough for anything that should happen, short enough not to hang.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long to watch for something that must *not* happen.
const A_MOMENT: Duration = Duration::from_millis(50);

fn quiet_pool() -> (ThreadedTaskDispatcher, MemoryLog) {
    let (logger, log) = Logger::memory(Level::Debug);
    let pool = ThreadedTaskDispatcher::builder().logger(logger).build();
    (pool, log)
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

#[test]
fn tasks_run_in_fifo_order_on_one_thread() {
    let (pool, _log) = quiet_pool();
    pool.set_thread_count(1);
    let (tx, rx) = mpsc::channel();
    for n in 0..100 {
        let tx = tx.clone();
        pool.add_task(Box::new(move || tx.send(n).unwrap()));
    }
    let order: Vec<i32> = (0..100)
        .map(|_| rx.recv_timeout(PATIENCE).unwrap())
        .collect();
    assert_eq!(order, (0..100).collect::<Vec<_>>());
    assert_eq!(pool.shutdown(true, PATIENCE), 0);
}

#[test]
fn tasks_queued_before_any_thread_starts_run_in_fifo_order() {
    let (pool, _log) = quiet_pool();
    let (tx, rx) = mpsc::channel();
    for n in 0..10 {
        let tx = tx.clone();
        pool.add_task(Box::new(move || tx.send(n).unwrap()));
    }
    assert_eq!(pool.stats().queued, 10);
    pool.set_thread_count(1);
    let order: Vec<i32> = (0..10)
        .map(|_| rx.recv_timeout(PATIENCE).unwrap())
        .collect();
    assert_eq!(order, (0..10).collect::<Vec<_>>());
    pool.shutdown(true, PATIENCE);
}

#[test]
fn the_pool_grows_at_run_time_and_runs_tasks_in_parallel() {
    let (pool, _log) = quiet_pool();
    pool.set_thread_count(1);
    pool.set_thread_count(3);
    assert_eq!(pool.stats().threads, 3);
    // Three tasks meet at a barrier: only possible if three threads run them.
    let barrier = Arc::new(Barrier::new(4));
    let (names, named) = mpsc::channel();
    for _ in 0..3 {
        let (barrier, names) = (barrier.clone(), names.clone());
        pool.add_task(Box::new(move || {
            names
                .send(thread::current().name().unwrap().to_string())
                .unwrap();
            barrier.wait();
        }));
    }
    let mut seen: Vec<String> = (0..3)
        .map(|_| named.recv_timeout(PATIENCE).unwrap())
        .collect();
    barrier.wait();
    seen.sort();
    assert_eq!(seen, ["waitress-0", "waitress-1", "waitress-2"]);
    assert_eq!(pool.shutdown(true, PATIENCE), 0);
}

#[test]
fn shrinking_lets_surplus_threads_exit_and_growing_again_reuses_names() {
    let (pool, _log) = quiet_pool();
    pool.set_thread_count(4);
    wait_for_stats(&pool, "4 threads are idle", |s| s.idle == 4);
    pool.set_thread_count(1);
    wait_for_stats(&pool, "3 threads exited", |s| s.threads == 1);
    pool.set_thread_count(2);
    assert_eq!(pool.stats().threads, 2);

    // The pool still works, on threads named from the lowest free numbers.
    let barrier = Arc::new(Barrier::new(3));
    let (names, named) = mpsc::channel();
    for _ in 0..2 {
        let (barrier, names) = (barrier.clone(), names.clone());
        pool.add_task(Box::new(move || {
            names
                .send(thread::current().name().unwrap().to_string())
                .unwrap();
            barrier.wait();
        }));
    }
    let mut seen: Vec<String> = (0..2)
        .map(|_| named.recv_timeout(PATIENCE).unwrap())
        .collect();
    barrier.wait();
    // Which thread survived the shrink is up to the scheduler; the new one
    // takes the lowest free number, so names stay within waitress-0..3.
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 2, "two different threads: {seen:?}");
    for name in &seen {
        let number: usize = name.strip_prefix("waitress-").unwrap().parse().unwrap();
        assert!(number < 4, "{name} reuses a freed number");
    }
    pool.shutdown(true, PATIENCE);
}

#[test]
fn a_busy_thread_above_the_new_count_exits_after_its_current_task() {
    let (pool, _log) = quiet_pool();
    pool.set_thread_count(1);
    let (gate, (started, has_started)) = (Gate::new(), mpsc::channel());
    let (finished, has_finished) = mpsc::channel();
    let task_gate = gate.clone();
    pool.add_task(Box::new(move || {
        started.send(()).unwrap();
        task_gate.wait();
        finished.send(()).unwrap();
    }));
    has_started.recv_timeout(PATIENCE).unwrap();
    pool.set_thread_count(0);
    // The task is not interrupted: the thread is still there, running it.
    assert_eq!(pool.stats().threads, 1);
    assert_eq!(pool.stats().running, 1);
    gate.open();
    has_finished.recv_timeout(PATIENCE).unwrap();
    wait_for_stats(&pool, "the thread exited", |s| s.threads == 0);
    assert_eq!(pool.stats().completed, 1);
}

#[test]
fn tasks_wait_in_the_queue_while_the_pool_has_no_threads() {
    let (pool, _log) = quiet_pool();
    pool.set_thread_count(1);
    pool.set_thread_count(0);
    wait_for_stats(&pool, "the thread exited", |s| s.threads == 0);
    let (tx, rx) = mpsc::channel();
    pool.add_task(Box::new(move || tx.send(()).unwrap()));
    assert_eq!(rx.recv_timeout(A_MOMENT), Err(RecvTimeoutError::Timeout));
    pool.set_thread_count(1);
    rx.recv_timeout(PATIENCE).unwrap();
    pool.shutdown(true, PATIENCE);
}

#[test]
fn add_task_blocks_while_the_bounded_queue_is_full_and_resumes_when_space_frees() {
    let (logger, _log) = Logger::memory(Level::Error);
    let pool = Arc::new(
        ThreadedTaskDispatcher::builder()
            .logger(logger)
            .queue_limit(1)
            .build(),
    );
    let (done, ran) = mpsc::channel();
    let first = done.clone();
    pool.add_task(Box::new(move || first.send("first").unwrap()));

    let (added, was_added) = mpsc::channel();
    let submitter = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || {
            pool.add_task(Box::new(move || done.send("second").unwrap()));
            added.send(()).unwrap();
        })
    };
    wait_for_stats(&pool, "the submitter blocks", |s| s.blocked_submitters == 1);
    assert_eq!(
        was_added.recv_timeout(A_MOMENT),
        Err(RecvTimeoutError::Timeout)
    );

    pool.set_thread_count(1); // the worker takes "first", making room
    was_added.recv_timeout(PATIENCE).unwrap();
    assert_eq!(ran.recv_timeout(PATIENCE), Ok("first"));
    assert_eq!(ran.recv_timeout(PATIENCE), Ok("second"));
    submitter.join().unwrap();
    assert_eq!(pool.shutdown(true, PATIENCE), 0);
}

#[test]
fn try_add_task_gives_the_task_back_when_the_queue_is_full() {
    let (logger, _log) = Logger::memory(Level::Error);
    let pool = ThreadedTaskDispatcher::builder()
        .logger(logger)
        .queue_limit(2)
        .build();
    let (events, seen) = mpsc::channel();
    assert!(pool.try_add_task(recorder(1, &events)).is_ok());
    assert!(pool.try_add_task(recorder(2, &events)).is_ok());
    let refused = pool
        .try_add_task(recorder(3, &events))
        .expect_err("queue is full");
    assert_eq!(pool.stats().queued, 2);
    // The caller still owns the refused task and can run it (or keep it).
    refused.service();
    assert_eq!(drain(&seen), [(3, "service")]);

    pool.set_thread_count(1);
    assert_eq!(seen.recv_timeout(PATIENCE), Ok((1, "service")));
    assert_eq!(seen.recv_timeout(PATIENCE), Ok((2, "service")));
    assert!(pool.try_add_task(recorder(4, &events)).is_ok());
    assert_eq!(seen.recv_timeout(PATIENCE), Ok((4, "service")));
    pool.shutdown(true, PATIENCE);
}

#[test]
fn try_add_task_gives_the_task_back_after_shutdown() {
    let (pool, _log) = quiet_pool();
    pool.shutdown(true, PATIENCE);
    let (events, seen) = mpsc::channel();
    assert!(pool.try_add_task(recorder(1, &events)).is_err());
    assert!(drain(&seen).is_empty(), "neither serviced nor cancelled");
    assert_eq!(pool.stats().submitted, 0);
}

#[test]
fn add_task_after_shutdown_cancels_the_task_at_once() {
    let (pool, _log) = quiet_pool();
    pool.set_thread_count(2);
    pool.shutdown(true, PATIENCE);
    let (events, seen) = mpsc::channel();
    pool.add_task(recorder(7, &events));
    assert_eq!(drain(&seen), [(7, "cancel")]);
    pool.set_thread_count(4); // ignored after shutdown
    assert_eq!(pool.stats().threads, 0);
    assert_eq!(pool.stats().cancelled, 1);
}

#[test]
fn shutdown_unblocks_a_submitter_waiting_on_a_full_queue_and_cancels_its_task() {
    let (logger, _log) = Logger::memory(Level::Error);
    let pool = Arc::new(
        ThreadedTaskDispatcher::builder()
            .logger(logger)
            .queue_limit(1)
            .build(),
    );
    let (events, seen) = mpsc::channel();
    pool.add_task(recorder(1, &events));
    let submitter = {
        let (pool, events) = (Arc::clone(&pool), events.clone());
        thread::spawn(move || pool.add_task(recorder(2, &events)))
    };
    wait_for_stats(&pool, "the submitter blocks", |s| s.blocked_submitters == 1);
    assert_eq!(pool.shutdown(true, PATIENCE), 0);
    submitter.join().unwrap();
    let mut events = drain(&seen);
    events.sort();
    assert_eq!(events, [(1, "cancel"), (2, "cancel")]);
}

#[test]
fn shutdown_waits_for_running_tasks_and_cancels_queued_ones() {
    let (pool, log) = quiet_pool();
    let pool = Arc::new(pool);
    pool.set_thread_count(1);
    let (gate, (started, has_started)) = (Gate::new(), mpsc::channel());
    let (events, seen) = mpsc::channel();
    let running_events = events.clone();
    let task_gate = gate.clone();
    pool.add_task(Box::new(move || {
        started.send(()).unwrap();
        task_gate.wait();
        running_events.send((0, "finished")).unwrap();
    }));
    has_started.recv_timeout(PATIENCE).unwrap();
    pool.add_task(recorder(1, &events));
    pool.add_task(recorder(2, &events));

    let (returned, has_returned) = mpsc::channel();
    let shutter = {
        let pool = Arc::clone(&pool);
        thread::spawn(move || returned.send(pool.shutdown(true, PATIENCE)).unwrap())
    };
    // The queued tasks are cancelled at once, in order, never serviced...
    assert_eq!(seen.recv_timeout(PATIENCE), Ok((1, "cancel")));
    assert_eq!(seen.recv_timeout(PATIENCE), Ok((2, "cancel")));
    // ...while shutdown waits for the running one.
    assert_eq!(
        has_returned.recv_timeout(A_MOMENT),
        Err(RecvTimeoutError::Timeout)
    );
    gate.open();
    assert_eq!(seen.recv_timeout(PATIENCE), Ok((0, "finished")));
    assert_eq!(has_returned.recv_timeout(PATIENCE), Ok(0));
    shutter.join().unwrap();
    assert!(drain(&seen).is_empty());
    assert!(log.contents().contains("Canceling 2 pending task(s)"));
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.cancelled, stats.threads), (1, 2, 0));
}

#[test]
fn shutdown_without_cancelling_runs_the_queued_tasks_first() {
    let (pool, _log) = quiet_pool();
    let (events, seen) = mpsc::channel();
    for id in 0..5 {
        pool.add_task(recorder(id, &events));
    }
    pool.set_thread_count(2);
    assert_eq!(pool.shutdown(false, PATIENCE), 0);
    let mut events = drain(&seen);
    events.sort();
    assert_eq!(events, (0..5).map(|id| (id, "service")).collect::<Vec<_>>());
}

#[test]
fn a_draining_shutdown_still_runs_follow_up_tasks_added_by_running_tasks() {
    let (pool, _log) = quiet_pool();
    let pool = Arc::new(pool);
    let (events, seen) = mpsc::channel();
    for id in 0..3 {
        let (inner_pool, events) = (Arc::clone(&pool), events.clone());
        pool.add_task(Box::new(move || {
            // Like a connection queueing its next pipelined request.
            inner_pool.add_task(recorder(10 + id, &events));
        }));
    }
    pool.set_thread_count(1);
    assert_eq!(pool.shutdown(false, PATIENCE), 0);
    let mut ran = drain(&seen);
    ran.sort();
    assert_eq!(ran, [(10, "service"), (11, "service"), (12, "service")]);
    // From any other thread, a task added now is cancelled.
    pool.add_task(recorder(99, &events));
    assert_eq!(drain(&seen), [(99, "cancel")]);
}

#[test]
fn shutdown_reports_threads_still_running_at_the_timeout() {
    let (pool, log) = quiet_pool();
    pool.set_thread_count(2);
    let (gate, (started, has_started)) = (Gate::new(), mpsc::channel());
    pool.add_task(blocking_task(&gate, &started));
    has_started.recv_timeout(PATIENCE).unwrap();

    let began = Instant::now();
    assert_eq!(pool.shutdown(true, Duration::from_millis(30)), 1);
    assert!(began.elapsed() >= Duration::from_millis(30));
    assert!(log.contents().contains("1 thread(s) still running"));

    gate.open(); // the stuck thread finishes its task and exits
    wait_for_stats(&pool, "the last thread exited", |s| s.threads == 0);
    assert_eq!(pool.shutdown(true, PATIENCE), 0);
}

#[test]
fn a_panicking_task_is_logged_and_counted_and_the_pool_keeps_its_threads() {
    let (pool, log) = quiet_pool();
    pool.set_thread_count(2);
    // More panics than threads: the Rust Book's pool would be dead by now.
    for n in 0..5 {
        pool.add_task(Box::new(move || panic!("task {n} went wrong")));
    }
    let (tx, rx) = mpsc::channel();
    for n in 0..5 {
        let tx = tx.clone();
        pool.add_task(Box::new(move || tx.send(n).unwrap()));
    }
    let mut ran: Vec<i32> = (0..5).map(|_| rx.recv_timeout(PATIENCE).unwrap()).collect();
    ran.sort();
    assert_eq!(ran, [0, 1, 2, 3, 4]);
    let stats = wait_for_stats(&pool, "all tasks are counted", |s| {
        s.completed + s.failed == 10
    });
    assert_eq!((stats.failed, stats.threads), (5, 2));
    let contents = log.contents();
    assert!(
        contents.contains("ERROR [waitress] Exception when servicing task on thread waitress-")
    );
    assert!(contents.contains("panicked: task 3 went wrong"));
    assert_eq!(pool.shutdown(true, PATIENCE), 0);
}

#[test]
fn a_panicking_cancel_does_not_stop_the_other_cancels() {
    struct Explodes;
    impl Task for Explodes {
        fn service(self: Box<Self>) {}
        fn cancel(self: Box<Self>) {
            panic!("cancel went wrong");
        }
    }
    let (pool, log) = quiet_pool();
    let (events, seen) = mpsc::channel();
    pool.add_task(Box::new(Explodes));
    pool.add_task(recorder(1, &events));
    pool.shutdown(true, PATIENCE);
    assert_eq!(drain(&seen), [(1, "cancel")]);
    assert!(log.contents().contains("cancel went wrong"));
}

#[test]
fn tasks_can_add_tasks_to_their_own_pool_without_deadlock() {
    let (pool, _log) = quiet_pool();
    let pool = Arc::new(pool);
    pool.set_thread_count(1);
    let (tx, rx) = mpsc::channel();

    /// Adds the next link of a chain from inside the running task.
    fn link(pool: Arc<ThreadedTaskDispatcher>, n: usize, tx: Sender<usize>) -> Box<dyn Task> {
        Box::new(move || {
            tx.send(n).unwrap();
            if n < 200 {
                let next = link(Arc::clone(&pool), n + 1, tx);
                pool.add_task(next);
            }
        })
    }
    pool.add_task(link(Arc::clone(&pool), 0, tx));
    let chain: Vec<usize> = (0..=200)
        .map(|_| rx.recv_timeout(PATIENCE).unwrap())
        .collect();
    assert_eq!(chain, (0..=200).collect::<Vec<_>>());
    assert_eq!(pool.shutdown(true, PATIENCE), 0);
}

#[test]
fn a_worker_adding_to_its_own_full_queue_is_not_blocked() {
    // One thread, room for one task: a task that adds five would wait for
    // itself forever if a worker could block on its own pool's bound.
    let (logger, _log) = Logger::memory(Level::Error);
    let pool = Arc::new(
        ThreadedTaskDispatcher::builder()
            .logger(logger)
            .queue_limit(1)
            .build(),
    );
    pool.set_thread_count(1);
    let (tx, rx) = mpsc::channel();
    let inner_pool = Arc::clone(&pool);
    pool.add_task(Box::new(move || {
        for n in 0..5 {
            let tx = tx.clone();
            inner_pool.add_task(Box::new(move || tx.send(n).unwrap()));
        }
    }));
    let ran: Vec<i32> = (0..5).map(|_| rx.recv_timeout(PATIENCE).unwrap()).collect();
    assert_eq!(ran, [0, 1, 2, 3, 4]);
    assert_eq!(pool.shutdown(true, PATIENCE), 0);
}

#[test]
fn shutdown_called_from_a_task_does_not_wait_for_its_own_thread() {
    let (pool, _log) = quiet_pool();
    let pool = Arc::new(pool);
    pool.set_thread_count(2);
    let (tx, rx) = mpsc::channel();
    let inner_pool = Arc::clone(&pool);
    pool.add_task(Box::new(move || {
        let began = Instant::now();
        let still_running = inner_pool.shutdown(true, PATIENCE);
        tx.send((still_running, began.elapsed())).unwrap();
    }));
    let (still_running, took) = rx.recv_timeout(PATIENCE).unwrap();
    assert_eq!(still_running, 0);
    assert!(took < PATIENCE);
    wait_for_stats(&pool, "both threads exited", |s| s.threads == 0);
}

#[test]
fn the_queue_depth_warning_is_logged_when_tasks_wait_with_no_idle_thread() {
    let (logger, log) = Logger::memory(Level::Info);
    let pool = ThreadedTaskDispatcher::builder()
        .logger(logger)
        .queue_warning_interval(Duration::ZERO)
        .build();
    pool.add_task(Box::new(|| {}));
    pool.add_task(Box::new(|| {}));
    let warnings: Vec<String> = log
        .contents()
        .lines()
        .filter(|line| line.contains("WARNING [waitress.queue]"))
        .map(|line| line.rsplit("] ").next().unwrap().to_string())
        .collect();
    assert_eq!(warnings, ["Task queue depth is 1", "Task queue depth is 2"]);
}

#[test]
fn no_queue_depth_warning_while_a_thread_is_idle() {
    let (pool, log) = quiet_pool();
    pool.set_thread_count(1);
    wait_for_stats(&pool, "the thread is idle", |s| s.idle == 1);
    let (tx, rx) = mpsc::channel();
    pool.add_task(Box::new(move || tx.send(()).unwrap()));
    rx.recv_timeout(PATIENCE).unwrap();
    assert!(!log.contents().contains("Task queue depth"));
    pool.shutdown(true, PATIENCE);
}

#[test]
fn the_queue_depth_warning_is_rate_limited_and_reports_the_latest_depth() {
    let (logger, log) = Logger::memory(Level::Info);
    let interval = Duration::from_millis(40);
    let pool = ThreadedTaskDispatcher::builder()
        .logger(logger)
        .queue_warning_interval(interval)
        .build();
    let began = Instant::now();
    for _ in 0..100 {
        pool.add_task(Box::new(|| {}));
    }
    let burst_took = began.elapsed();
    let depth_lines = |log: &MemoryLog| {
        log.contents()
            .lines()
            .filter(|line| line.contains("Task queue depth is"))
            .map(|line| line.rsplit("is ").next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    if burst_took < interval {
        assert_eq!(depth_lines(&log), ["1"]);
    }
    // Time itself is under test here, so a sleep is the right tool. While
    // rate-limited the pool reads the clock only every 64 waiting tasks, so
    // the next warning may take up to 64 more.
    thread::sleep(interval);
    let before = depth_lines(&log).len();
    let mut added = 100;
    while depth_lines(&log).len() == before {
        assert!(added < 100 + 64, "no second warning");
        pool.add_task(Box::new(|| {}));
        added += 1;
    }
    let latest = depth_lines(&log).last().unwrap().clone();
    assert_eq!(
        latest,
        added.to_string(),
        "reports the depth at that moment"
    );
}

#[test]
fn the_default_rate_limit_allows_one_queue_warning_per_second() {
    let (logger, log) = Logger::memory(Level::Info);
    let pool = ThreadedTaskDispatcher::builder().logger(logger).build();
    for _ in 0..1000 {
        pool.add_task(Box::new(|| {}));
    }
    assert_eq!(log.contents().matches("Task queue depth").count(), 1);
}

#[test]
fn defer_is_called_when_no_worker_is_idle() {
    struct Deferrable(Arc<AtomicUsize>);
    impl Task for Deferrable {
        fn service(self: Box<Self>) {}
        fn defer(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (pool, _log) = quiet_pool();
    let deferred = Arc::new(AtomicUsize::new(0));
    pool.add_task(Box::new(Deferrable(deferred.clone())));
    assert_eq!(
        deferred.load(Ordering::SeqCst),
        1,
        "no threads: it must wait"
    );

    pool.set_thread_count(1);
    wait_for_stats(&pool, "the thread is idle", |s| {
        s.idle == 1 && s.queued == 0
    });
    pool.add_task(Box::new(Deferrable(deferred.clone())));
    assert_eq!(
        deferred.load(Ordering::SeqCst),
        1,
        "an idle thread takes it"
    );
    pool.shutdown(true, PATIENCE);
}

#[test]
fn the_counters_add_up() {
    let (pool, _log) = quiet_pool();
    pool.set_thread_count(2);
    let (gate, (started, has_started)) = (Gate::new(), mpsc::channel());
    for _ in 0..2 {
        pool.add_task(blocking_task(&gate, &started));
    }
    for _ in 0..2 {
        has_started.recv_timeout(PATIENCE).unwrap();
    }
    for _ in 0..3 {
        pool.add_task(Box::new(|| {}));
    }
    let busy = pool.stats();
    assert_eq!(
        (
            busy.threads,
            busy.running,
            busy.idle,
            busy.queued,
            busy.submitted
        ),
        (2, 2, 0, 3, 5)
    );

    gate.open();
    pool.add_task(Box::new(|| panic!("counted as failed")));
    let done = wait_for_stats(&pool, "everything ran", |s| s.completed + s.failed == 6);
    assert_eq!(
        (done.completed, done.failed, done.queued, done.running),
        (5, 1, 0, 0)
    );
    assert_eq!(done.submitted, 6);

    pool.set_thread_count(0);
    wait_for_stats(&pool, "threads exited", |s| s.threads == 0);
    for _ in 0..2 {
        pool.add_task(Box::new(|| {}));
    }
    pool.shutdown(true, PATIENCE);
    pool.add_task(Box::new(|| {}));
    let last = pool.stats();
    assert_eq!(
        last.submitted,
        last.queued as u64 + last.running as u64 + last.completed + last.failed + last.cancelled
    );
    assert_eq!((last.submitted, last.cancelled), (9, 3));
}

#[test]
fn threads_are_named_with_the_configured_prefix_and_stack_size() {
    let (logger, _log) = Logger::memory(Level::Error);
    let pool = ThreadedTaskDispatcher::builder()
        .logger(logger)
        .thread_name_prefix("tiny")
        .stack_size(64 * 1024)
        .build();
    pool.set_thread_count(1);
    let (tx, rx) = mpsc::channel();
    pool.add_task(Box::new(move || {
        tx.send(thread::current().name().map(str::to_string))
            .unwrap()
    }));
    assert_eq!(
        rx.recv_timeout(PATIENCE).unwrap().as_deref(),
        Some("tiny-0")
    );
    pool.shutdown(true, PATIENCE);
}

#[test]
fn dropping_the_pool_cancels_queued_tasks_and_lets_threads_go() {
    let (events, seen) = mpsc::channel();
    let (pool, _log) = quiet_pool();
    pool.add_task(recorder(1, &events));
    drop(pool);
    assert_eq!(drain(&seen), [(1, "cancel")]);
}

#[test]
fn many_tasks_from_many_threads_all_run_exactly_once() {
    let (logger, _log) = Logger::memory(Level::Error);
    let pool = Arc::new(
        ThreadedTaskDispatcher::builder()
            .logger(logger)
            .queue_limit(16)
            .build(),
    );
    pool.set_thread_count(3);
    let counter = Arc::new(AtomicUsize::new(0));
    let submitters: Vec<_> = (0..4)
        .map(|_| {
            let (pool, counter) = (Arc::clone(&pool), Arc::clone(&counter));
            thread::spawn(move || {
                for _ in 0..2_000 {
                    let counter = Arc::clone(&counter);
                    pool.add_task(Box::new(move || {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }));
                }
            })
        })
        .collect();
    for submitter in submitters {
        submitter.join().unwrap();
    }
    assert_eq!(pool.shutdown(false, PATIENCE), 0);
    assert_eq!(counter.load(Ordering::Relaxed), 8_000);
    assert_eq!(pool.stats().completed, 8_000);
}

#[test]
fn no_queue_depth_warning_for_a_task_that_comes_before_the_threads_have_started() {
    // A server's first request can arrive before its workers have reached
    // their loop; they are about to be idle, not busy. Repeated, because
    // the threads win the race most of the time.
    for _ in 0..50 {
        let (logger, log) = Logger::memory(Level::Info);
        let pool = ThreadedTaskDispatcher::builder()
            .logger(logger)
            .queue_warning_interval(Duration::ZERO)
            .build();
        pool.set_thread_count(4);
        pool.add_task(Box::new(|| {}));
        assert!(
            !log.contents().contains("Task queue depth"),
            "{}",
            log.contents()
        );
        pool.shutdown(false, PATIENCE);
    }
}
