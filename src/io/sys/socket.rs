//! Listening sockets made by hand, for what std cannot do: a `listen(2)`
//! backlog of our choosing ([`set_listen_backlog`]) and `IPV6_V6ONLY` set
//! between `socket(2)` and `bind(2)` ([`bind_tcp_listener`]), with the C
//! socket addresses that `bind` takes. The small socket-option and
//! close-on-exec helpers the other files share are here too.
#![allow(unsafe_code)]

use std::ffi::c_int;
use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, TcpListener};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

// All the per-platform constants: which ones a file uses differs by platform.
use super::platform::*;
use super::{SockLen, cvt, ffi};

/// Whether [`bind_tcp_listener`] can set `SO_REUSEPORT` here (the
/// `reuse_port` adjustment).
pub const REUSE_PORT_SUPPORTED: bool = SO_REUSEPORT.is_some();

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
/// [`UnixListener`]: std::os::unix::net::UnixListener
// ANCHOR: backlog
pub fn set_listen_backlog(listener: &impl AsFd, backlog: u32) -> io::Result<()> {
    let fd = listener.as_fd().as_raw_fd();
    // SAFETY: `listen` takes no pointers; `fd` is open for as long as the
    // borrow of `listener` lasts, which covers the call.
    cvt(unsafe { ffi::listen(fd, backlog_int(backlog)) })?;
    Ok(())
}
// ANCHOR_END: backlog

pub(super) fn setsockopt_int(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    value: c_int,
) -> io::Result<()> {
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
pub(super) fn getsockopt_int(fd: RawFd, level: c_int, name: c_int) -> io::Result<c_int> {
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
pub(super) fn set_cloexec(fd: RawFd) -> io::Result<()> {
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

// ANCHOR: sockaddr_in
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
// ANCHOR_END: sockaddr_in

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

// ANCHOR: sockaddr_in_fn
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
// ANCHOR_END: sockaddr_in_fn

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
/// With `reuse_port`, `SO_REUSEPORT` is set before `bind(2)` too, so that
/// other processes (of the same user, on Linux) that set it can bind the
/// same address and share its connections. Where the platform has no
/// `SO_REUSEPORT` ([`REUSE_PORT_SUPPORTED`] is false) that is an
/// `Unsupported` error; a kernel that refuses the option (Linux before
/// 3.9) gives its own error, prefixed with what was being done.
// ANCHOR: bind_options
pub fn bind_tcp_listener(
    address: SocketAddr,
    backlog: u32,
    v6only: bool,
    reuse_port: bool,
) -> io::Result<TcpListener> {
    let domain = if address.is_ipv6() { AF_INET6 } else { AF_INET };
    // ANCHOR: reuse_port_option
    let socket = stream_socket(domain)?;
    setsockopt_int(socket.as_fd(), SOL_SOCKET, SO_REUSEADDR, 1)?;
    if reuse_port {
        let Some(option) = SO_REUSEPORT else {
            let message = "reuse_port: this platform has no SO_REUSEPORT";
            return Err(io::Error::new(io::ErrorKind::Unsupported, message));
        };
        setsockopt_int(socket.as_fd(), SOL_SOCKET, option, 1).map_err(|error| {
            io::Error::new(error.kind(), format!("cannot set SO_REUSEPORT: {error}"))
        })?;
    }
    // ANCHOR_END: reuse_port_option
    if address.is_ipv6() {
        setsockopt_int(
            socket.as_fd(),
            IPPROTO_IPV6,
            IPV6_V6ONLY,
            c_int::from(v6only),
        )?;
    }
    // ANCHOR_END: bind_options
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddrs_have_the_c_layout() {
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
    fn reuse_port_lets_two_sockets_bind_one_port() {
        let first = bind_tcp_listener("127.0.0.1:0".parse().unwrap(), 16, true, true).unwrap();
        let address = first.local_addr().unwrap();
        let second = bind_tcp_listener(address, 16, true, true).unwrap();
        assert_eq!(second.local_addr().unwrap(), address);
        // A socket without the option may not join them.
        let error = bind_tcp_listener(address, 16, true, false).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
    }
}

/// The examples these items' docs had while the module was public,
/// kept as tests.
#[cfg(test)]
mod doc_examples {
    #[test]
    fn set_listen_backlog_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::set_listen_backlog;
            use std::net::TcpListener;

            let listener = TcpListener::bind("127.0.0.1:0")?;
            set_listen_backlog(&listener, 2048)?;
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn bind_tcp_listener_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::bind_tcp_listener;

            let v4 = bind_tcp_listener("0.0.0.0:0".parse().unwrap(), 1024, true, false)?;
            let port = v4.local_addr()?.port();
            // The same port over IPv6, if this machine has IPv6.
            if let Ok(v6) =
                bind_tcp_listener(format!("[::]:{port}").parse().unwrap(), 1024, true, false)
            {
                assert_eq!(v6.local_addr()?.port(), port);
            }
            Ok(())
        };
        run().unwrap();
    }
}
