//! `poll(2)` itself: [`PollFd`], laid out as C's `struct pollfd`, and
//! [`poll()`], the call, with EINTR retried and the timeout rounded *up* to
//! whole milliseconds (`timeout_ms`, which `epoll_wait` uses too). The
//! portable [`PollSet`](super::PollSet) is built on it, and so is
//! [`Trigger::poll`](crate::io::trigger::Trigger::poll), for a loop that
//! polls a few descriptors of its own.
#![allow(unsafe_code)]
// poll(2) is the loop's poller on macOS and the BSDs; on Linux only the
// trigger's own polls, the tests and `--cfg waitress_force_poll` use it.
#![cfg_attr(target_os = "linux", allow(dead_code))]

use std::ffi::c_int;
use std::io::{self, ErrorKind};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::Events;
use super::platform::NfdsT;

// ANCHOR: poll_ffi
/// `poll(2)`, declared beside the struct it takes (the other C functions
/// are in the module's `ffi` block).
mod ffi {
    use super::{NfdsT, PollFd};
    use std::ffi::c_int;

    unsafe extern "C" {
        pub fn poll(fds: *mut PollFd, nfds: NfdsT, timeout: c_int) -> c_int;
    }
}
// ANCHOR_END: poll_ffi

/// One entry of the `poll(2)` set: a descriptor, the events to wait for,
/// and the events that happened. Laid out exactly like C's `struct pollfd`,
/// so a `&mut [PollFd]` is passed to the kernel as it is.
///
/// An entry with a negative descriptor is skipped by the kernel (its
/// `revents` come back empty): that is how to switch a slot off without
/// removing it. Errors and hang-ups ([`POLLERR`], [`POLLHUP`], [`POLLNVAL`])
/// are reported even with empty `events`.
///
/// [`POLLERR`]: super::POLLERR
/// [`POLLHUP`]: super::POLLHUP
/// [`POLLNVAL`]: super::POLLNVAL
// ANCHOR: pollfd
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct PollFd {
    fd: c_int,
    events: Events,
    revents: Events,
}
// ANCHOR_END: pollfd

impl PollFd {
    /// An entry that waits for `events` on `fd`.
    ///
    /// A raw descriptor rather than a borrowed one, so a loop can keep its
    /// array from one `poll` to the next: `poll(2)` only looks at the number,
    /// it never reads, writes or closes the descriptor, and a number that is
    /// not open comes back as [`POLLNVAL`].
    ///
    /// [`POLLNVAL`]: super::POLLNVAL
    pub const fn new(fd: RawFd, events: Events) -> PollFd {
        PollFd {
            fd,
            events,
            revents: Events::EMPTY,
        }
    }

    /// The descriptor.
    pub const fn fd(&self) -> RawFd {
        self.fd
    }

    /// Replaces the descriptor (a negative one switches the entry off) and
    /// clears `revents`.
    pub fn set_fd(&mut self, fd: RawFd) {
        self.fd = fd;
        self.revents = Events::EMPTY;
    }

    /// The events waited for.
    pub const fn events(&self) -> Events {
        self.events
    }

    /// Changes the events waited for.
    pub fn set_events(&mut self, events: Events) {
        self.events = events;
    }

    /// The events the last [`poll`] reported for this entry.
    pub const fn revents(&self) -> Events {
        self.revents
    }
}

// ANCHOR: timeout
/// The `int` milliseconds `poll(2)` takes: `None` waits forever (-1); a
/// duration is rounded *up* to whole milliseconds, so 0.3 ms does not become
/// a busy `poll(.., 0)`, and capped at `c_int::MAX` (about 24.8 days).
pub(super) fn timeout_ms(timeout: Option<Duration>) -> c_int {
    match timeout {
        None => -1,
        Some(timeout) => {
            let millis = timeout.as_nanos().div_ceil(1_000_000);
            c_int::try_from(millis).unwrap_or(c_int::MAX)
        }
    }
}
// ANCHOR_END: timeout

