//! Waking the I/O thread from another thread: the self-pipe trick.
//!
//! The I/O thread spends its idle time blocked in `epoll_wait` or `poll(2)`. When a worker
//! finishes a response, or the server is asked to shut down, the I/O thread
//! must look again at its channels, but nothing it polls has changed. The
//! trick (Waitress's `trigger.py`) is to poll one more descriptor, the read
//! end of a socket pair, and to write a byte to the other end to wake it up.
//!
//! [`Trigger`] does that with a nonblocking [`UnixStream::pair`] and adds
//! two things that make wake-ups cheap:
//!
//! * **coalescing**: between two wake-ups, any number of pulls from any
//!   number of threads write at most one byte;
//! * **waking only a sleeper**: a pull writes nothing while the I/O thread is
//!   awake. It only records the pull in an atomic, and the I/O thread looks
//!   at that record before it goes to sleep. Under load the I/O thread is
//!   rarely asleep, so most pulls cost one atomic operation and no system
//!   call.
//!
//! The I/O thread's side of the protocol is [`Trigger::set_sleeping`] before
//! `poll` and [`Trigger::set_awake`] after it ([`Trigger::poll`] does all
//! three steps in one call, and [`Trigger::wait`] the same around a
//! [`Poller`], as the server does):
#![forbid(unsafe_code)]

use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::io::sys::{self, Events, PollFd, Poller};

/// The I/O thread is in `poll`, or about to be: a pull must write a byte.
const SLEEPING: u8 = 0b01;
/// Someone pulled since the I/O thread last woke up.
const PULLED: u8 = 0b10;

/// Wakes the I/O thread out of `poll(2)`: a nonblocking socket pair whose
/// read end is in the poll set, and an atomic that makes pulls coalesce and
/// skips the write while the I/O thread is awake. Share it with an `Arc`;
/// it is `Send + Sync`.
// ANCHOR: trigger
#[derive(Debug)]
pub struct Trigger {
    /// Polled by the I/O thread for readability, drained when readable.
    reader: UnixStream,
    /// Written by pulls, and by the signal handler through a duplicate.
    writer: UnixStream,
    /// `SLEEPING` and `PULLED` bits.
    state: AtomicU8,
}
// ANCHOR_END: trigger

impl Trigger {
    /// A new trigger: a socket pair with both ends nonblocking (and
    /// close-on-exec, as std makes every descriptor).
    pub fn new() -> io::Result<Trigger> {
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        Ok(Trigger {
            reader,
            writer,
            state: AtomicU8::new(0),
        })
    }

    /// Asks the I/O thread to look at its channels again; callable from any
    /// thread, as often as needed.
    ///
    /// If the I/O thread is asleep in `poll` (between
    /// [`set_sleeping`](Trigger::set_sleeping) and
    /// [`set_awake`](Trigger::set_awake)) and nobody has pulled yet, this
    /// writes one byte, which wakes it. Otherwise it only records the pull:
    /// an awake I/O thread sees the record in `set_sleeping` and polls
    /// without blocking, and a sleeping one already has its byte.
    ///
    /// Whatever the caller changed before pulling (a response queued, a flag
    /// set) is visible to the I/O thread after its next `set_sleeping` or
    /// `set_awake`: pulls are release operations, those are acquire.
    // ANCHOR: pull
    pub fn pull(&self) {
        let before = self.state.fetch_or(PULLED, Ordering::AcqRel);
        if before == SLEEPING {
            // The first pull since the I/O thread went to sleep: wake it.
            self.write_byte();
        }
    }
    // ANCHOR_END: pull

    /// Writes one byte to the pair. WouldBlock means the socket's buffer is
    /// full of earlier bytes, each of which is a pending wake-up already.
    /// Nothing else can fail while this trigger owns both ends.
    fn write_byte(&self) {
        loop {
            match (&self.writer).write(&[1]) {
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                _ => return,
            }
        }
    }

