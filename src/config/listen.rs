//! Where to listen: `listen` entries (`HOST:PORT`, `[V6]:PORT`, `*:PORT`,
//! `HOST` alone) resolved to socket addresses of the enabled families, and
//! the `host`/`port` pair written as one entry.
#![forbid(unsafe_code)]

use std::net::{SocketAddr, ToSocketAddrs};

use super::error::ConfigError;
use super::values::split_list;

/// `host:port`, with brackets around an IPv6 address.
pub(super) fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Resolves `listen` entries to socket addresses: `HOST:PORT`, `[V6]:PORT`,
/// `*:PORT` (every enabled family) or `HOST` (with `default_port`), keeping
/// only enabled families and dropping duplicates.
pub(super) fn resolve_listen(
    entries: &str,
    default_port: u16,
    ipv4: bool,
    ipv6: bool,
) -> Result<Vec<SocketAddr>, ConfigError> {
    let mut addresses: Vec<SocketAddr> = Vec::new();
    for entry in split_list(entries) {
        let invalid = |expected: &str| ConfigError::invalid("listen", entry, expected);
        // `[::1]` and `::1` alone have colons but no port: the colon found
        // last belongs to the address.
        // ANCHOR: resolve_listen_port
        let port_follows = |host: &str, port: &str| {
            let bare_ipv6 = host.contains(':') && !host.starts_with('[');
            !port.contains(']') && !bare_ipv6
        };
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) if port_follows(host, port) => {
                let port = crate::http::grammar::parse_decimal(port)
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| {
                        invalid("expected HOST:PORT with a port number from 0 to 65535")
                    })?;
                (host, port)
            }
            _ => (entry, default_port),
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(invalid("expected HOST:PORT; use *:PORT for every address"));
        }
        // ANCHOR_END: resolve_listen_port
        let candidates: Vec<SocketAddr> = if host == "*" {
            vec![
                SocketAddr::from(([0, 0, 0, 0], port)),
                SocketAddr::from(([0u16; 8], port)),
            ]
        } else {
            (host, port)
                .to_socket_addrs()
                .map_err(|e| invalid(&format!("cannot resolve the host: {e}")))?
                .collect()
        };
        let before = addresses.len();
        for address in candidates {
            let enabled = if address.is_ipv4() { ipv4 } else { ipv6 };
            if enabled && !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        if addresses.len() == before && !candidates_were_duplicates(&addresses, host, port) {
            return Err(invalid(
                "no address of an enabled family (see ipv4 and ipv6)",
            ));
        }
    }
    Ok(addresses)
}

/// Whether an entry added nothing only because its addresses were already
/// listed (`--listen=127.0.0.1:80 --listen=127.0.0.1:80`), which is fine.
fn candidates_were_duplicates(addresses: &[SocketAddr], host: &str, port: u16) -> bool {
    if host == "*" {
        return addresses
            .iter()
            .any(|a| a.port() == port && a.ip().is_unspecified());
    }
    (host, port)
        .to_socket_addrs()
        .map(|mut found| found.any(|a| addresses.contains(&a)))
        .unwrap_or(false)
}
