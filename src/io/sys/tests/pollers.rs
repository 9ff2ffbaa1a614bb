//! The pollers: the same tests for epoll (Linux) and the portable poll(2)
//! set, through one trait both implement.
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::io::sys::{Events, POLLHUP, POLLIN, POLLOUT, PollSet, Poller};
use crate::io::trigger::Trigger;

// ---------------------------------------------------------------------------
// The pollers: the same tests for epoll (Linux) and the portable poll(2) set.
// ---------------------------------------------------------------------------

/// The operations both pollers have, so one set of tests checks both.
trait Readiness {
    fn add(&mut self, fd: RawFd, key: usize, interest: Events) -> std::io::Result<()>;
    fn modify(&mut self, fd: RawFd, key: usize, interest: Events) -> std::io::Result<()>;
    fn remove(&mut self, fd: RawFd) -> std::io::Result<()>;
    fn remove_closing(&mut self, fd: RawFd) -> std::io::Result<()>;
    fn wait(
        &mut self,
        ready: &mut Vec<(usize, Events)>,
        timeout: Option<Duration>,
    ) -> std::io::Result<()>;
}

macro_rules! readiness {
    ($type:ty) => {
        impl Readiness for $type {
            fn add(&mut self, fd: RawFd, key: usize, interest: Events) -> std::io::Result<()> {
                <$type>::add(self, fd, key, interest)
            }
            fn modify(&mut self, fd: RawFd, key: usize, interest: Events) -> std::io::Result<()> {
                <$type>::modify(self, fd, key, interest)
            }
            fn remove(&mut self, fd: RawFd) -> std::io::Result<()> {
                <$type>::remove(self, fd)
            }
            fn remove_closing(&mut self, fd: RawFd) -> std::io::Result<()> {
                <$type>::remove_closing(self, fd)
            }
            fn wait(
                &mut self,
                ready: &mut Vec<(usize, Events)>,
                timeout: Option<Duration>,
            ) -> std::io::Result<()> {
                <$type>::wait(self, ready, timeout)
            }
        }
    };
}
readiness!(PollSet);
#[cfg(target_os = "linux")]
readiness!(crate::io::sys::Epoll);

fn pollers() -> Vec<(&'static str, Box<dyn Readiness>)> {
    vec![
        ("poll", Box::new(PollSet::new().unwrap())),
        #[cfg(target_os = "linux")]
        ("epoll", Box::new(crate::io::sys::Epoll::new().unwrap())),
    ]
}

fn wait_keys(poller: &mut dyn Readiness, timeout: Duration) -> Vec<(usize, Events)> {
    let mut ready = Vec::new();
    poller.wait(&mut ready, Some(timeout)).unwrap();
    ready.sort_by_key(|&(key, _)| key);
    ready
}

#[test]
fn pollers_report_only_the_ready_descriptors_by_key() {
    for (name, mut poller) in pollers() {
        let pairs: Vec<(UnixStream, UnixStream)> =
            (0..100).map(|_| UnixStream::pair().unwrap()).collect();
        for (index, (reader, _)) in pairs.iter().enumerate() {
            poller
                .add(reader.as_raw_fd(), 1000 + index, POLLIN)
                .unwrap();
        }
        assert_eq!(wait_keys(&mut *poller, Duration::ZERO), [], "{name}");
        for index in [3, 50, 99] {
            (&pairs[index].1).write_all(b"x").unwrap();
        }
        let ready = wait_keys(&mut *poller, Duration::from_secs(5));
        assert_eq!(
            ready,
            [(1003, POLLIN), (1050, POLLIN), (1099, POLLIN)],
            "{name}"
        );
        // Level-triggered: still ready until read.
        assert_eq!(wait_keys(&mut *poller, Duration::ZERO).len(), 3, "{name}");
    }
}

