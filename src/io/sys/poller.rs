//! [`Poller`], the readiness API the I/O loop uses, chosen per platform as
//! mio does, and [`PollSet`], the portable one it falls back to: a kept
//! `pollfd` array handed whole to [`poll()`] on every wait. The Linux one,
//! [`Epoll`](super::Epoll), is in `epoll.rs`. Both have the same five
//! methods (`add`, `modify`, `remove`, `remove_closing`, `wait`), so the
//! loop never knows which one it has.
#![forbid(unsafe_code)]
// poll(2) is the loop's poller on macOS and the BSDs; on Linux only the
// tests and `--cfg waitress_force_poll` use `PollSet`.
#![cfg_attr(all(target_os = "linux", not(waitress_force_poll)), allow(dead_code))]

use std::collections::HashMap;
use std::io::{self, ErrorKind};
use std::os::fd::RawFd;
use std::time::Duration;

#[cfg(all(target_os = "linux", not(waitress_force_poll)))]
use super::Epoll;
use super::{Events, PollFd, poll};

// ANCHOR: poller
/// A set of registered descriptors, each with a key and the events wanted,
/// and a wait for the ones that are ready: the readiness API the I/O loop
/// uses.
///
/// On Linux it is `epoll(7)`: the kernel keeps the set, so a wait costs
/// O(ready descriptors), not O(registered ones). Elsewhere (macOS, the BSDs)
/// it is [`PollSet`], which passes the whole set to `poll(2)` on every wait.
/// Both are level-triggered and report [`POLLERR`] and [`POLLHUP`] even with
/// empty interest, so the loop above them behaves the same on both.
///
/// A descriptor must be [removed](Poller::remove) before it is closed.
///
/// [`POLLERR`]: super::POLLERR
/// [`POLLHUP`]: super::POLLHUP
#[cfg(all(target_os = "linux", not(waitress_force_poll)))]
pub type Poller = Epoll;
/// A set of registered descriptors (see the Linux documentation): here,
/// `poll(2)` through [`PollSet`]. (On Linux, building with
/// `RUSTFLAGS="--cfg waitress_force_poll"` picks it too, so that the
/// server's tests can run through it.)
#[cfg(any(not(target_os = "linux"), waitress_force_poll))]
pub type Poller = PollSet;
// ANCHOR_END: poller

/// The portable poller: a `pollfd` array kept between waits and passed
/// whole to [`poll`], so a wait costs O(registered descriptors). It is the
/// [`Poller`] on macOS and the BSDs; on Linux it is there for comparison and
/// tests.
#[derive(Debug, Default)]
pub struct PollSet {
    entries: Vec<PollFd>,
    keys: Vec<usize>,
    /// Where each registered descriptor is in `entries`.
    positions: HashMap<RawFd, usize>,
}

impl PollSet {
    /// An empty set. (Returns a `Result` to match
    /// [`Epoll::new`](super::Epoll::new).)
    pub fn new() -> io::Result<PollSet> {
        Ok(PollSet::default())
    }

    /// Registers `fd`, reported as `key`, waiting for `interest`.
    pub fn add(&mut self, fd: RawFd, key: usize, interest: Events) -> io::Result<()> {
        if fd < 0 {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "negative descriptor",
            ));
        }
        if self.positions.contains_key(&fd) {
            return Err(io::Error::new(
                ErrorKind::AlreadyExists,
                "descriptor already registered",
            ));
        }
        self.positions.insert(fd, self.entries.len());
        self.entries.push(PollFd::new(fd, interest));
        self.keys.push(key);
        Ok(())
    }

    /// Changes the key and interest of a registered `fd`.
    pub fn modify(&mut self, fd: RawFd, key: usize, interest: Events) -> io::Result<()> {
        let position = self.position(fd)?;
        self.entries[position].set_events(interest);
        self.keys[position] = key;
        Ok(())
    }

    /// Unregisters `fd`.
    pub fn remove(&mut self, fd: RawFd) -> io::Result<()> {
        let position = self.position(fd)?;
        self.positions.remove(&fd);
        self.entries.swap_remove(position);
        self.keys.swap_remove(position);
        if let Some(moved) = self.entries.get(position) {
            self.positions.insert(moved.fd(), position);
        }
        Ok(())
    }

    /// Unregisters `fd`, which is about to be closed and has no duplicate.
    /// The same as [`remove`](PollSet::remove) here; see
    /// [`Epoll::remove_closing`](super::Epoll::remove_closing) for why it
    /// exists.
    pub fn remove_closing(&mut self, fd: RawFd) -> io::Result<()> {
        self.remove(fd)
    }

    /// Waits until a registered descriptor is ready or `timeout` passes
    /// (`None`: no limit), and fills `ready` with `(key, events)` pairs; an
    /// empty `ready` means the timeout passed.
    pub fn wait(
        &mut self,
        ready: &mut Vec<(usize, Events)>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        ready.clear();
        let mut count = poll(&mut self.entries, timeout)?;
        for (entry, &key) in self.entries.iter().zip(&self.keys) {
            if count == 0 {
                break;
            }
            if !entry.revents().is_empty() {
                ready.push((key, entry.revents()));
                count -= 1;
            }
        }
        Ok(())
    }

    fn position(&self, fd: RawFd) -> io::Result<usize> {
        self.positions
            .get(&fd)
            .copied()
            .ok_or_else(|| io::Error::new(ErrorKind::NotFound, "descriptor not registered"))
    }
}
