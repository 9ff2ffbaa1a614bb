//! The only module with `unsafe` code: `poll(2)`, `epoll(7)`, listening sockets and
//! signal handling through FFI against the C library that std already links.
//!
//! There is no `libc` crate here. Each C function is declared once, in one
//! `unsafe extern "C"` block, with the C types from [`std::ffi`]; the
//! constants that differ between platforms (`nfds_t`, socket levels and
//! options, `AF_INET6`, the `fcntl` commands) live in one block per platform,
//! the way mio organises its `sys` module. Every `unsafe` block carries a
//! `// SAFETY:` comment saying why it is sound; everything else in the crate
//! forbids `unsafe`.
//!
//! What is here:
//!
//! * [`poll`] over a slice of [`PollFd`], with EINTR retried and the timeout
//!   rounded *up* to whole milliseconds;
//! * [`Poller`], the readiness API the server's loop uses: [`Epoll`]
//!   (`epoll(7)`, whose waits cost O(ready) rather than O(registered)) on
//!   Linux, [`PollSet`] (a kept `pollfd` array) elsewhere;
//! * [`bind_tcp_listener`], which sets `IPV6_V6ONLY` *before* `bind(2)` (std
//!   cannot) so that `0.0.0.0:P` and `[::]:P` can both listen, and
//!   [`set_listen_backlog`] for listeners std created;
//! * [`adopt_listener`] and [`listen_fds_from_env`] for inherited sockets
//!   (the `sockets` adjustment and systemd socket activation);
//! * [`install_shutdown_signals`]: SIGINT and SIGTERM handlers that only
//!   write one byte to the I/O thread's wake-up socket and record which
//!   signal came, for [`take_pending_signal`].
//!
//! ```
//! use std::io::Write;
//! use std::os::fd::AsRawFd;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//! use waitress::io::sys::{poll, PollFd, POLLIN};
//!
//! let (reader, mut writer) = UnixStream::pair()?;
//! let mut fds = [PollFd::new(reader.as_raw_fd(), POLLIN)];
//! assert_eq!(poll(&mut fds, Some(Duration::ZERO))?, 0); // nothing to read yet
//! writer.write_all(b"x")?;
//! assert_eq!(poll(&mut fds, Some(Duration::from_secs(5)))?, 1);
//! assert!(fds[0].revents().contains(POLLIN));
//! # Ok::<(), std::io::Error>(())
//! ```
#![allow(unsafe_code)]

use std::ffi::{c_int, c_short};
use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, TcpListener};
use std::ops::{BitAnd, BitOr, BitOrAssign};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
compile_error!(
    "waitress runs on Linux and Apple platforms (macOS, iOS): src/io/sys.rs declares \
     poll(2), the socket constants and the signal handler for those only. Porting to \
     another Unix means adding its block of constants to src/io/sys.rs."
);

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "mips32r6",
        target_arch = "mips64r6",
        target_arch = "sparc",
        target_arch = "sparc64"
    )
))]
compile_error!(
    "waitress: MIPS and SPARC Linux number their socket constants differently from \
     the generic Linux ABI that src/io/sys.rs declares; add a block for them first."
);

// ANCHOR: platform
/// The values C headers would give us, for the platforms we build on.
#[cfg(target_os = "linux")]
mod platform {
    use std::ffi::{c_int, c_ulong};

    /// `nfds_t` is `unsigned long` in glibc and musl: 64 bits on 64-bit
    /// Linux, 32 bits on 32-bit Linux.
    pub type NfdsT = c_ulong;
    pub const AF_UNIX: c_int = 1;
    pub const AF_INET: c_int = 2;
    pub const AF_INET6: c_int = 10;
    pub const SOCK_STREAM: c_int = 1;
    /// Or-ed into the type given to `socket(2)`: atomically close-on-exec.
    pub const SOCK_CLOEXEC: c_int = 0o2_000_000;
    pub const SOL_SOCKET: c_int = 1;
    pub const SO_REUSEADDR: c_int = 2;
    pub const SO_TYPE: c_int = 3;
    pub const SO_ACCEPTCONN: c_int = 30;
    pub const IPPROTO_IPV6: c_int = 41;
    pub const IPV6_V6ONLY: c_int = 26;
    pub const F_GETFD: c_int = 1;
    pub const F_SETFD: c_int = 2;
    pub const F_GETFL: c_int = 3;
    pub const FD_CLOEXEC: c_int = 1;
    pub const O_NONBLOCK: c_int = 0o4000;
    /// `send(2)` flag: fail with EPIPE instead of raising SIGPIPE.
    pub const MSG_NOSIGNAL: c_int = 0x4000;
}

/// macOS, iOS and the other XNU platforms share one set of values.
#[cfg(target_vendor = "apple")]
mod platform {
    use std::ffi::{c_int, c_uint};

    /// `nfds_t` is `unsigned int` on every BSD, XNU included.
    pub type NfdsT = c_uint;
    pub const AF_UNIX: c_int = 1;
    pub const AF_INET: c_int = 2;
    pub const AF_INET6: c_int = 30;
    pub const SOCK_STREAM: c_int = 1;
    /// No `SOCK_CLOEXEC` on XNU: `FD_CLOEXEC` is set with `fcntl` instead.
    pub const SOCK_CLOEXEC: c_int = 0;
    pub const SOL_SOCKET: c_int = 0xffff;
    pub const SO_REUSEADDR: c_int = 0x0004;
    pub const SO_TYPE: c_int = 0x1008;
    // SO_ACCEPTCONN (0x0002) exists, but XNU's getsockopt refuses it.
    /// Per-socket replacement for `MSG_NOSIGNAL`.
    pub const SO_NOSIGPIPE: c_int = 0x1022;
    pub const IPPROTO_IPV6: c_int = 41;
    pub const IPV6_V6ONLY: c_int = 27;
    pub const F_GETFD: c_int = 1;
    pub const F_SETFD: c_int = 2;
    pub const F_GETFL: c_int = 3;
    pub const FD_CLOEXEC: c_int = 1;
    pub const O_NONBLOCK: c_int = 0x0004;
    /// SIGPIPE is turned off per socket (`SO_NOSIGPIPE`) instead: XNU
    /// only learned `MSG_NOSIGNAL` (0x80000) in recent releases.
    pub const MSG_NOSIGNAL: c_int = 0;
}
// ANCHOR_END: platform

use platform::*;

/// `socklen_t` is 32 bits unsigned on every platform we build on.
type SockLen = u32;

// ANCHOR: ffi
/// The C functions, declared as the C headers do. Calling any of them is
/// `unsafe`: the compiler cannot check pointers and lengths we pass to C.
mod ffi {
    use super::{NfdsT, PollFd, SockLen};
    use std::ffi::{c_int, c_void};

