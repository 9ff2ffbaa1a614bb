//! Where the server listens and whom it believes: Unix sockets (a stale
//! socket file included), a prebound listener, several listeners, and proxy
//! headers from trusted and untrusted peers.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use crate::support::{TIMEOUT, TestServer, read_response};
use waitress::config::Adjustments;
use waitress::gateway::{AppResult, Body, Environ, StartResponse};
use waitress::server::{ListenAddress, ServerBuilder};

use super::hello;

#[test]
fn a_request_over_a_unix_socket_is_served() {
    let path = std::env::temp_dir().join(format!("waitress-test-{}.sock", std::process::id()));
    let path_text = path.to_str().unwrap().to_string();
    let server = TestServer::start(
        |environ: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
            let text = format!(
                "{} {}",
                environ.get("REMOTE_ADDR").unwrap_or(""),
                environ.get("SERVER_PORT").unwrap_or("")
            );
            start_response.start_response("200 OK", vec![], None)?;
            Ok(Body::from(text))
        },
        |_| {
            Adjustments::builder()
                .unix_socket(&path_text)
                .unix_socket_perms(0o660)
        },
    );
    assert_eq!(server.addresses, vec![ListenAddress::Unix(path.clone())]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o660
    );
    let mut stream = UnixStream::connect(&path).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        format!("localhost {}", path.display())
    );
    server.stop();
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

#[test]
fn a_stale_unix_socket_file_is_replaced_but_another_file_is_not() {
    let path = std::env::temp_dir().join(format!("waitress-stale-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // leaves the socket file behind
    let path_text = path.to_str().unwrap().to_string();
    let server = TestServer::start(hello, |_| Adjustments::builder().unix_socket(&path_text));
    server.stop();

    std::fs::write(&path, b"not a socket").unwrap();
    let adjustments = Adjustments::builder()
        .unix_socket(&path_text)
        .build()
        .unwrap();
    let error = ServerBuilder::new(hello, adjustments).build().unwrap_err();
    assert!(
        error.to_string().contains("exists and is not a socket"),
        "{error}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"not a socket",
        "the file is left alone"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_prebound_listener_is_served() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = TestServer::start(hello, |_| Adjustments::builder().tcp_socket(listener));
    assert_eq!(server.addresses, vec![ListenAddress::Tcp(address)]);
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(stream)).status, 200);
}

#[test]
fn several_listeners_are_served_by_one_loop() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    }
    let server = TestServer::start(report_client, |_| {
        Adjustments::builder().listen("127.0.0.1:0 [::1]:0")
    });
    assert_eq!(server.addresses.len(), 2);
    for address in &server.addresses {
        let ListenAddress::Tcp(address) = address else {
            unreachable!()
        };
        let mut stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let body = String::from_utf8(read_response(&mut BufReader::new(stream)).body).unwrap();
        assert!(body.starts_with(&address.ip().to_string()), "{body}");
    }
}

fn report_client(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let text = format!(
        "{} {} {}",
        environ.get("REMOTE_ADDR").unwrap_or(""),
        environ.url_scheme(),
        environ.get("HTTP_X_FORWARDED_FOR").unwrap_or("-")
    );
    start_response.start_response("200 OK", vec![], None)?;
    Ok(Body::from(text))
}

#[test]
fn proxy_headers_from_an_untrusted_peer_are_removed_by_default() {
    let server = TestServer::start(report_client, |b| b);
    let mut stream = server.connect();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n\r\n").unwrap();
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        "127.0.0.1 http -"
    );
}

#[test]
fn a_trusted_proxy_sets_the_client_address_and_scheme() {
    let server = TestServer::start(report_client, |b| {
        b.trusted_proxy("127.0.0.1")
            .trusted_proxy_headers("x-forwarded-for x-forwarded-proto")
    });
    let mut stream = server.connect();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1, 203.0.113.9\r\nX-Forwarded-Proto: https\r\n\r\n").unwrap();
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        "203.0.113.9 https 203.0.113.9"
    );
}