    // ANCHOR: sleeping
    /// Called by the I/O thread just before `poll`: returns `true` if it may
    /// block, `false` if a pull came while it was awake, in which case it
    /// must poll with a zero timeout (and look at its channels again).
    pub fn set_sleeping(&self) -> bool {
        match self
            .state
            .compare_exchange(0, SLEEPING, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(state) if state & PULLED == 0 => true, // already sleeping
            Err(_) => {
                // Consume the pull; one that comes after this is recorded
                // again and seen next time.
                self.state.swap(0, Ordering::AcqRel);
                false
            }
        }
    }

    /// Called by the I/O thread just after `poll` returns: it is awake, so
    /// pulls stop writing. Returns whether anyone pulled while it slept.
    ///
    /// A pull that came during the sleep wrote a byte, or is about to: the
    /// trigger's descriptor is, or will shortly be, readable. Drain it when
    /// `poll` says so; a byte that lands after the drain only causes one
    /// extra, harmless, turn of the loop.
    pub fn set_awake(&self) -> bool {
        self.state.swap(0, Ordering::AcqRel) & PULLED != 0
    }
    // ANCHOR_END: sleeping

    /// The I/O thread's whole side of the protocol in one call:
    /// [`set_sleeping`](Trigger::set_sleeping), [`sys::poll`]
    /// with `timeout` (or with a zero timeout if a pull came while the thread
    /// was awake), then [`set_awake`](Trigger::set_awake). `fds` should
    /// include this trigger's [`fd`](Trigger::fd) for `POLLIN`; drain it
    /// when it is readable.
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    pub fn poll(&self, fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
        self.sleep(timeout, |timeout| sys::poll(fds, timeout))
    }

    /// Whether someone pulled since the I/O thread last woke up. Unlike
    /// [`set_sleeping`](Trigger::set_sleeping) it changes nothing: a loop
    /// that checks for work without sleeping reads it, and then sleeps
    /// through [`wait`](Trigger::wait), which consumes the pull.
    pub fn is_pulled(&self) -> bool {
        self.state.load(Ordering::Acquire) & PULLED != 0
    }

    /// The same protocol around a [`Poller`] wait, as the server's loop
    /// uses it: register [`fd`](Trigger::fd) in the poller for `POLLIN`
    /// and drain the trigger when its key comes back ready.
    pub fn wait(
        &self,
        poller: &mut Poller,
        ready: &mut Vec<(usize, Events)>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.sleep(timeout, |timeout| poller.wait(ready, timeout))
    }

    /// Runs `wait` with `timeout`, or with a zero timeout if a pull came
    /// while the I/O thread was awake, between the two halves of the
    /// protocol.
    fn sleep<T>(&self, timeout: Option<Duration>, wait: impl FnOnce(Option<Duration>) -> T) -> T {
        let timeout = if self.set_sleeping() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        let result = wait(timeout);
        self.set_awake();
        result
    }

    /// Reads every pending byte, so the read end stops being readable, and
    /// returns how many there were. Call it when `poll` reports the
    /// trigger's descriptor readable.
    pub fn drain(&self) -> usize {
        let mut buffer = [0u8; 64];
        let mut total = 0;
        loop {
            match (&self.reader).read(&mut buffer) {
                Ok(0) => return total, // cannot happen: we hold the writer
                // A short read took all there was: skip the read that
                // would only say WouldBlock (one system call per wake-up).
                Ok(n) if n < buffer.len() => return total + n,
                Ok(n) => total += n,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return total, // WouldBlock: empty
            }
        }
    }

    /// The read end's descriptor, for the poll set (wait for `POLLIN`).
    pub fn fd(&self) -> RawFd {
        self.reader.as_raw_fd()
    }

    /// The write end, for
    /// [`install_shutdown_signals`](crate::io::sys::install_shutdown_signals):
    /// the signal handler writes its byte there directly (it cannot touch
    /// the atomic protocol; a byte always wakes `poll`).
    pub fn write_fd(&self) -> BorrowedFd<'_> {
        self.writer.as_fd()
    }
}

/// The read end, as for [`Trigger::fd`].
impl AsFd for Trigger {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.reader.as_fd()
    }
}