    unsafe extern "C" {
        pub fn poll(fds: *mut PollFd, nfds: NfdsT, timeout: c_int) -> c_int;
        pub fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int;
        pub fn bind(fd: c_int, address: *const c_void, length: SockLen) -> c_int;
        pub fn listen(fd: c_int, backlog: c_int) -> c_int;
        pub fn getsockname(fd: c_int, address: *mut c_void, length: *mut SockLen) -> c_int;
        #[cfg(target_vendor = "apple")]
        pub fn getpeername(fd: c_int, address: *mut c_void, length: *mut SockLen) -> c_int;
        pub fn getsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            value: *mut c_void,
            length: *mut SockLen,
        ) -> c_int;
        pub fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            value: *const c_void,
            length: SockLen,
        ) -> c_int;
        /// Variadic in C; Rust passes the variadic argument the C way.
        pub fn fcntl(fd: c_int, command: c_int, ...) -> c_int;
        pub fn send(fd: c_int, buffer: *const c_void, length: usize, flags: c_int) -> isize;
        /// `sighandler_t signal(int, sighandler_t)`, the handler passed as a
        /// pointer-sized integer as the libc crate does (`SIG_DFL` is 0).
        pub fn signal(signal: c_int, handler: usize) -> usize;
        /// The address of this thread's `errno`.
        #[cfg_attr(target_os = "linux", link_name = "__errno_location")]
        #[cfg_attr(target_vendor = "apple", link_name = "__error")]
        pub fn errno_location() -> *mut c_int;
    }
}
// ANCHOR_END: ffi

/// Turns C's "-1 and errno" convention into an `io::Result`.
fn cvt(result: c_int) -> io::Result<c_int> {
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

// ---------------------------------------------------------------------------
// poll(2)
// ---------------------------------------------------------------------------

/// A set of `poll(2)` event flags: what to wait for ([`PollFd::events`]) or
/// what happened ([`PollFd::revents`]).
///
/// The flags are the constants [`POLLIN`], [`POLLPRI`], [`POLLOUT`],
/// [`POLLERR`], [`POLLHUP`] and [`POLLNVAL`]; they have the same values on
/// Linux, macOS and the BSDs. Combine them with `|`.
///
/// ```
/// use waitress::io::sys::{Events, POLLHUP, POLLIN, POLLOUT};
///
/// let interest = POLLIN | POLLOUT;
/// assert!(interest.contains(POLLIN));
/// assert!(!interest.contains(POLLIN | POLLHUP));
/// assert!(interest.intersects(POLLOUT | POLLHUP));
/// assert!(Events::EMPTY.is_empty());
/// assert_eq!(format!("{interest:?}"), "POLLIN | POLLOUT");
/// ```
// ANCHOR: events
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Events(c_short);

/// Data to read (or, on a listener, a connection to accept).
pub const POLLIN: Events = Events(0x001);
/// Urgent (out-of-band) data to read.
pub const POLLPRI: Events = Events(0x002);
/// Writing will not block.
pub const POLLOUT: Events = Events(0x004);
/// An error is pending on the socket (reported even when not asked for).
pub const POLLERR: Events = Events(0x008);
/// The peer hung up (reported even when not asked for).
pub const POLLHUP: Events = Events(0x010);
/// The descriptor is not open (reported even when not asked for).
pub const POLLNVAL: Events = Events(0x020);
// ANCHOR_END: events

impl Events {
    /// No flags.
    ///
    /// ```
    /// assert!(waitress::io::sys::Events::EMPTY.is_empty());
    /// ```
    pub const EMPTY: Events = Events(0);

    /// The raw `short` C sees.
    ///
    /// ```
    /// assert_eq!(waitress::io::sys::POLLOUT.bits(), 4);
    /// ```
    pub const fn bits(self) -> i16 {
        self.0
    }

    /// Flags from their raw `short`.
    ///
    /// ```
    /// use waitress::io::sys::{Events, POLLIN, POLLOUT};
    /// assert_eq!(Events::from_bits(5), POLLIN | POLLOUT);
    /// ```
    pub const fn from_bits(bits: i16) -> Events {
        Events(bits)
    }

    /// Whether every flag of `other` is set in `self`.
    ///
    /// ```
    /// use waitress::io::sys::{POLLIN, POLLOUT};
    /// assert!((POLLIN | POLLOUT).contains(POLLOUT));
    /// assert!(!POLLIN.contains(POLLIN | POLLOUT));
    /// ```
    pub const fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set in `self`.
    ///
    /// ```
    /// use waitress::io::sys::{POLLERR, POLLHUP, POLLIN};
    /// assert!(POLLHUP.intersects(POLLERR | POLLHUP));
    /// assert!(!POLLIN.intersects(POLLERR | POLLHUP));
    /// ```
    pub const fn intersects(self, other: Events) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no flag is set.
    ///
    /// ```
    /// assert!(!waitress::io::sys::POLLIN.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self | other`, usable in `const` items.
    ///
    /// ```
    /// use waitress::io::sys::{Events, POLLIN, POLLPRI};
    /// const READABLE: Events = POLLIN.union(POLLPRI);
    /// assert_eq!(READABLE, POLLIN | POLLPRI);
    /// ```
    pub const fn union(self, other: Events) -> Events {
        Events(self.0 | other.0)
    }
}

impl BitOr for Events {
    type Output = Events;
    fn bitor(self, other: Events) -> Events {
        self.union(other)
    }
}

impl BitOrAssign for Events {
    fn bitor_assign(&mut self, other: Events) {
        *self = self.union(other);
    }
}

impl BitAnd for Events {
    type Output = Events;
    fn bitand(self, other: Events) -> Events {
        Events(self.0 & other.0)
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Events, &str); 6] = [
            (POLLIN, "POLLIN"),
            (POLLPRI, "POLLPRI"),
            (POLLOUT, "POLLOUT"),
            (POLLERR, "POLLERR"),
            (POLLHUP, "POLLHUP"),
            (POLLNVAL, "POLLNVAL"),
        ];
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                f.write_str(if first { "" } else { " | " })?;
                f.write_str(name)?;
                rest &= !flag.0;
                first = false;
            }
        }
        if rest != 0 || first {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

/// One entry of the `poll(2)` set: a descriptor, the events to wait for,
/// and the events that happened. Laid out exactly like C's `struct pollfd`,
/// so a `&mut [PollFd]` is passed to the kernel as it is.
///
/// An entry with a negative descriptor is skipped by the kernel (its
/// `revents` come back empty): that is how to switch a slot off without
/// removing it. Errors and hang-ups ([`POLLERR`], [`POLLHUP`], [`POLLNVAL`])
/// are reported even with empty `events`.
///
/// ```
/// use waitress::io::sys::{Events, PollFd, POLLIN, POLLOUT};
///
/// let mut entry = PollFd::new(7, POLLIN);
/// entry.set_events(POLLIN | POLLOUT);
/// assert_eq!(entry.fd(), 7);
/// assert_eq!(entry.events(), POLLIN | POLLOUT);
/// assert_eq!(entry.revents(), Events::EMPTY);
/// ```
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
    /// ```
    /// use waitress::io::sys::{PollFd, POLLIN};
    /// let entry = PollFd::new(3, POLLIN);
    /// assert_eq!(entry.fd(), 3);
    /// ```
    pub const fn new(fd: RawFd, events: Events) -> PollFd {
        PollFd {
            fd,
            events,
            revents: Events::EMPTY,
        }
    }

    /// The descriptor.
    ///
    /// ```
    /// assert_eq!(waitress::io::sys::PollFd::new(-1, waitress::io::sys::POLLIN).fd(), -1);
    /// ```
    pub const fn fd(&self) -> RawFd {
        self.fd
    }

    /// Replaces the descriptor (a negative one switches the entry off) and
    /// clears `revents`.
    ///
    /// ```
    /// use waitress::io::sys::{PollFd, POLLIN};
    /// let mut entry = PollFd::new(3, POLLIN);
    /// entry.set_fd(-1);
    /// assert_eq!(entry.fd(), -1);
    /// ```
    pub fn set_fd(&mut self, fd: RawFd) {
        self.fd = fd;
        self.revents = Events::EMPTY;
    }

    /// The events waited for.
    ///
    /// ```
    /// use waitress::io::sys::{PollFd, POLLOUT};
    /// assert_eq!(PollFd::new(3, POLLOUT).events(), POLLOUT);
    /// ```
    pub const fn events(&self) -> Events {
        self.events
    }

    /// Changes the events waited for.
    ///
    /// ```
    /// use waitress::io::sys::{Events, PollFd, POLLIN};
    /// let mut entry = PollFd::new(3, POLLIN);
    /// entry.set_events(Events::EMPTY); // errors and hang-ups are still reported
    /// assert!(entry.events().is_empty());
    /// ```
    pub fn set_events(&mut self, events: Events) {
        self.events = events;
    }

    /// The events the last [`poll`] reported for this entry.
    ///
    /// ```
    /// use waitress::io::sys::PollFd;
    /// assert!(PollFd::new(3, waitress::io::sys::POLLIN).revents().is_empty());
    /// ```
    pub const fn revents(&self) -> Events {
        self.revents
    }
}

