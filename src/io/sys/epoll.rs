//! [`Epoll`], the [`Poller`](super::Poller) on Linux: `epoll(7)` keeps the
//! registered set in the kernel, so a wait costs O(ready descriptors)
//! rather than the O(registered) of [`PollSet`](super::PollSet). Its C
//! declarations are here, not in `mod.rs`, because only Linux has them:
//! `mod.rs` compiles this file on Linux only.
#![allow(unsafe_code)]
// With `--cfg waitress_force_poll` the loop uses poll(2) even on Linux.
#![cfg_attr(waitress_force_poll, allow(dead_code))]

use std::ffi::c_int;
use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use super::Events;
use super::cvt;
use super::poll::timeout_ms;

/// The Linux poller, on `epoll(7)`: the kernel keeps the registered set
/// and a list of the ready ones, so a wait costs O(ready descriptors).
/// Level-triggered, like `poll(2)`. The epoll descriptor is closed on drop.
#[derive(Debug)]
pub struct Epoll {
    epoll: OwnedFd,
    /// Space for the kernel to report ready descriptors into.
    events: Vec<ffi::Event>,
}

/// `epoll(7)`'s constants, its one struct (`struct epoll_event`) and its
/// three calls, declared as the C headers do.
mod ffi {
    use std::ffi::c_int;

    pub const EPOLL_CLOEXEC: c_int = 0o2_000_000;
    pub const EPOLL_CTL_ADD: c_int = 1;
    pub const EPOLL_CTL_DEL: c_int = 2;
    pub const EPOLL_CTL_MOD: c_int = 3;
    /// At most this many ready descriptors per wait; level triggering
    /// reports the rest on the next one.
    pub const MAX_EVENTS: usize = 1024;

    // ANCHOR: epoll_event
    /// `struct epoll_event`: the event bits (`EPOLLIN` … `EPOLLHUP` have the
    /// values of `POLLIN` … `POLLHUP`) and 64 bits of our own data, the key.
    /// glibc declares it packed on x86-64 only (so that 32- and 64-bit code
    /// agree there): 12 bytes, against 16 with the usual alignment.
    #[derive(Clone, Copy, Debug, Default)]
    #[cfg_attr(target_arch = "x86_64", repr(C, packed))]
    #[cfg_attr(not(target_arch = "x86_64"), repr(C))]
    pub struct Event {
        pub events: u32,
        pub data: u64,
    }

    // The kernel's size on each architecture, checked at compile time:
    // packed on x86-64, and 32-bit x86 aligns a u64 field to 4 anyway.
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    const _: () = assert!(size_of::<Event>() == 12);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
    const _: () = assert!(size_of::<Event>() == 16);

    unsafe extern "C" {
        pub fn epoll_create1(flags: c_int) -> c_int;
        pub fn epoll_ctl(epoll: c_int, operation: c_int, fd: c_int, event: *mut Event) -> c_int;
        pub fn epoll_wait(
            epoll: c_int,
            events: *mut Event,
            capacity: c_int,
            timeout: c_int,
        ) -> c_int;
    }
    // ANCHOR_END: epoll_event
}

impl Epoll {
    /// A new, empty epoll set (close-on-exec).
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes a flag word and returns a new
        // descriptor or -1; no memory is shared with the kernel.
        let fd = cvt(unsafe { ffi::epoll_create1(ffi::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by epoll_create1, is open, and
        // nothing else owns it.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll {
            epoll,
            events: Vec::with_capacity(ffi::MAX_EVENTS),
        })
    }

    // ANCHOR: epoll_ctl
    fn control(&self, operation: c_int, fd: RawFd, key: usize, interest: Events) -> io::Result<()> {
        let mut event = ffi::Event {
            // The POLL* bits are EPOLL* bits; `as u16` keeps the bit pattern.
            events: u32::from(interest.bits() as u16),
            data: key as u64,
        };
        // SAFETY: `event` is a live, initialised `struct epoll_event` that
        // the kernel only reads during the call (and ignores for DEL); an
        // `fd` that is not open is refused with EBADF, not undefined.
        cvt(unsafe { ffi::epoll_ctl(self.epoll.as_raw_fd(), operation, fd, &mut event) })?;
        Ok(())
    }
    // ANCHOR_END: epoll_ctl

    /// Registers `fd`, reported as `key`, waiting for `interest`.
    pub fn add(&mut self, fd: RawFd, key: usize, interest: Events) -> io::Result<()> {
        self.control(ffi::EPOLL_CTL_ADD, fd, key, interest)
    }

    /// Changes the key and interest of a registered `fd`.
    pub fn modify(&mut self, fd: RawFd, key: usize, interest: Events) -> io::Result<()> {
        self.control(ffi::EPOLL_CTL_MOD, fd, key, interest)
    }

    /// Unregisters `fd`. Do it before closing `fd`: epoll watches the open
    /// file, which a duplicate (or a thread still holding the socket) keeps
    /// alive after this descriptor is closed.
    pub fn remove(&mut self, fd: RawFd) -> io::Result<()> {
        self.control(ffi::EPOLL_CTL_DEL, fd, 0, Events::EMPTY)
    }

    /// Unregisters `fd`, which the caller is about to close and which has
    /// no duplicate: closing the last descriptor of a socket removes it
    /// from every epoll set, so this makes no system call. (A server that
    /// closes tens of thousands of connections a second saves one call per
    /// connection.)
    pub fn remove_closing(&mut self, _fd: RawFd) -> io::Result<()> {
        Ok(())
    }

    /// Waits until a registered descriptor is ready or `timeout` passes
    /// (`None`: no limit; rounded up to whole milliseconds; EINTR retried),
    /// and fills `ready` with `(key, events)` pairs, at most 1,024 at a
    /// time; an empty `ready` means the timeout passed.
    pub fn wait(
        &mut self,
        ready: &mut Vec<(usize, Events)>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        ready.clear();
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let mut remaining = timeout;
        let count = loop {
            self.events.clear();
            // SAFETY: the kernel writes at most `capacity()` (1,024, fits in
            // a c_int) events into the vector's spare capacity and returns
            // how many it wrote; nothing is read before `set_len` below.
            let result = unsafe {
                ffi::epoll_wait(
                    self.epoll.as_raw_fd(),
                    self.events.as_mut_ptr(),
                    ffi::MAX_EVENTS as c_int,
                    timeout_ms(remaining),
                )
            };
            if let Ok(count) = usize::try_from(result) {
                break count;
            }
            let error = io::Error::last_os_error();
            if error.kind() != ErrorKind::Interrupted {
                return Err(error);
            }
            if let Some(deadline) = deadline {
                remaining = Some(deadline.saturating_duration_since(Instant::now()));
            }
        };
        // SAFETY: epoll_wait initialised the first `count` entries, and
        // `count <= MAX_EVENTS == capacity`.
        unsafe { self.events.set_len(count) };
        for event in &self.events {
            let (bits, key) = (event.events, event.data); // copies: packed fields
            ready.push((key as usize, Events::from_bits(bits as u16 as i16)));
        }
        Ok(())
    }
}
