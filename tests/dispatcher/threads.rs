//! The pool's threads: FIFO order, growing and shrinking at run time,
//! names and stack sizes, and many submitters at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Barrier};
use std::thread;

use crate::support::Gate;
use waitress::logging::{Level, Logger};
use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};

use super::{A_MOMENT, PATIENCE, bounded_pool, quiet_pool, wait_for_stats};

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

/// Runs `count` tasks that wait for each other at a barrier (so `count`
/// threads must run them at once) and returns their threads' names.
fn names_of_threads_running_together(pool: &ThreadedTaskDispatcher, count: usize) -> Vec<String> {
    let barrier = Arc::new(Barrier::new(count + 1));
    let (names, named) = mpsc::channel();
    for _ in 0..count {
        let (barrier, names) = (barrier.clone(), names.clone());
        pool.add_task(Box::new(move || {
            names
                .send(thread::current().name().unwrap().to_string())
                .unwrap();
            barrier.wait();
        }));
    }
    let seen = (0..count)
        .map(|_| named.recv_timeout(PATIENCE).unwrap())
        .collect();
    barrier.wait();
    seen
}

#[test]
fn the_pool_grows_at_run_time_and_runs_tasks_in_parallel() {
    let (pool, _log) = quiet_pool();
    pool.set_thread_count(1);
    pool.set_thread_count(3);
    assert_eq!(pool.stats().threads, 3);
    // Three tasks meet at a barrier: only possible if three threads run them.
    let mut seen = names_of_threads_running_together(&pool, 3);
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
    let mut seen = names_of_threads_running_together(&pool, 2);
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
fn many_tasks_from_many_threads_all_run_exactly_once() {
    let pool = Arc::new(bounded_pool(16));
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