// ANCHOR: timeout
/// The `int` milliseconds `poll(2)` takes: `None` waits forever (-1); a
/// duration is rounded *up* to whole milliseconds, so 0.3 ms does not become
/// a busy `poll(.., 0)`, and capped at `c_int::MAX` (about 24.8 days).
fn timeout_ms(timeout: Option<Duration>) -> c_int {
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
///
/// ```
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use std::time::{Duration, Instant};
/// use waitress::io::sys::{poll, PollFd, POLLIN, POLLOUT};
///
/// let (a, _b) = UnixStream::pair()?;
/// let mut fds = [PollFd::new(a.as_raw_fd(), POLLIN | POLLOUT)];
/// assert_eq!(poll(&mut fds, None)?, 1); // writable at once
/// assert_eq!(fds[0].revents(), POLLOUT);
///
/// fds[0].set_events(POLLIN);
/// let start = Instant::now();
/// assert_eq!(poll(&mut fds, Some(Duration::from_millis(20)))?, 0);
/// assert!(start.elapsed() >= Duration::from_millis(20));
/// # Ok::<(), std::io::Error>(())
/// ```
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

// ---------------------------------------------------------------------------
// The poller: epoll(7) on Linux, poll(2) elsewhere
// ---------------------------------------------------------------------------

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
/// ```
/// use std::io::Write;
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
/// use waitress::io::sys::{Events, Poller, POLLIN};
///
/// let (reader, mut writer) = UnixStream::pair()?;
/// let mut poller = Poller::new()?;
/// poller.add(reader.as_raw_fd(), 7, POLLIN)?;
/// let mut ready = Vec::new();
/// poller.wait(&mut ready, Some(Duration::ZERO))?;
/// assert!(ready.is_empty());
/// writer.write_all(b"x")?;
/// poller.wait(&mut ready, Some(Duration::from_secs(5)))?;
/// assert_eq!(ready, [(7, POLLIN)]);
/// poller.remove(reader.as_raw_fd())?;
/// # Ok::<(), std::io::Error>(())
/// ```
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
///
/// ```
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
/// use waitress::io::sys::{PollSet, POLLOUT};
///
/// let (a, _b) = UnixStream::pair()?;
/// let mut set = PollSet::new()?;
/// set.add(a.as_raw_fd(), 1, POLLOUT)?;
/// let mut ready = Vec::new();
/// set.wait(&mut ready, Some(Duration::from_secs(5)))?;
/// assert_eq!(ready, [(1, POLLOUT)]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct PollSet {
    entries: Vec<PollFd>,
    keys: Vec<usize>,
    /// Where each registered descriptor is in `entries`.
    positions: std::collections::HashMap<RawFd, usize>,
}

impl PollSet {
    /// An empty set. (Returns a `Result` to match [`Epoll::new`].)
    ///
    /// ```
    /// let set = waitress::io::sys::PollSet::new()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<PollSet> {
        Ok(PollSet::default())
    }

    /// Registers `fd`, reported as `key`, waiting for `interest`.
    ///
    /// ```
    /// use waitress::io::sys::{PollSet, POLLIN};
    /// let mut set = PollSet::new()?;
    /// set.add(0, 1, POLLIN)?;
    /// assert!(set.add(0, 2, POLLIN).is_err()); // already registered
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
    ///
    /// ```
    /// use waitress::io::sys::{Events, PollSet, POLLIN};
    /// let mut set = PollSet::new()?;
    /// set.add(0, 1, POLLIN)?;
    /// set.modify(0, 1, Events::EMPTY)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn modify(&mut self, fd: RawFd, key: usize, interest: Events) -> io::Result<()> {
        let position = self.position(fd)?;
        self.entries[position].set_events(interest);
        self.keys[position] = key;
        Ok(())
    }

    /// Unregisters `fd`.
    ///
    /// ```
    /// use waitress::io::sys::{PollSet, POLLIN};
    /// let mut set = PollSet::new()?;
    /// set.add(0, 1, POLLIN)?;
    /// set.remove(0)?;
    /// assert!(set.remove(0).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
    /// [`Epoll::remove_closing`] for why it exists.
    ///
    /// ```
    /// use waitress::io::sys::{PollSet, POLLIN};
    /// let mut set = PollSet::new()?;
    /// set.add(0, 1, POLLIN)?;
    /// set.remove_closing(0)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remove_closing(&mut self, fd: RawFd) -> io::Result<()> {
        self.remove(fd)
    }

    /// Waits until a registered descriptor is ready or `timeout` passes
    /// (`None`: no limit), and fills `ready` with `(key, events)` pairs; an
    /// empty `ready` means the timeout passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut ready = Vec::new();
    /// waitress::io::sys::PollSet::new()?.wait(&mut ready, Some(Duration::ZERO))?;
    /// assert!(ready.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
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

/// The Linux poller, on `epoll(7)`: the kernel keeps the registered set
/// and a list of the ready ones, so a wait costs O(ready descriptors).
/// Level-triggered, like `poll(2)`. The epoll descriptor is closed on drop.
///
/// ```
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
/// use waitress::io::sys::{Epoll, POLLOUT};
///
/// let (a, _b) = UnixStream::pair()?;
/// let mut epoll = Epoll::new()?;
/// epoll.add(a.as_raw_fd(), 1, POLLOUT)?;
/// let mut ready = Vec::new();
/// epoll.wait(&mut ready, Some(Duration::from_secs(5)))?;
/// assert_eq!(ready, [(1, POLLOUT)]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub struct Epoll {
    epoll: OwnedFd,
    /// Space for the kernel to report ready descriptors into.
    events: Vec<epoll::Event>,
}

// ANCHOR: epoll
/// `epoll(7)`'s constants and its one struct, `struct epoll_event`.
#[cfg(target_os = "linux")]
mod epoll {
    use std::ffi::c_int;

