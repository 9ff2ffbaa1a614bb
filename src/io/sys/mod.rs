//! The only module with `unsafe` code: `poll(2)`, `epoll(7)`, listening sockets and
//! signal handling through FFI against the C library that std already links.
//!
//! There is no `libc` crate here. Each C function is declared once, in one
//! `unsafe extern "C"` block in this file (the `epoll(7)` calls, Linux's
//! own, in `epoll.rs`), with the C types from [`std::ffi`]; the constants
//! that differ between platforms (`nfds_t`, socket levels and options,
//! `AF_INET6`, the `fcntl` commands) live in one block per platform, also
//! here, the way mio organises its `sys` module. Every `unsafe` block
//! carries a `// SAFETY:` comment saying why it is sound; everything else in
//! the crate forbids `unsafe`.
//!
//! What is here, one file per concern (all re-exported from this module, so
//! every item is `waitress::io::sys::NAME`):
//!
//! * `mod.rs` (this file): the C declarations, the per-platform constants,
//!   and `cvt`, which turns C's "-1 and errno" into an `io::Result`;
//! * `events.rs`: [`Events`], the `poll(2)` flags ([`POLLIN`], …) that
//!   every poller speaks;
//! * `poll.rs`: [`poll()`] over a slice of [`PollFd`], with EINTR retried
//!   and the timeout rounded *up* to whole milliseconds;
//! * `poller.rs` and `epoll.rs`: [`Poller`], the readiness API the server's
//!   loop uses: [`Epoll`] (`epoll(7)`, whose waits cost O(ready) rather than
//!   O(registered)) on Linux, [`PollSet`] (a kept `pollfd` array) elsewhere;
//! * `socket.rs`: [`bind_tcp_listener`], which sets `IPV6_V6ONLY` *before*
//!   `bind(2)` (std cannot) so that `0.0.0.0:P` and `[::]:P` can both
//!   listen, and `SO_REUSEPORT` when asked (several processes on one port),
//!   and [`set_listen_backlog`] for listeners std created;
//! * `activation.rs`: [`adopt_listener`] and [`listen_fds_from_env`] for
//!   inherited sockets (the `sockets` adjustment and systemd socket
//!   activation);
//! * `signal.rs`: [`install_shutdown_signals`]: SIGINT, SIGTERM and SIGHUP
//!   handlers that only write one byte to the I/O thread's wake-up socket
//!   and record which signal came, for [`take_pending_signal`] and
//!   [`take_pending_hangups`].
#![allow(unsafe_code)]

use std::ffi::c_int;
use std::io;

mod activation;
#[cfg(target_os = "linux")]
mod epoll;
mod events;
mod poll;
mod poller;
mod signal;
mod socket;

pub use activation::{Listener, adopt_listener, listen_fds_from_env};
#[cfg(target_os = "linux")]
#[cfg_attr(waitress_force_poll, allow(unused_imports))]
pub use epoll::Epoll;
pub use events::{Events, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT};
pub use poll::{PollFd, poll};
pub use poller::Poller;
pub use signal::{Signal, install_shutdown_signals, take_pending_hangups, take_pending_signals};
// What only the tests (and, for `PollSet`, macOS, the BSDs and
// `--cfg waitress_force_poll`) use.
#[cfg_attr(not(test), allow(unused_imports))]
pub use events::POLLPRI;
#[cfg_attr(not(test), allow(unused_imports))]
pub use poller::PollSet;
#[cfg_attr(not(test), allow(unused_imports))]
pub use signal::{take_pending_signal, uninstall_shutdown_signals};
pub use socket::{REUSE_PORT_SUPPORTED, bind_tcp_listener, set_listen_backlog};

#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
compile_error!(
    "waitress runs on Linux and Apple platforms (macOS, iOS): src/io/sys/ declares \
     poll(2), the socket constants and the signal handler for those only. Porting to \
     another Unix means adding its block of constants to src/io/sys/mod.rs."
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
     the generic Linux ABI that src/io/sys/mod.rs declares; add a block for them first."
);

/// The values C headers would give us, for the platforms we build on.
// ANCHOR: platform_linux
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
    /// Since Linux 3.9: several sockets (of one user) may bind one port,
    /// and the kernel spreads incoming connections over them.
    pub const SO_REUSEPORT: Option<c_int> = Some(15);
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
// ANCHOR_END: platform_linux

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
    /// As on the other BSDs: several sockets may bind one port (XNU gives
    /// new connections to the last one bound rather than spreading them).
    pub const SO_REUSEPORT: Option<c_int> = Some(0x0200);
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

/// `socklen_t` is 32 bits unsigned on every platform we build on.
type SockLen = u32;

// ANCHOR: ffi
/// The C functions, declared as the C headers do. Calling any of them is
/// `unsafe`: the compiler cannot check pointers and lengths we pass to C.
mod ffi {
    use super::SockLen;
    use std::ffi::{c_int, c_void};

    unsafe extern "C" {
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

/// The examples these items' docs had while the module was public,
/// kept as tests.
#[cfg(test)]
mod doc_examples {
    #[test]
    fn module_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::{POLLIN, PollFd, poll};
            use std::io::Write;
            use std::os::fd::AsRawFd;
            use std::os::unix::net::UnixStream;
            use std::time::Duration;

            let (reader, mut writer) = UnixStream::pair()?;
            let mut fds = [PollFd::new(reader.as_raw_fd(), POLLIN)];
            assert_eq!(poll(&mut fds, Some(Duration::ZERO))?, 0); // nothing to read yet
            writer.write_all(b"x")?;
            assert_eq!(poll(&mut fds, Some(Duration::from_secs(5)))?, 1);
            assert!(fds[0].revents().contains(POLLIN));
            Ok(())
        };
        run().unwrap();
    }
}

#[cfg(test)]
mod tests;
