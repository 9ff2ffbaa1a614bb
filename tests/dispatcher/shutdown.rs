//! Shutdown: waiting for running tasks, cancelling or running queued ones,
//! reporting threads still stuck at the timeout, and dropping the pool.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::Gate;
use waitress::pool::Dispatcher;

use super::{
    A_MOMENT, PATIENCE, blocking_task, bounded_pool, drain, quiet_pool, recorder, wait_for_stats,
};

#[test]
fn shutdown_unblocks_a_submitter_waiting_on_a_full_queue_and_cancels_its_task() {
    let pool = Arc::new(bounded_pool(1));
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
fn dropping_the_pool_cancels_queued_tasks_and_lets_threads_go() {
    let (events, seen) = mpsc::channel();
    let (pool, _log) = quiet_pool();
    pool.add_task(recorder(1, &events));
    drop(pool);
    assert_eq!(drain(&seen), [(1, "cancel")]);
}
