//! The listening sockets: binding (or adopting) what the adjustments ask
//! for, and accepting one connection.
#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::path::PathBuf;

use crate::config::{Adjustments, PreboundSocket};
use crate::io::sys::{self, Listener};
use crate::logging::Logger;
use crate::server::stream::{ConnectionInfo, Stream};

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddress {
    /// A TCP address (with the real port when 0 was asked for).
    Tcp(SocketAddr),
    /// A Unix domain socket's path.
    Unix(PathBuf),
}

impl fmt::Display for ListenAddress {
    /// `http://127.0.0.1:8080`, `http://[::1]:8080` or `http://unix:/path`,
    /// as Waitress prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddress::Tcp(address) => write!(f, "http://{address}"),
            ListenAddress::Unix(path) => write!(f, "http://unix:{}", path.display()),
        }
    }
}

/// Accepts one connection, made nonblocking, with what the environ needs
/// to know about it.
pub(super) fn accept_one(
    listener: &Listener,
    address: &ListenAddress,
) -> io::Result<(Stream, ConnectionInfo)> {
    let server_port = match address {
        ListenAddress::Tcp(local) => local.port().to_string(),
        ListenAddress::Unix(path) => path.display().to_string(),
    };
    match listener {
        // ANCHOR: accept_one_tcp
        Listener::Tcp(listener) => {
            let (stream, peer) = listener.accept()?;
            stream.set_nonblocking(true)?;
            stream.set_nodelay(true)?;
            let info = ConnectionInfo {
                remote_addr: peer.ip().to_string(),
                remote_port: peer.port().to_string(),
                server_port,
            };
            Ok((Stream::Tcp(stream), info))
        }
        // ANCHOR_END: accept_one_tcp
        Listener::Unix(listener) => {
            let (stream, _) = listener.accept()?;
            stream.set_nonblocking(true)?;
            let info = ConnectionInfo {
                remote_addr: "localhost".to_string(),
                remote_port: String::new(),
                server_port,
            };
            Ok((Stream::Unix(stream), info))
        }
    }
}

/// Binds (or adopts) every listening socket the adjustments ask for.
pub(super) fn bind_listeners(
    adjustments: &mut Adjustments,
    logger: &Logger,
) -> io::Result<Vec<(Listener, ListenAddress)>> {
    let backlog = adjustments.backlog;
    let mut listeners = Vec::new();
    // ANCHOR: adopt_inherited
    let inherited = sys::listen_fds_from_env()?;
    if !inherited.is_empty() {
        logger.info(
            "waitress",
            format_args!(
                "Using {} socket(s) from systemd socket activation",
                inherited.len()
            ),
        );
        adjustments
            .sockets
            .extend(inherited.into_iter().map(PreboundSocket::Fd));
    }
    // ANCHOR: listen_sources
    for socket in std::mem::take(&mut adjustments.sockets) {
        let listener = match socket {
            PreboundSocket::Tcp(listener) => Listener::Tcp(listener),
            PreboundSocket::Unix(listener) => Listener::Unix(listener),
            PreboundSocket::Fd(fd) => sys::adopt_listener(fd)?,
        };
        listeners.push(listener);
    }
    // ANCHOR_END: adopt_inherited
    if listeners.is_empty() {
        if let Some(path) = adjustments.unix_socket.clone() {
            listeners.push(Listener::Unix(bind_unix(
                &path,
                adjustments.unix_socket_perms,
                backlog,
            )?));
        } else {
            for address in &adjustments.listen {
                let listener = sys::bind_tcp_listener(
                    *address,
                    backlog,
                    address.is_ipv6(),
                    adjustments.reuse_port,
                )
                .map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot listen on {address}: {e}"))
                })?;
                listeners.push(Listener::Tcp(listener));
            }
        }
    }
    // ANCHOR_END: listen_sources
    let mut bound = Vec::new();
    for listener in listeners {
        let address = match &listener {
            Listener::Tcp(listener) => {
                listener.set_nonblocking(true)?;
                ListenAddress::Tcp(listener.local_addr()?)
            }
            Listener::Unix(listener) => {
                listener.set_nonblocking(true)?;
                let path = listener
                    .local_addr()?
                    .as_pathname()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                ListenAddress::Unix(path)
            }
        };
        bound.push((listener, address));
    }
    if bound.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "nothing to listen on",
        ));
    }
    Ok(bound)
}

// ANCHOR: bind_unix
/// Binds a Unix domain socket, replacing a stale socket file but never a
/// socket a live server listens on, nor any other kind of file. Every error
/// names the path.
pub(super) fn bind_unix(path: &Path, perms: u32, backlog: u32) -> io::Result<UnixListener> {
    let named = |error: io::Error| {
        let message = format!("cannot listen on unix socket {}: {error}", path.display());
        io::Error::new(error.kind(), message)
    };
    if let Ok(metadata) = std::fs::symlink_metadata(path) {
        if !metadata.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("unix_socket {} exists and is not a socket", path.display()),
            ));
        }
        // Someone listening accepts (or queues) the connection; a socket
        // file left by a process that died refuses it.
        match UnixStream::connect(path) {
            Ok(_) => {
                return Err(named(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another server is listening on it",
                )));
            }
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                std::fs::remove_file(path).map_err(named)?;
            }
            Err(error) => return Err(named(error)),
        }
    }
    let listener = UnixListener::bind(path).map_err(named)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(perms)).map_err(named)?;
    sys::set_listen_backlog(&listener, backlog).map_err(named)?;
    Ok(listener)
}
// ANCHOR_END: bind_unix
