//! Where to listen: host and port, `listen` entries, the address families,
//! the conflicts between address settings, Unix sockets and prebound
//! sockets.
#![forbid(unsafe_code)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use super::{build, conflict, invalid};
use crate::config::{Adjustments, PreboundSocket};

#[test]
fn host_and_port_make_the_listen_address() {
    let adj = build(&[("host", "127.0.0.1"), ("port", "9000")]).unwrap();
    assert_eq!(adj.listen, vec![SocketAddr::from(([127, 0, 0, 1], 9000))]);
    let adj = build(&[("port", "9001")]).unwrap();
    assert_eq!(adj.listen, vec![SocketAddr::from(([0, 0, 0, 0], 9001))]);
    let adj = build(&[("host", "::1")]).unwrap();
    assert_eq!(
        adj.listen,
        vec![SocketAddr::from((Ipv6Addr::LOCALHOST, 8080))]
    );
}

#[test]
fn listen_takes_several_entries_and_accumulates() {
    let adj = Adjustments::builder()
        .listen("127.0.0.1:8001")
        .listen("[::1]:8002 127.0.0.1:8003")
        .build()
        .unwrap();
    assert_eq!(
        adj.listen,
        vec![
            SocketAddr::from(([127, 0, 0, 1], 8001)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, 8002)),
            SocketAddr::from(([127, 0, 0, 1], 8003)),
        ]
    );
}

#[test]
fn listen_wildcard_binds_every_enabled_family() {
    let adj = build(&[("listen", "*:8080")]).unwrap();
    assert_eq!(
        adj.listen,
        vec![
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080)),
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, 8080)),
        ]
    );
    let adj = build(&[("listen", "*:8080"), ("ipv6", "false")]).unwrap();
    assert_eq!(
        adj.listen,
        vec![SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080))]
    );
    let adj = build(&[("listen", "*:8080"), ("ipv4", "off")]).unwrap();
    assert_eq!(
        adj.listen,
        vec![SocketAddr::from((Ipv6Addr::UNSPECIFIED, 8080))]
    );
}

#[test]
fn listen_entry_without_port_uses_the_port_setting() {
    let adj = build(&[("listen", "127.0.0.1 [::1]")]).unwrap();
    assert_eq!(
        adj.listen,
        vec![
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, 8080)),
        ]
    );
}

#[test]
fn listen_resolves_host_names_and_drops_duplicates() {
    let adj = build(&[("listen", "localhost:8080 127.0.0.1:8080"), ("ipv6", "no")]).unwrap();
    assert_eq!(adj.listen, vec![SocketAddr::from(([127, 0, 0, 1], 8080))]);
}

#[test]
fn bad_listen_entries_name_the_entry() {
    for bad in [
        "127.0.0.1:http",
        "127.0.0.1:70000",
        ":8080",
        "127.0.0.1:-1",
        "no-such-host.invalid:80",
    ] {
        assert_eq!(
            invalid(&[("listen", bad)]),
            ("listen".to_string(), bad.to_string()),
            "{bad}"
        );
    }
}

#[test]
fn listen_in_a_disabled_family_is_an_error() {
    assert_eq!(
        invalid(&[("listen", "[::1]:80"), ("ipv6", "0")]).0,
        "listen"
    );
    assert_eq!(
        invalid(&[("listen", "127.0.0.1:80"), ("ipv4", "0")]).0,
        "listen"
    );
}

#[test]
fn both_families_disabled_is_an_error() {
    assert!(conflict(&[("ipv4", "no"), ("ipv6", "no")]).contains("both disabled"));
}

#[test]
fn address_settings_conflict_as_in_waitress() {
    assert_eq!(
        conflict(&[("listen", "127.0.0.1:1"), ("host", "x")]),
        "host or port may not be set if listen is set"
    );
    assert_eq!(
        conflict(&[("listen", "127.0.0.1:1"), ("port", "1")]),
        "host or port may not be set if listen is set"
    );
    assert_eq!(
        conflict(&[("listen", "127.0.0.1:1"), ("sockets", "3")]),
        "sockets may not be set if listen is set"
    );
    assert_eq!(
        conflict(&[("sockets", "3"), ("port", "1")]),
        "host or port may not be set if sockets is set"
    );
    assert_eq!(
        conflict(&[("sockets", "3"), ("unix_socket", "/tmp/s")]),
        "unix_socket may not be set if sockets is set"
    );
    assert_eq!(
        conflict(&[("unix_socket", "/tmp/s"), ("host", "x")]),
        "unix_socket may not be set if host or port is set"
    );
    assert_eq!(
        conflict(&[("unix_socket", "/tmp/s"), ("listen", "127.0.0.1:1")]),
        "unix_socket may not be set if listen is set"
    );
}

#[test]
fn unix_socket_replaces_tcp_listening() {
    let adj = build(&[("unix_socket", "/tmp/w.sock"), ("unix_socket_perms", "660")]).unwrap();
    assert_eq!(adj.unix_socket, Some(PathBuf::from("/tmp/w.sock")));
    assert_eq!(adj.unix_socket_perms, 0o660);
    assert!(adj.listen.is_empty());
}

#[test]
fn unix_socket_perms_are_octal() {
    assert_eq!(
        build(&[("unix_socket_perms", "0777")])
            .unwrap()
            .unix_socket_perms,
        0o777
    );
    assert_eq!(
        Adjustments::builder()
            .unix_socket_perms(0o640)
            .build()
            .unwrap()
            .unix_socket_perms,
        0o640
    );
    for bad in ["8", "rw", "", "-600", "77777"] {
        assert_eq!(
            invalid(&[("unix_socket_perms", bad)]).0,
            "unix_socket_perms",
            "{bad}"
        );
    }
}

#[test]
fn sockets_from_text_are_file_descriptors() {
    let adj = build(&[("sockets", "3 4")]).unwrap();
    assert!(matches!(
        adj.sockets.as_slice(),
        [PreboundSocket::Fd(3), PreboundSocket::Fd(4)]
    ));
    assert!(adj.listen.is_empty());
    assert_eq!(
        invalid(&[("sockets", "three")]),
        ("sockets".to_string(), "three".to_string())
    );
}

#[test]
fn prebound_tcp_and_unix_sockets_may_not_be_mixed() {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let path = std::env::temp_dir().join(format!("waitress-adj-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let unix = UnixListener::bind(&path).unwrap();
    let error = Adjustments::builder()
        .tcp_socket(tcp)
        .unix_listener(unix)
        .build()
        .unwrap_err();
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        error.to_string(),
        "Internet and UNIX sockets may not be mixed"
    );
}

#[test]
fn the_last_address_given_in_code_wins_as_with_flags() {
    let adj = Adjustments::builder()
        .host("0.0.0.0")
        .port(80)
        .listen("127.0.0.1:8080")
        .unix_socket("/run/app.sock")
        .build()
        .unwrap();
    assert_eq!(adj.unix_socket.as_deref(), Some(Path::new("/run/app.sock")));
    assert!(adj.listen.is_empty());
}
