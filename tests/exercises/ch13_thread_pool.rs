//! The exercises of chapter 13: The thread pool.
use std::thread;
use std::time::{Duration, Instant};

use crate::support::TIMEOUT;
use waitress::logging::{Level, Logger};
use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};

use super::duration_after;

// ---------------------------------------------------------------------------
// Chapter 13: The thread pool
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 13"]
fn ch13_stats_report_the_p99_queue_wait() {
    let pool = ThreadedTaskDispatcher::new();
    let stats = format!("{:?}", pool.stats());
    assert!(stats.contains("queue_wait_p99"), "{stats}");
    assert_eq!(
        duration_after(&stats, "queue_wait_p99"),
        Some(Duration::ZERO)
    );
    pool.shutdown(true, Duration::from_secs(1));
}

#[test]
#[ignore = "exercise: chapter 13"]
fn ch13_the_p99_sees_a_queue_behind_a_slow_task() {
    let pool = ThreadedTaskDispatcher::new();
    pool.set_thread_count(1);
    pool.add_task(Box::new(|| thread::sleep(Duration::from_millis(200))));
    for _ in 0..9 {
        pool.add_task(Box::new(|| {}));
    }
    let deadline = Instant::now() + TIMEOUT;
    while pool.stats().completed < 10 {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(5));
    }
    let stats = format!("{:?}", pool.stats());
    let p99 = duration_after(&stats, "queue_wait_p99").expect("a queue_wait_p99 field");
    // 9 of 10 tasks waited about 200 ms behind the first one.
    assert!(p99 >= Duration::from_millis(150), "{stats}");
    assert!(p99 < Duration::from_secs(2), "{stats}");
    pool.shutdown(true, Duration::from_secs(1));
}

#[test]
#[ignore = "exercise: chapter 13"]
fn ch13_shutdown_names_the_stuck_threads() {
    let (logger, log) = Logger::memory(Level::Info);
    let pool = ThreadedTaskDispatcher::builder()
        .logger(logger)
        .thread_name_prefix("app")
        .build();
    pool.set_thread_count(3);
    let (started, running_on) = std::sync::mpsc::channel();
    pool.add_task(Box::new(move || {
        let name = thread::current().name().unwrap_or("?").to_string();
        started.send(name).unwrap();
        thread::sleep(Duration::from_millis(800));
    }));
    let stuck = running_on.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(pool.shutdown(true, Duration::from_millis(50)), 1);
    let log = log.contents();
    let line = log
        .lines()
        .find(|line| line.contains("still running"))
        .unwrap_or_else(|| panic!("no warning in {log:?}"));
    assert!(line.contains(&stuck), "{line:?} does not name {stuck}");
    let idle = ["app-0", "app-1", "app-2"]
        .into_iter()
        .filter(|name| *name != stuck);
    for name in idle {
        assert!(!line.contains(name), "{line:?} names the idle {name}");
    }
}