    pub const EPOLL_CLOEXEC: c_int = 0o2_000_000;
    pub const EPOLL_CTL_ADD: c_int = 1;
    pub const EPOLL_CTL_DEL: c_int = 2;
    pub const EPOLL_CTL_MOD: c_int = 3;
    /// At most this many ready descriptors per wait; level triggering
    /// reports the rest on the next one.
    pub const MAX_EVENTS: usize = 1024;

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
}
// ANCHOR_END: epoll

#[cfg(target_os = "linux")]
impl Epoll {
    /// A new, empty epoll set (close-on-exec).
    ///
    /// ```
    /// let epoll = waitress::io::sys::Epoll::new()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes a flag word and returns a new
        // descriptor or -1; no memory is shared with the kernel.
        let fd = cvt(unsafe { epoll::epoll_create1(epoll::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by epoll_create1, is open, and
        // nothing else owns it.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll {
            epoll,
            events: Vec::with_capacity(epoll::MAX_EVENTS),
        })
    }

    // ANCHOR: epoll_ctl
    fn control(&self, operation: c_int, fd: RawFd, key: usize, interest: Events) -> io::Result<()> {
        let mut event = epoll::Event {
            // The POLL* bits are EPOLL* bits; `as u16` keeps the bit pattern.
            events: u32::from(interest.bits() as u16),
            data: key as u64,
        };
        // SAFETY: `event` is a live, initialised `struct epoll_event` that
        // the kernel only reads during the call (and ignores for DEL); an
        // `fd` that is not open is refused with EBADF, not undefined.
        cvt(unsafe { epoll::epoll_ctl(self.epoll.as_raw_fd(), operation, fd, &mut event) })?;
        Ok(())
    }
    // ANCHOR_END: epoll_ctl

    /// Registers `fd`, reported as `key`, waiting for `interest`.
    ///
    /// ```
    /// use waitress::io::sys::{Epoll, POLLIN};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut epoll = Epoll::new()?;
    /// use std::os::fd::AsRawFd;
    /// epoll.add(a.as_raw_fd(), 1, POLLIN)?;
    /// assert!(epoll.add(a.as_raw_fd(), 2, POLLIN).is_err()); // already registered
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add(&mut self, fd: RawFd, key: usize, interest: Events) -> io::Result<()> {
        self.control(epoll::EPOLL_CTL_ADD, fd, key, interest)
    }

    /// Changes the key and interest of a registered `fd`.
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use waitress::io::sys::{Epoll, Events, POLLIN};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut epoll = Epoll::new()?;
    /// epoll.add(a.as_raw_fd(), 1, POLLIN)?;
    /// epoll.modify(a.as_raw_fd(), 1, Events::EMPTY)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn modify(&mut self, fd: RawFd, key: usize, interest: Events) -> io::Result<()> {
        self.control(epoll::EPOLL_CTL_MOD, fd, key, interest)
    }

    /// Unregisters `fd`. Do it before closing `fd`: epoll watches the open
    /// file, which a duplicate (or a thread still holding the socket) keeps
    /// alive after this descriptor is closed.
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use waitress::io::sys::{Epoll, POLLIN};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut epoll = Epoll::new()?;
    /// epoll.add(a.as_raw_fd(), 1, POLLIN)?;
    /// epoll.remove(a.as_raw_fd())?;
    /// assert!(epoll.remove(a.as_raw_fd()).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remove(&mut self, fd: RawFd) -> io::Result<()> {
        self.control(epoll::EPOLL_CTL_DEL, fd, 0, Events::EMPTY)
    }

    /// Unregisters `fd`, which the caller is about to close and which has
    /// no duplicate: closing the last descriptor of a socket removes it
    /// from every epoll set, so this makes no system call. (A server that
    /// closes tens of thousands of connections a second saves one call per
    /// connection.)
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use waitress::io::sys::{Epoll, POLLIN};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut epoll = Epoll::new()?;
    /// epoll.add(a.as_raw_fd(), 1, POLLIN)?;
    /// epoll.remove_closing(a.as_raw_fd())?;
    /// drop(a); // now it is gone from the set
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remove_closing(&mut self, _fd: RawFd) -> io::Result<()> {
        Ok(())
    }

    /// Waits until a registered descriptor is ready or `timeout` passes
    /// (`None`: no limit; rounded up to whole milliseconds; EINTR retried),
    /// and fills `ready` with `(key, events)` pairs, at most 1,024 at a
    /// time; an empty `ready` means the timeout passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut ready = Vec::new();
    /// waitress::io::sys::Epoll::new()?.wait(&mut ready, Some(Duration::ZERO))?;
    /// assert!(ready.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
                epoll::epoll_wait(
                    self.epoll.as_raw_fd(),
                    self.events.as_mut_ptr(),
                    epoll::MAX_EVENTS as c_int,
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

// ---------------------------------------------------------------------------
// Listening sockets
// ---------------------------------------------------------------------------

fn backlog_int(backlog: u32) -> c_int {
    c_int::try_from(backlog).unwrap_or(c_int::MAX)
}

/// Sets the `listen(2)` backlog of a socket that is already listening, such
/// as a [`TcpListener`] or [`UnixListener`] std created with its fixed
/// backlog of 128: calling `listen` again on a listening socket only updates
/// the length of its queue, on Linux and the BSDs alike.
///
/// The kernel silently caps the value (`net.core.somaxconn` on Linux,
/// `kern.ipc.somaxconn` on macOS); values above `i32::MAX` become `i32::MAX`.
///
/// ```
/// use std::net::TcpListener;
/// use waitress::io::sys::set_listen_backlog;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// set_listen_backlog(&listener, 2048)?;
/// # Ok::<(), std::io::Error>(())
/// ```
// ANCHOR: backlog
pub fn set_listen_backlog(listener: &impl AsFd, backlog: u32) -> io::Result<()> {
    let fd = listener.as_fd().as_raw_fd();
    // SAFETY: `listen` takes no pointers; `fd` is open for as long as the
    // borrow of `listener` lasts, which covers the call.
    cvt(unsafe { ffi::listen(fd, backlog_int(backlog)) })?;
    Ok(())
}
// ANCHOR_END: backlog

fn setsockopt_int(fd: BorrowedFd<'_>, level: c_int, name: c_int, value: c_int) -> io::Result<()> {
    let length = size_of::<c_int>() as SockLen;
    // SAFETY: the option value is a live `c_int` and `length` is its size;
    // the kernel copies it before returning. `fd` is open (borrowed).
    let result = unsafe {
        ffi::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            length,
        )
    };
    cvt(result).map(drop)
}

/// `getsockopt` on a descriptor number that may not be open or not be a
/// socket: the kernel then fails with EBADF or ENOTSOCK, nothing worse.
fn getsockopt_int(fd: RawFd, level: c_int, name: c_int) -> io::Result<c_int> {
    let mut value: c_int = 0;
    let mut length = size_of::<c_int>() as SockLen;
    // SAFETY: `value` and `length` are live locals, `length` holds the size
    // of `value`, and the kernel writes at most that many bytes.
    let result =
        unsafe { ffi::getsockopt(fd, level, name, (&raw mut value).cast(), &raw mut length) };
    cvt(result).map(|_| value)
}

