//! The queue: a bounded queue blocks `add_task` and makes `try_add_task`
//! give the task back; tasks add tasks without deadlock; `defer` runs when
//! no worker is idle.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;

use waitress::pool::{Dispatcher, Task, ThreadedTaskDispatcher};

use super::{A_MOMENT, PATIENCE, bounded_pool, drain, quiet_pool, recorder, wait_for_stats};

#[test]
fn add_task_blocks_while_the_bounded_queue_is_full_and_resumes_when_space_frees() {
    let pool = Arc::new(bounded_pool(1));
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
    let pool = bounded_pool(2);
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
    let pool = Arc::new(bounded_pool(1));
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
