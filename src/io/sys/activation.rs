//! Inherited listening sockets: descriptors given on the command line
//! (the `sockets` adjustment) or passed by systemd's socket activation
//! ([`listen_fds_from_env`]), checked and taken over by [`adopt_listener`]
//! as a [`Listener`]. Taking ownership of a descriptor number is the one
//! place where this layer relies on its caller.
#![allow(unsafe_code)]

use std::ffi::c_int;
use std::fmt;
use std::io::{self, ErrorKind};
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

// All the per-platform constants: which ones a file uses differs by platform.
use super::platform::*;
use super::socket::{getsockopt_int, set_cloexec};
use super::{SockLen, cvt, ffi};

/// A listening socket of either kind, as [`adopt_listener`] finds it.
#[derive(Debug)]
pub enum Listener {
    /// An IPv4 or IPv6 stream socket.
    Tcp(TcpListener),
    /// A Unix domain stream socket.
    Unix(UnixListener),
}

impl Listener {
    /// Moves the listener into or out of nonblocking mode.
    #[cfg_attr(not(test), allow(dead_code))] // for the tests
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

/// The examples these items' docs had while the module was public,
/// kept as tests.
#[cfg(test)]
mod doc_examples {
    #[test]
    fn listener_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::Listener;
            use std::net::TcpListener;

            let listener = Listener::Tcp(TcpListener::bind("127.0.0.1:0")?);
            listener.set_nonblocking(true)?;
            assert!(matches!(listener, Listener::Tcp(_)));
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn set_nonblocking_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::Listener;
            use std::os::unix::net::UnixListener;

            let dir = std::env::temp_dir().join(format!("waitress-doc-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("listener.sock");
            let _ = std::fs::remove_file(&path);
            let listener = Listener::Unix(UnixListener::bind(&path)?);
            listener.set_nonblocking(true)?;
            std::fs::remove_dir_all(&dir)?;
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn adopt_listener_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::{Listener, adopt_listener};
            use std::net::TcpListener;
            use std::os::fd::{AsFd, IntoRawFd};

            let original = TcpListener::bind("127.0.0.1:0")?;
            let inherited = original.as_fd().try_clone_to_owned()?.into_raw_fd();
            let Listener::Tcp(adopted) = adopt_listener(inherited)? else {
                panic!()
            };
            assert_eq!(adopted.local_addr()?, original.local_addr()?);

            let file = std::fs::File::open("Cargo.toml")?;
            use std::os::fd::AsRawFd;
            assert!(adopt_listener(file.as_raw_fd()).is_err());
            Ok(())
        };
        run().unwrap();
    }

    #[test]
    fn listen_fds_from_env_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            // Not started by systemd: nothing to adopt.
            assert!(crate::io::sys::listen_fds_from_env()?.is_empty());
            Ok(())
        };
        run().unwrap();
    }
}