/// Sets `FD_CLOEXEC` on a descriptor number; fails with EBADF if it is not
/// open.
fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFD takes no argument and touches no memory of ours.
    let flags = cvt(unsafe { ffi::fcntl(fd, F_GETFD) })?;
    if flags & FD_CLOEXEC == 0 {
        // SAFETY: F_SETFD takes one `int` argument, passed as C's variadic
        // convention expects; no memory of ours is touched.
        cvt(unsafe { ffi::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) })?;
    }
    Ok(())
}

/// A new close-on-exec stream socket, owned so that every error path after
/// this closes it.
fn stream_socket(domain: c_int) -> io::Result<OwnedFd> {
    // SAFETY: `socket` takes no pointers and returns a new descriptor or -1.
    let fd = cvt(unsafe { ffi::socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` was just returned by `socket`, is open, and nothing else
    // owns it: the `OwnedFd` becomes its only owner and closes it on drop.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    if SOCK_CLOEXEC == 0 {
        // No SOCK_CLOEXEC (macOS): a fork+exec on another thread between
        // `socket` and here could leak the descriptor, as with std itself.
        set_cloexec(socket.as_raw_fd())?;
    }
    #[cfg(target_vendor = "apple")]
    setsockopt_int(socket.as_fd(), SOL_SOCKET, SO_NOSIGPIPE, 1)?;
    Ok(socket)
}

// ANCHOR: sockaddr
/// C's `struct sockaddr_in`. The BSDs (macOS too) start it with a length
/// byte and a one-byte family; Linux has a two-byte family. Port and address
/// are in network byte order (big-endian).
#[repr(C)]
struct SockaddrIn {
    #[cfg(target_vendor = "apple")]
    sin_len: u8,
    #[cfg(target_vendor = "apple")]
    sin_family: u8,
    #[cfg(target_os = "linux")]
    sin_family: u16,
    sin_port: u16,
    sin_addr: u32,
    sin_zero: [u8; 8],
}

/// C's `struct sockaddr_in6`, laid out the same way.
#[repr(C)]
struct SockaddrIn6 {
    #[cfg(target_vendor = "apple")]
    sin6_len: u8,
    #[cfg(target_vendor = "apple")]
    sin6_family: u8,
    #[cfg(target_os = "linux")]
    sin6_family: u16,
    sin6_port: u16,
    sin6_flowinfo: u32,
    sin6_addr: [u8; 16],
    sin6_scope_id: u32,
}

fn sockaddr_in(address: SocketAddrV4) -> SockaddrIn {
    SockaddrIn {
        #[cfg(target_vendor = "apple")]
        sin_len: size_of::<SockaddrIn>() as u8,
        sin_family: AF_INET as _,
        sin_port: address.port().to_be(),
        // The octets are already in network order: keep them as they lie.
        sin_addr: u32::from_ne_bytes(address.ip().octets()),
        sin_zero: [0; 8],
    }
}

fn sockaddr_in6(address: SocketAddrV6) -> SockaddrIn6 {
    SockaddrIn6 {
        #[cfg(target_vendor = "apple")]
        sin6_len: size_of::<SockaddrIn6>() as u8,
        sin6_family: AF_INET6 as _,
        sin6_port: address.port().to_be(),
        // As std does: the flow label as given (bind ignores it anyway).
        sin6_flowinfo: address.flowinfo(),
        sin6_addr: address.ip().octets(),
        sin6_scope_id: address.scope_id(),
    }
}
// ANCHOR_END: sockaddr

/// Binds a TCP listener the way a server needs it, which std's
/// [`TcpListener::bind`] cannot do: for an IPv6 address, `IPV6_V6ONLY` is
/// set to `v6only` *before* `bind(2)`, and the backlog is `backlog`.
///
/// With `v6only` true, an IPv6 socket accepts only IPv6 clients, so
/// `0.0.0.0:P` and `[::]:P` can both listen on the same port `P` (with
/// `false`, `[::]:P` also takes IPv4 clients and the IPv4 bind then fails
/// with "address in use" on Linux). `v6only` is ignored for IPv4 addresses.
///
/// The socket is close-on-exec and has `SO_REUSEADDR` (as std's listeners
/// do, so a restarted server can bind while old connections linger in
/// TIME_WAIT). It is left blocking: call `set_nonblocking(true)` for a poll
/// loop.
///
/// ```
/// use waitress::io::sys::bind_tcp_listener;
///
/// let v4 = bind_tcp_listener("0.0.0.0:0".parse().unwrap(), 1024, true)?;
/// let port = v4.local_addr()?.port();
/// // The same port over IPv6, if this machine has IPv6.
/// if let Ok(v6) = bind_tcp_listener(format!("[::]:{port}").parse().unwrap(), 1024, true) {
///     assert_eq!(v6.local_addr()?.port(), port);
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
// ANCHOR: bind
pub fn bind_tcp_listener(
    address: SocketAddr,
    backlog: u32,
    v6only: bool,
) -> io::Result<TcpListener> {
    let domain = if address.is_ipv6() { AF_INET6 } else { AF_INET };
    let socket = stream_socket(domain)?;
    setsockopt_int(socket.as_fd(), SOL_SOCKET, SO_REUSEADDR, 1)?;
    if address.is_ipv6() {
        setsockopt_int(
            socket.as_fd(),
            IPPROTO_IPV6,
            IPV6_V6ONLY,
            c_int::from(v6only),
        )?;
    }
    let fd = socket.as_raw_fd();
    let result = match address {
        SocketAddr::V4(address) => {
            let raw = sockaddr_in(address);
            // SAFETY: `raw` is a live, fully initialised sockaddr_in and the
            // length passed is its size; the kernel copies it.
            unsafe { ffi::bind(fd, (&raw const raw).cast(), size_of_val(&raw) as SockLen) }
        }
        SocketAddr::V6(address) => {
            let raw = sockaddr_in6(address);
            // SAFETY: as above, for a sockaddr_in6.
            unsafe { ffi::bind(fd, (&raw const raw).cast(), size_of_val(&raw) as SockLen) }
        }
    };
    cvt(result)?;
    set_listen_backlog(&socket, backlog)?;
    Ok(TcpListener::from(socket))
}
// ANCHOR_END: bind

// ---------------------------------------------------------------------------
// Inherited sockets
// ---------------------------------------------------------------------------

/// A listening socket of either kind, as [`adopt_listener`] finds it.
///
/// ```
/// use std::net::TcpListener;
/// use waitress::io::sys::Listener;
///
/// let listener = Listener::Tcp(TcpListener::bind("127.0.0.1:0")?);
/// listener.set_nonblocking(true)?;
/// assert!(matches!(listener, Listener::Tcp(_)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub enum Listener {
    /// An IPv4 or IPv6 stream socket.
    Tcp(TcpListener),
    /// A Unix domain stream socket.
    Unix(UnixListener),
}

impl Listener {
    /// Moves the listener into or out of nonblocking mode.
    ///
    /// ```
    /// use std::os::unix::net::UnixListener;
    /// use waitress::io::sys::Listener;
    ///
    /// let dir = std::env::temp_dir().join(format!("waitress-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("listener.sock");
    /// let _ = std::fs::remove_file(&path);
    /// let listener = Listener::Unix(UnixListener::bind(&path)?);
    /// listener.set_nonblocking(true)?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            Listener::Tcp(listener) => listener.set_nonblocking(nonblocking),
            Listener::Unix(listener) => listener.set_nonblocking(nonblocking),
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(listener) => listener.as_fd(),
            Listener::Unix(listener) => listener.as_fd(),
        }
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

/// Room for any socket address: C's `sockaddr_storage` (128 bytes,
/// 8-aligned).
type SockaddrStorage = [u64; 16];

/// The address family of a socket, from `getsockname`.
fn socket_family(fd: RawFd) -> io::Result<c_int> {
    let mut storage: SockaddrStorage = [0; 16];
    let mut length = size_of_val(&storage) as SockLen;
    // SAFETY: `storage` and `length` are live locals and `length` holds the
    // size of `storage`; the kernel writes at most that many bytes.
    let result = unsafe { ffi::getsockname(fd, storage.as_mut_ptr().cast(), &raw mut length) };
    cvt(result)?;
    let bytes = storage[0].to_ne_bytes();
    // Linux: a two-byte family first; BSD: a length byte, then the family.
    #[cfg(target_os = "linux")]
    let family = u16::from_ne_bytes([bytes[0], bytes[1]]);
    #[cfg(target_vendor = "apple")]
    let family = u16::from(bytes[1]);
    Ok(c_int::from(family))
}

/// Linux answers `SO_ACCEPTCONN`: whether `listen(2)` was called.
#[cfg(target_os = "linux")]
fn check_listening(fd: RawFd) -> io::Result<()> {
    let listening =
        getsockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN).map_err(|e| not_a_listener(fd, e))?;
    if listening == 0 {
        return Err(not_a_listener(fd, "listen(2) was not called on it"));
    }
    Ok(())
}

/// XNU defines `SO_ACCEPTCONN` but its `getsockopt` refuses it
/// (ENOPROTOOPT). What can be checked is that the socket has no peer: a
/// connected socket is certainly not a listener. A bound socket that was
/// never listened on gets through, and the first `accept` fails (EINVAL).
#[cfg(target_vendor = "apple")]
fn check_listening(fd: RawFd) -> io::Result<()> {
    let mut storage: SockaddrStorage = [0; 16];
    let mut length = size_of_val(&storage) as SockLen;
    // SAFETY: `storage` and `length` are live locals and `length` holds the
    // size of `storage`; the kernel writes at most that many bytes.
    let result = unsafe { ffi::getpeername(fd, storage.as_mut_ptr().cast(), &raw mut length) };
    if result == 0 {
        return Err(not_a_listener(fd, "it is connected to a peer"));
    }
    Ok(())
}

fn not_a_listener(fd: RawFd, why: impl fmt::Display) -> io::Error {
    io::Error::new(
        ErrorKind::InvalidInput,
        format!("file descriptor {fd} is not a listening socket: {why}"),
    )
}

/// Takes ownership of an inherited listening socket (`sockets` given as
/// descriptor numbers, or systemd socket activation) after checking what it
/// is: a listening stream socket of family `AF_INET` or `AF_INET6` becomes
/// [`Listener::Tcp`], `AF_UNIX` becomes [`Listener::Unix`]; anything else
/// (a file, a closed number, a datagram socket, a connected socket, and on
/// Linux a socket `listen(2)` was not called on) is an `InvalidInput`
/// error, and the descriptor is then left as it was. The adopted descriptor
/// is made close-on-exec.
///
/// **Ownership.** On success the returned listener owns `fd` and closes it
/// when dropped. Pass only numbers nothing else in this process owns: ones
/// inherited from the parent (the command line's `sockets`,
/// [`listen_fds_from_env`]), each once.
///
/// ```
/// use std::net::TcpListener;
/// use std::os::fd::{AsFd, IntoRawFd};
/// use waitress::io::sys::{adopt_listener, Listener};
///
/// let original = TcpListener::bind("127.0.0.1:0")?;
/// let inherited = original.as_fd().try_clone_to_owned()?.into_raw_fd();
/// let Listener::Tcp(adopted) = adopt_listener(inherited)? else { panic!() };
/// assert_eq!(adopted.local_addr()?, original.local_addr()?);
///
/// let file = std::fs::File::open("Cargo.toml")?;
/// # use std::os::fd::AsRawFd;
/// assert!(adopt_listener(file.as_raw_fd()).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
// ANCHOR: adopt
pub fn adopt_listener(fd: RawFd) -> io::Result<Listener> {
    if fd < 0 {
        return Err(not_a_listener(fd, "negative number"));
    }
    let kind = getsockopt_int(fd, SOL_SOCKET, SO_TYPE).map_err(|e| not_a_listener(fd, e))?;
    if kind != SOCK_STREAM {
        return Err(not_a_listener(fd, "not a stream socket"));
    }
    check_listening(fd)?;
    let family = socket_family(fd).map_err(|e| not_a_listener(fd, e))?;
    if ![AF_INET, AF_INET6, AF_UNIX].contains(&family) {
        return Err(not_a_listener(fd, format!("address family {family}")));
    }
    set_cloexec(fd)?;
    // SAFETY: `fd` is an open socket (getsockopt succeeded on it), and the
    // caller hands it over: an inherited descriptor that nothing else in
    // this process owns. The OwnedFd is from now on its only owner.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(if family == AF_UNIX {
        Listener::Unix(UnixListener::from(owned))
    } else {
        Listener::Tcp(TcpListener::from(owned))
    })
}
// ANCHOR_END: adopt