/// The read end, as for [`Trigger::fd`].
impl AsRawFd for Trigger {
    fn as_raw_fd(&self) -> RawFd {
        self.reader.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::sys::{POLLIN, poll};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn readable(trigger: &Trigger) -> bool {
        let mut fds = [PollFd::new(trigger.fd(), POLLIN)];
        poll(&mut fds, Some(Duration::ZERO)).unwrap() == 1
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Trigger>();
    }

    #[test]
    fn pulls_while_awake_write_nothing_but_keep_the_loop_awake() {
        let trigger = Trigger::new().unwrap();
        trigger.pull();
        trigger.pull();
        assert!(!readable(&trigger));
        assert!(!trigger.set_sleeping(), "a recorded pull forbids blocking");
        assert!(trigger.set_sleeping(), "the record was consumed");
        assert!(!trigger.set_awake());
        assert!(!readable(&trigger));
    }

    #[test]
    fn many_pulls_from_many_threads_write_one_byte() {
        let trigger = Arc::new(Trigger::new().unwrap());
        assert!(trigger.set_sleeping());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let trigger = Arc::clone(&trigger);
                std::thread::spawn(move || (0..1000).for_each(|_| trigger.pull()))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!(readable(&trigger));
        assert!(trigger.set_awake());
        assert_eq!(trigger.drain(), 1);
        assert!(!readable(&trigger));
    }

    #[test]
    fn drain_empties_more_bytes_than_its_buffer_holds() {
        // The signal handler writes straight to the pair, one byte per
        // signal, so bytes can pile up; a full read must be followed by
        // another, and only a short one ends the drain.
        let trigger = Trigger::new().unwrap();
        let mut writer =
            std::os::unix::net::UnixStream::from(trigger.write_fd().try_clone_to_owned().unwrap());
        std::io::Write::write_all(&mut writer, &[1; 150]).unwrap();
        assert_eq!(trigger.drain(), 150);
        assert!(!readable(&trigger));
        std::io::Write::write_all(&mut writer, &[1; 64]).unwrap();
        assert_eq!(trigger.drain(), 64, "exactly one buffer's worth");
        assert!(!readable(&trigger));
    }

    #[test]
    fn trigger_poll_follows_the_protocol() {
        let trigger = Arc::new(Trigger::new().unwrap());
        let mut fds = [PollFd::new(trigger.fd(), POLLIN)];
        // Nothing pulled: it blocks for the whole timeout.
        let start = Instant::now();
        assert_eq!(
            trigger
                .poll(&mut fds, Some(Duration::from_millis(20)))
                .unwrap(),
            0
        );
        assert!(start.elapsed() >= Duration::from_millis(20));
        // Pulled from another thread while blocked: woken, one byte.
        let puller = {
            let trigger = Arc::clone(&trigger);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                trigger.pull();
            })
        };
        assert_eq!(
            trigger
                .poll(&mut fds, Some(Duration::from_secs(10)))
                .unwrap(),
            1
        );
        assert_eq!(trigger.drain(), 1);
        puller.join().unwrap();
        // Awake again: a pull writes nothing.
        trigger.pull();
        assert!(!readable(&trigger));
    }

    #[test]
    fn a_pull_from_another_thread_ends_a_blocking_poll() {
        let trigger = Arc::new(Trigger::new().unwrap());
        assert!(trigger.set_sleeping());
        let puller = {
            let trigger = Arc::clone(&trigger);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                trigger.pull();
            })
        };
        let start = Instant::now();
        let mut fds = [PollFd::new(trigger.fd(), POLLIN)];
        assert_eq!(poll(&mut fds, Some(Duration::from_secs(10))).unwrap(), 1);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(trigger.set_awake());
        assert_eq!(trigger.drain(), 1);
        puller.join().unwrap();
    }
}

/// The examples these items' docs had while the module was public,
/// kept as tests.
#[cfg(test)]
mod doc_examples {
    use std::time::Duration;

    #[test]
    fn module_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use std::sync::Arc;