/// Waits until one of `fds` is ready or `timeout` passes (`None`: no
/// limit), and returns how many entries have non-empty
/// [`revents`](PollFd::revents); 0 means the timeout passed.
///
/// A signal that interrupts the wait (EINTR) does not end it: `poll` is
/// called again with what is left of the timeout. The timeout is rounded
/// up to whole milliseconds.
// ANCHOR: poll
pub fn poll(fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
    let nfds = NfdsT::try_from(fds.len())
        .map_err(|_| io::Error::new(ErrorKind::InvalidInput, "too many descriptors to poll"))?;
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    let mut remaining = timeout;
    loop {
        // SAFETY: `fds` is a live, exclusively borrowed slice of `nfds`
        // `#[repr(C)]` pollfd structs; the kernel writes only their `revents`
        // and keeps no pointer after returning.
        let ready = unsafe { ffi::poll(fds.as_mut_ptr(), nfds, timeout_ms(remaining)) };
        if let Ok(ready) = usize::try_from(ready) {
            return Ok(ready);
        }
        let error = io::Error::last_os_error();
        // EINTR: a signal arrived. EAGAIN: the kernel ran short of memory
        // for a moment. Either way, wait again for the time that is left.
        if !matches!(error.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) {
            return Err(error);
        }
        if let Some(deadline) = deadline {
            remaining = Some(deadline.saturating_duration_since(Instant::now()));
        }
    }
}
// ANCHOR_END: poll

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(300))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_millis(5))), 5);
        assert_eq!(timeout_ms(Some(Duration::from_micros(5_001))), 6);
        assert_eq!(
            timeout_ms(Some(Duration::from_secs(30 * 86_400))),
            c_int::MAX
        );
        assert_eq!(timeout_ms(Some(Duration::MAX)), c_int::MAX);
    }

    #[test]
    fn pollfd_has_the_c_layout() {
        assert_eq!(size_of::<PollFd>(), 8);
    }
}

/// The examples these items' docs had while the module was public,
/// kept as tests.
#[cfg(test)]
mod doc_examples {
    #[test]
    fn pollfd_example() {
        use crate::io::sys::{Events, POLLIN, POLLOUT, PollFd};

        let mut entry = PollFd::new(7, POLLIN);
        entry.set_events(POLLIN | POLLOUT);
        assert_eq!(entry.fd(), 7);
        assert_eq!(entry.events(), POLLIN | POLLOUT);
        assert_eq!(entry.revents(), Events::EMPTY);
    }

    #[test]
    fn fn_example() {
        use crate::io::sys::{POLLIN, PollFd};
        let entry = PollFd::new(3, POLLIN);
        assert_eq!(entry.fd(), 3);
    }

    #[test]
    fn fn_example_2() {
        assert_eq!(
            crate::io::sys::PollFd::new(-1, crate::io::sys::POLLIN).fd(),
            -1
        );
    }

    #[test]
    fn set_fd_example() {
        use crate::io::sys::{POLLIN, PollFd};
        let mut entry = PollFd::new(3, POLLIN);
        entry.set_fd(-1);
        assert_eq!(entry.fd(), -1);
    }

    #[test]
    fn fn_example_3() {
        use crate::io::sys::{POLLOUT, PollFd};
        assert_eq!(PollFd::new(3, POLLOUT).events(), POLLOUT);
    }

    #[test]
    fn set_events_example() {
        use crate::io::sys::{Events, POLLIN, PollFd};
        let mut entry = PollFd::new(3, POLLIN);
        entry.set_events(Events::EMPTY); // errors and hang-ups are still reported
        assert!(entry.events().is_empty());
    }

    #[test]
    fn fn_example_4() {
        use crate::io::sys::PollFd;
        assert!(PollFd::new(3, crate::io::sys::POLLIN).revents().is_empty());
    }

    #[test]
    fn poll_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::{POLLIN, POLLOUT, PollFd, poll};
            use std::os::fd::AsRawFd;
            use std::os::unix::net::UnixStream;
            use std::time::{Duration, Instant};

            let (a, _b) = UnixStream::pair()?;
            let mut fds = [PollFd::new(a.as_raw_fd(), POLLIN | POLLOUT)];
            assert_eq!(poll(&mut fds, None)?, 1); // writable at once
            assert_eq!(fds[0].revents(), POLLOUT);

            fds[0].set_events(POLLIN);
            let start = Instant::now();
            assert_eq!(poll(&mut fds, Some(Duration::from_millis(20)))?, 0);
            assert!(start.elapsed() >= Duration::from_millis(20));
            Ok(())
        };
        run().unwrap();
    }
}