/// Parses systemd's socket-activation variables: the first descriptor is
/// always 3 (`SD_LISTEN_FDS_START`) and there are `listen_fds` of them, but
/// only if `listen_pid` names this process.
fn parse_listen_fds(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    our_pid: u32,
) -> io::Result<Vec<RawFd>> {
    let invalid = |name: &str, value: &str| {
        io::Error::new(
            ErrorKind::InvalidData,
            format!("{name}={value:?} is not a number"),
        )
    };
    let (Some(pid), Some(count)) = (listen_pid, listen_fds) else {
        return Ok(Vec::new());
    };
    let pid: u32 = pid.trim().parse().map_err(|_| invalid("LISTEN_PID", pid))?;
    if pid != our_pid {
        return Ok(Vec::new()); // meant for another process (our parent)
    }
    let count: RawFd = count
        .trim()
        .parse()
        .map_err(|_| invalid("LISTEN_FDS", count))?;
    const FIRST: RawFd = 3;
    let end = FIRST
        .checked_add(count.max(0))
        .ok_or_else(|| invalid("LISTEN_FDS", &count.to_string()))?;
    Ok((FIRST..end).collect())
}

/// The listening sockets systemd passed to this process by socket
/// activation: reads `LISTEN_PID` and `LISTEN_FDS`, and if `LISTEN_PID` is
/// this process's id returns descriptors `3 .. 3 + LISTEN_FDS` (none when
/// the variables are absent or meant for another process). Each is checked
/// to be open and made close-on-exec, as `sd_listen_fds(3)` does; give them
/// to [`adopt_listener`].
///
/// The variables are left in the environment: removing them
/// (`std::env::remove_var`) is `unsafe` in Rust 2024 because another thread
/// may read the environment at the same time. A child process is not
/// confused by them, since `LISTEN_PID` names us, not it.
///
/// ```
/// // Not started by systemd: nothing to adopt.
/// assert!(waitress::io::sys::listen_fds_from_env()?.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
// ANCHOR: listen_fds
pub fn listen_fds_from_env() -> io::Result<Vec<RawFd>> {
    let pid = std::env::var("LISTEN_PID").ok();
    let count = std::env::var("LISTEN_FDS").ok();
    let fds = parse_listen_fds(pid.as_deref(), count.as_deref(), std::process::id())?;
    for &fd in &fds {
        set_cloexec(fd).map_err(|e| {
            io::Error::new(e.kind(), format!("LISTEN_FDS names descriptor {fd}: {e}"))
        })?;
    }
    Ok(fds)
}
// ANCHOR_END: listen_fds