            use crate::io::sys::{POLLIN, PollFd, poll};
            use crate::io::trigger::Trigger;

            let trigger = Arc::new(Trigger::new()?);
            let worker = {
                let trigger = Arc::clone(&trigger);
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(10));
                    trigger.pull(); // "I have finished something: look again"
                })
            };

            let mut fds = [PollFd::new(trigger.fd(), POLLIN)];
            loop {
                // Block only if nobody pulled while we were awake.
                let timeout = if trigger.set_sleeping() {
                    Some(Duration::from_secs(5))
                } else {
                    Some(Duration::ZERO)
                };
                poll(&mut fds, timeout)?;
                let pulled = trigger.set_awake();
                if fds[0].revents().contains(POLLIN) {
                    trigger.drain();
                }
                if pulled {
                    break; // ... and here the loop would look at its channels again
                }
            }
            worker.join().unwrap();
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn trigger_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::{POLLIN, PollFd, poll};
            use crate::io::trigger::Trigger;

            let trigger = Trigger::new()?;
            assert!(trigger.set_sleeping()); // the I/O thread is about to poll
            trigger.pull(); // from any thread, any number of times
            trigger.pull();
            let mut fds = [PollFd::new(trigger.fd(), POLLIN)];
            assert_eq!(poll(&mut fds, Some(Duration::from_secs(5)))?, 1);
            assert!(trigger.set_awake()); // it was pulled
            assert_eq!(trigger.drain(), 1); // two pulls, one byte
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn new_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            let trigger = crate::io::trigger::Trigger::new()?;
            assert_eq!(trigger.drain(), 0);
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn pull_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            let trigger = crate::io::trigger::Trigger::new()?;
            trigger.pull(); // awake: nothing written, the pull is recorded
            assert_eq!(trigger.drain(), 0);
            assert!(!trigger.set_sleeping()); // so don't block in poll this time
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn set_sleeping_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            let trigger = crate::io::trigger::Trigger::new()?;
            assert!(trigger.set_sleeping());
            assert!(!trigger.set_awake());
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn set_awake_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            let trigger = crate::io::trigger::Trigger::new()?;
            assert!(trigger.set_sleeping());
            trigger.pull();
            assert!(trigger.set_awake());
            assert_eq!(trigger.drain(), 1);
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn poll_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::{POLLIN, PollFd};
            let trigger = crate::io::trigger::Trigger::new()?;
            let mut fds = [PollFd::new(trigger.fd(), POLLIN)];
            trigger.pull(); // while awake: recorded, so the next poll does not block
            assert_eq!(trigger.poll(&mut fds, None)?, 0);
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn is_pulled_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            let trigger = crate::io::trigger::Trigger::new()?;
            assert!(!trigger.is_pulled());
            trigger.pull();
            assert!(trigger.is_pulled());
            assert!(!trigger.set_sleeping()); // consumed here
            assert!(!trigger.is_pulled());
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn wait_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::{POLLIN, Poller};
            let trigger = crate::io::trigger::Trigger::new()?;
            let mut poller = Poller::new()?;
            poller.add(trigger.fd(), 0, POLLIN)?;
            let mut ready = Vec::new();
            trigger.pull(); // while awake: recorded, so the wait does not block
            trigger.wait(&mut poller, &mut ready, None)?;
            assert!(ready.is_empty());
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn drain_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            let trigger = crate::io::trigger::Trigger::new()?;
            assert_eq!(trigger.drain(), 0); // never blocks
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn fd_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::{POLLIN, PollFd};
            let trigger = crate::io::trigger::Trigger::new()?;
            let entry = PollFd::new(trigger.fd(), POLLIN);
            assert_eq!(entry.revents(), crate::io::sys::Events::EMPTY);
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn write_fd_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use std::os::fd::AsRawFd;
            let trigger = crate::io::trigger::Trigger::new()?;
            assert_ne!(trigger.write_fd().as_raw_fd(), trigger.fd());
            Ok(())
        };
        run().unwrap();
    }
}