#[test]
fn pollers_change_interest_and_still_report_hang_ups() {
    for (name, mut poller) in pollers() {
        let (reader, writer) = UnixStream::pair().unwrap();
        (&writer).write_all(b"x").unwrap();
        poller.add(reader.as_raw_fd(), 5, POLLIN).unwrap();
        assert_eq!(
            wait_keys(&mut *poller, Duration::ZERO),
            [(5, POLLIN)],
            "{name}"
        );

        poller.modify(reader.as_raw_fd(), 6, Events::EMPTY).unwrap();
        assert_eq!(wait_keys(&mut *poller, Duration::ZERO), [], "{name}");

        drop(writer);
        let ready = wait_keys(&mut *poller, Duration::from_secs(5));
        assert_eq!(ready.len(), 1, "{name}");
        assert_eq!(ready[0].0, 6, "{name}");
        assert!(ready[0].1.contains(POLLHUP), "{name}: {:?}", ready[0].1);
        assert!(!ready[0].1.contains(POLLIN), "{name}: not asked for");
    }
}

#[test]
fn pollers_forget_a_removed_descriptor_and_refuse_unknown_ones() {
    for (name, mut poller) in pollers() {
        let (a, b) = UnixStream::pair().unwrap();
        let (c, _d) = UnixStream::pair().unwrap();
        (&b).write_all(b"x").unwrap();
        poller.add(a.as_raw_fd(), 1, POLLIN).unwrap();
        poller.add(c.as_raw_fd(), 2, POLLOUT).unwrap();
        assert!(
            poller.add(a.as_raw_fd(), 3, POLLIN).is_err(),
            "{name}: added twice"
        );
        poller.remove(a.as_raw_fd()).unwrap();
        assert_eq!(
            wait_keys(&mut *poller, Duration::ZERO),
            [(2, POLLOUT)],
            "{name}"
        );
        assert!(
            poller.remove(a.as_raw_fd()).is_err(),
            "{name}: removed twice"
        );
        assert!(poller.modify(a.as_raw_fd(), 1, POLLIN).is_err(), "{name}");
    }
}

#[test]
fn pollers_forget_a_descriptor_removed_as_it_closes() {
    for (name, mut poller) in pollers() {
        let (a, b) = UnixStream::pair().unwrap();
        let (c, _d) = UnixStream::pair().unwrap();
        (&b).write_all(b"x").unwrap();
        poller.add(a.as_raw_fd(), 1, POLLIN).unwrap();
        poller.add(c.as_raw_fd(), 2, POLLOUT).unwrap();
        poller.remove_closing(a.as_raw_fd()).unwrap();
        drop(a); // now it is gone from the set, whichever poller it is
        assert_eq!(
            wait_keys(&mut *poller, Duration::ZERO),
            [(2, POLLOUT)],
            "{name}"
        );
    }
}

#[test]
fn pollers_wait_for_their_timeout_and_wake_on_a_write_from_another_thread() {
    for (name, mut poller) in pollers() {
        let (reader, writer) = UnixStream::pair().unwrap();
        poller.add(reader.as_raw_fd(), 9, POLLIN).unwrap();
        let start = Instant::now();
        assert_eq!(
            wait_keys(&mut *poller, Duration::from_micros(300)),
            [],
            "{name}"
        );
        assert!(start.elapsed() >= Duration::from_micros(300), "{name}");

        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            (&writer).write_all(b"x").unwrap();
            writer
        });
        let mut ready = Vec::new();
        poller.wait(&mut ready, None).unwrap(); // no timeout: the write ends it
        assert_eq!(ready, [(9, POLLIN)], "{name}");
        drop(writer.join().unwrap());
    }
}

#[test]
fn the_trigger_wakes_a_poller_wait_from_another_thread() {
    let trigger = Arc::new(Trigger::new().unwrap());
    let mut poller = Poller::new().unwrap();
    poller.add(trigger.fd(), 42, POLLIN).unwrap();
    let puller = {
        let trigger = Arc::clone(&trigger);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            trigger.pull();
        })
    };
    let mut ready = Vec::new();
    trigger
        .wait(&mut poller, &mut ready, Some(Duration::from_secs(5)))
        .unwrap();
    puller.join().unwrap();
    assert_eq!(ready, [(42, POLLIN)]);
    assert_eq!(trigger.drain(), 1);
}