// ---------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------

/// The signals that ask the server to shut down gracefully.
///
/// ```
/// use waitress::io::sys::Signal;
///
/// assert_eq!(Signal::Terminate.number(), 15);
/// assert_eq!(Signal::from_number(2), Some(Signal::Interrupt));
/// assert_eq!(Signal::Interrupt.to_string(), "SIGINT");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// SIGINT (2): Ctrl-C in a terminal.
    Interrupt,
    /// SIGTERM (15): `kill`, systemd, Docker and Kubernetes stopping us.
    Terminate,
}

impl Signal {
    /// The signal's number (the same on Linux and macOS).
    ///
    /// ```
    /// assert_eq!(waitress::io::sys::Signal::Interrupt.number(), 2);
    /// ```
    pub const fn number(self) -> i32 {
        match self {
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }

    /// The signal with this number, if it is one of ours.
    ///
    /// ```
    /// use waitress::io::sys::Signal;
    /// assert_eq!(Signal::from_number(15), Some(Signal::Terminate));
    /// assert_eq!(Signal::from_number(9), None);
    /// ```
    pub const fn from_number(number: i32) -> Option<Signal> {
        match number {
            2 => Some(Signal::Interrupt),
            15 => Some(Signal::Terminate),
            _ => None,
        }
    }

    /// The C name, `SIGINT` or `SIGTERM`.
    ///
    /// ```
    /// assert_eq!(waitress::io::sys::Signal::Terminate.name(), "SIGTERM");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const SHUTDOWN_SIGNALS: [Signal; 2] = [Signal::Interrupt, Signal::Terminate];
/// `signal(2)`'s error return, `(sighandler_t) -1`.
const SIG_ERR: usize = usize::MAX;

// ANCHOR: handler
/// The descriptor the handler writes to (-1: none). The handler may only
/// touch lock-free atomics: it can interrupt any code, even code holding a
/// lock or in the middle of `malloc`.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// The shutdown signals not yet taken, in one word so that they are taken
/// together: how many arrived (above the low 8 bits) and the number of the
/// last one (the low 8 bits; 0: none).
static PENDING_SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// How many handlers are running now, so that the descriptor is not closed
/// under one of them.
static HANDLERS_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Runs when SIGINT or SIGTERM arrives, on whatever thread the kernel chose.
/// It calls only `send(2)`, which POSIX lists as async-signal-safe, and
/// puts `errno` back as it found it, since the interrupted code may be about
/// to read it.
extern "C" fn on_shutdown_signal(signal: c_int) {
    // SAFETY: `errno_location` has no preconditions; it returns a pointer to
    // this thread's errno, valid for the life of the thread.
    let errno = unsafe { ffi::errno_location() };
    // SAFETY: the pointer is valid, aligned, and only this thread uses it.
    let saved_errno = unsafe { errno.read() };
    HANDLERS_RUNNING.fetch_add(1, Ordering::SeqCst);
    // A compare-and-swap loop is lock-free, so it may run in a handler.
    let mut pending = PENDING_SIGNALS.load(Ordering::SeqCst);
    loop {
        let count = (pending >> 8).saturating_add(1).min(usize::MAX >> 8);
        let updated = (count << 8) | (signal as usize & 0xff);
        match PENDING_SIGNALS.compare_exchange_weak(
            pending,
            updated,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => break,
            Err(actual) => pending = actual,
        }
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // The socket is nonblocking, so this never waits; a full socket
        // (EAGAIN) already means a wake-up is pending. MSG_NOSIGNAL: no
        // SIGPIPE if the reading end is gone.
        // SAFETY: `fd` is open: uninstalling closes it only after setting
        // WAKE_FD to -1 and seeing no handler running. `byte` is live.
        unsafe { ffi::send(fd, (&raw const byte).cast(), 1, MSG_NOSIGNAL) };
    }
    HANDLERS_RUNNING.fetch_sub(1, Ordering::SeqCst);
    // SAFETY: as above; restores the value the interrupted code had.
    unsafe { errno.write(saved_errno) };
}
// ANCHOR_END: handler

/// What `install_shutdown_signals` changed, so that uninstalling can put it
/// back: the descriptor the handler writes to and the previous handlers.
struct Installed {
    wake: OwnedFd,
    previous: [usize; 2],
}

static INSTALLED: Mutex<Option<Installed>> = Mutex::new(None);

fn installed() -> std::sync::MutexGuard<'static, Option<Installed>> {
    INSTALLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sets the handler for `signal`, returning the one it replaces.
fn set_handler(signal: Signal, handler: usize) -> io::Result<usize> {
    // SAFETY: `handler` is SIG_DFL, SIG_IGN, a handler `signal` returned
    // earlier, or `on_shutdown_signal`, an `extern "C" fn(c_int)` that is
    // async-signal-safe; `signal` takes no pointers of ours.
    let previous = unsafe { ffi::signal(signal.number(), handler) };
    if previous == SIG_ERR {
        Err(io::Error::last_os_error())
    } else {
        Ok(previous)
    }
}

/// Points WAKE_FD at `fd` (or -1) and waits until no handler can still be
/// using the descriptor it pointed at before.
fn swap_wake_fd(fd: RawFd) {
    WAKE_FD.store(fd, Ordering::SeqCst);
    // A handler that read the old descriptor counted itself in before reading
    // it (both SeqCst), so if we see 0 here none is still using it.
    while HANDLERS_RUNNING.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
}

/// Installs handlers for SIGINT and SIGTERM that write one byte to `wake`
/// (a nonblocking socket: the write end of the I/O thread's wake-up pair,
/// [`Trigger::write_fd`](crate::io::trigger::Trigger::write_fd)) and record the
/// signal for [`take_pending_signal`]. That is all they do: everything else
/// happens in the I/O thread, which wakes up because the byte makes its
/// wake-up socket readable.
///
/// `wake` is duplicated, so the handler can never write to a descriptor
/// that was closed and reused; the duplicate is closed by
/// [`uninstall_shutdown_signals`]. Installing again replaces the descriptor
/// and keeps the handlers. Fails with `InvalidInput` if `wake` is not a
/// socket or is blocking.
///
/// The handlers are installed with `signal(2)`, whose glibc, musl and macOS
/// implementations all give BSD semantics: the handler stays installed,
/// the signal is blocked while its handler runs, and interrupted system
/// calls are restarted (SA_RESTART) where they can be. That avoids
/// declaring `struct sigaction`, whose layout differs between platforms.
///
/// ```no_run
/// use waitress::io::sys::{install_shutdown_signals, take_pending_signal, uninstall_shutdown_signals};
/// use waitress::io::trigger::Trigger;
///
/// let trigger = Trigger::new()?;
/// install_shutdown_signals(trigger.write_fd())?;
/// // ... the loop polls trigger.fd(); when it becomes readable:
/// if let Some(signal) = take_pending_signal() {
///     println!("{signal}: shutting down");
/// }
/// uninstall_shutdown_signals()?;
/// # Ok::<(), std::io::Error>(())
/// ```
// ANCHOR: install
pub fn install_shutdown_signals(wake: BorrowedFd<'_>) -> io::Result<()> {
    if getsockopt_int(wake.as_raw_fd(), SOL_SOCKET, SO_TYPE).is_err() {
        let message = "the wake-up descriptor for signals must be a socket";
        return Err(io::Error::new(ErrorKind::InvalidInput, message));
    }
    // SAFETY: F_GETFL takes no argument; `wake` is open (borrowed).
    let flags = cvt(unsafe { ffi::fcntl(wake.as_raw_fd(), F_GETFL) })?;
    if flags & O_NONBLOCK == 0 {
        let message = "the wake-up socket for signals must be nonblocking";
        return Err(io::Error::new(ErrorKind::InvalidInput, message));
    }
    let wake = wake.try_clone_to_owned()?; // close-on-exec duplicate
    #[cfg(target_vendor = "apple")] // no MSG_NOSIGNAL for the handler's send
    setsockopt_int(wake.as_fd(), SOL_SOCKET, SO_NOSIGPIPE, 1)?;
    let mut installed = installed();
    if let Some(installed) = installed.as_mut() {
        swap_wake_fd(wake.as_raw_fd());
        installed.wake = wake; // drops (closes) the old duplicate
        return Ok(());
    }
    swap_wake_fd(wake.as_raw_fd());
    let handler = on_shutdown_signal as extern "C" fn(c_int) as usize;
    let mut previous = [0; 2];
    for (index, signal) in SHUTDOWN_SIGNALS.into_iter().enumerate() {
        match set_handler(signal, handler) {
            Ok(old) => previous[index] = old,
            Err(error) => {
                for (signal, old) in SHUTDOWN_SIGNALS.into_iter().zip(previous).take(index) {
                    let _ = set_handler(signal, old);
                }
                swap_wake_fd(-1);
                return Err(error);
            }
        }
    }
    *installed = Some(Installed { wake, previous });
    Ok(())
}
// ANCHOR_END: install

/// Puts back the SIGINT and SIGTERM handlers that were there before
/// [`install_shutdown_signals`] and closes its duplicate of the wake-up
/// socket. Does nothing if the handlers are not installed.
///
/// A signal still on its way once this returns gets the old behaviour
/// (for the defaults: the process ends).
///
/// ```no_run
/// waitress::io::sys::uninstall_shutdown_signals()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn uninstall_shutdown_signals() -> io::Result<()> {
    let mut installed = installed();
    let Some(Installed { wake, previous }) = installed.take() else {
        return Ok(());
    };
    let mut result = Ok(());
    for (signal, old) in SHUTDOWN_SIGNALS.into_iter().zip(previous) {
        if let Err(error) = set_handler(signal, old) {
            result = Err(error);
        }
    }
    swap_wake_fd(-1);
    drop(wake);
    result
}

/// The shutdown signal that arrived since the last call, if any (the later
/// one if both did). The I/O thread calls this when its wake-up socket is
/// readable.
///
/// ```
/// // No handler installed and no signal sent: nothing pending.
/// assert_eq!(waitress::io::sys::take_pending_signal(), None);
/// ```
pub fn take_pending_signal() -> Option<Signal> {
    take_pending_signals().map(|(signal, _)| signal)
}

/// The shutdown signals that arrived since the last call, if any: the last
/// one, and how many there were (at least 1). Two at once mean the user
/// asked twice before the I/O thread could look, which the server takes as
/// "stop now" (pressing Ctrl-C a second time).
///
/// ```
/// // No handler installed and no signal sent: nothing pending.
/// assert_eq!(waitress::io::sys::take_pending_signals(), None);
/// ```
pub fn take_pending_signals() -> Option<(Signal, usize)> {
    let pending = PENDING_SIGNALS.swap(0, Ordering::SeqCst);
    let signal = Signal::from_number(i32::try_from(pending & 0xff).unwrap_or(0))?;
    Some((signal, (pending >> 8).max(1)))
}

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
    fn c_structs_have_the_c_layout() {
        assert_eq!(size_of::<PollFd>(), 8);
        assert_eq!(size_of::<SockaddrIn>(), 16);
        assert_eq!(size_of::<SockaddrIn6>(), 28);
        let raw = sockaddr_in("127.0.0.1:8080".parse().unwrap());
        assert_eq!(raw.sin_port.to_ne_bytes(), [0x1f, 0x90]);
        assert_eq!(raw.sin_addr.to_ne_bytes(), [127, 0, 0, 1]);
        let raw = sockaddr_in6("[::1%3]:443".parse().unwrap());
        assert_eq!(raw.sin6_port.to_ne_bytes(), [0x01, 0xbb]);
        assert_eq!(raw.sin6_addr[15], 1);
        assert_eq!(raw.sin6_scope_id, 3);
        assert_eq!(c_int::from(raw.sin6_family), AF_INET6);
    }

