//! What the pool reports: panicking tasks (logged and counted, the threads
//! kept), the queue-depth warning and its rate limit, and the counters.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::Gate;
use waitress::logging::{Level, Logger, MemoryLog};
use waitress::pool::{Dispatcher, Task, ThreadedTaskDispatcher};

use super::{PATIENCE, blocking_task, drain, quiet_pool, recorder, wait_for_stats};

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