    #[test]
    fn events_print_their_names() {
        assert_eq!(format!("{:?}", Events::EMPTY), "0x0");
        assert_eq!(format!("{:?}", POLLIN | POLLHUP), "POLLIN | POLLHUP");
        assert_eq!(
            format!("{:?}", POLLOUT | Events(0x2000)),
            "POLLOUT | 0x2000"
        );
        assert_eq!(POLLIN | POLLOUT & POLLOUT, POLLIN | POLLOUT);
    }

    #[test]
    fn listen_fds_follow_the_systemd_protocol() {
        assert_eq!(
            parse_listen_fds(None, None, 42).unwrap(),
            Vec::<RawFd>::new()
        );
        assert_eq!(
            parse_listen_fds(Some("42"), None, 42).unwrap(),
            Vec::<RawFd>::new()
        );
        assert_eq!(
            parse_listen_fds(Some("41"), Some("2"), 42).unwrap(),
            Vec::<RawFd>::new()
        );
        assert_eq!(
            parse_listen_fds(Some("42"), Some("2"), 42).unwrap(),
            vec![3, 4]
        );
        assert_eq!(
            parse_listen_fds(Some("42"), Some("0"), 42).unwrap(),
            Vec::<RawFd>::new()
        );
        assert!(parse_listen_fds(Some("x"), Some("2"), 42).is_err());
        assert!(parse_listen_fds(Some("42"), Some("two"), 42).is_err());
        assert!(parse_listen_fds(Some("42"), Some("2147483647"), 42).is_err());
    }

    #[test]
    fn signals_round_trip_through_their_numbers() {
        for signal in SHUTDOWN_SIGNALS {
            assert_eq!(Signal::from_number(signal.number()), Some(signal));
        }
        assert_eq!(Signal::from_number(0), None);
    }
}
