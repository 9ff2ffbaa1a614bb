//! The server behind a real nginx (the Debian package), over TCP and over a
//! Unix socket, configured as `book/src/operating.md` recommends:
//! `X-Forwarded-For` / `X-Forwarded-Proto` set by nginx, HTTP/1.1 with the
//! `Connection` header cleared, and an upstream `keepalive` pool.
//!
//! The test starts its own nginx (`nginx -p PREFIX -c CONF -e stderr`, no
//! daemon, no master process) on a free 127.0.0.1 port with every path in a
//! temporary directory, so the package's own service plays no part; a guard
//! kills it even when an assertion fails.
//!
//! The test needs nginx, so it is `#[ignore]`d: `cargo test` lists it as
//! ignored rather than passing it unrun. CI (`.ci/run`) installs nginx and
//! runs it with `cargo test --test nginx -- --ignored`; run with
//! `--ignored`, it fails if nginx is missing.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use support::{TIMEOUT, TempDir, TestServer, nginx_binary, spawn_nginx};
use waitress::config::{Adjustments, AdjustmentsBuilder};
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};

/// `KEY=value` lines: what the application saw of the proxy.
fn report(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let mut text = String::new();
    for key in [
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_CONNECTION",
        "HTTP_HOST",
        "PATH_INFO",
        "SERVER_PROTOCOL",
        "wsgi.url_scheme",
    ] {
        text.push_str(&format!("{key}={}\n", environ.get(key).unwrap_or("(none)")));
    }
    let input = environ.take_input();
    text.push_str(&format!("BODY_LENGTH={}\n", input.len()));
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from(text))
}

/// Our server behind nginx (the configuration says which listener), with
/// the proxy headers nginx sets trusted.
fn upstream(configure: impl FnOnce(AdjustmentsBuilder) -> AdjustmentsBuilder) -> TestServer {
    TestServer::start(report, |_| {
        configure(Adjustments::builder().threads(2))
            .set("trusted_proxy_headers", "x-forwarded-for x-forwarded-proto")
            .unwrap()
    })
}

/// A running nginx, killed on drop.
struct Nginx {
    child: Child,
    address: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The configuration: one nginx process, everything under `prefix`.
fn nginx_conf(prefix: &Path, port: u16, tcp_upstream: SocketAddr, unix_upstream: &Path) -> String {
    let prefix = prefix.display();
    let unix_upstream = unix_upstream.display();
    format!(
        r#"
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    # ANCHOR: nginx_upstreams
    upstream waitress_tcp {{
        server {tcp_upstream};
        keepalive 4;
    }}
    upstream waitress_unix {{
        server unix:{unix_upstream};
        keepalive 4;
    }}

    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $remote_addr;
        # As a proxy that terminates TLS would say (this one listens in plain
        # HTTP), so that the scheme the application sees is visibly nginx's.
        proxy_set_header X-Forwarded-Proto https;

        # Connect upstream from 127.0.0.5, so that the proxy's address and
        # its client's (127.0.0.1) differ.
        location /tcp/ {{ proxy_bind 127.0.0.5; proxy_pass http://waitress_tcp/; }}
        location /unix/ {{ proxy_pass http://waitress_unix/; }}
    }}
    # ANCHOR_END: nginx_upstreams
}}
"#
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts nginx and waits until it accepts connections. The port is found
/// free and then given to nginx, so another process could take it in
/// between: a few attempts absorb that.
fn start_nginx(
    binary: &Path,
    prefix: &Path,
    tcp_upstream: SocketAddr,
    unix_upstream: &Path,
) -> Nginx {
    let mut last_error = String::new();
    for _attempt in 0..3 {
        let port = free_port();
        let conf = prefix.join("nginx.conf");
        std::fs::write(&conf, nginx_conf(prefix, port, tcp_upstream, unix_upstream)).unwrap();
        let child = spawn_nginx(binary, prefix, &conf);
        let mut nginx = Nginx {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if let Some(_status) = nginx.child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = nginx.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                last_error = stderr;
                break;
            }
            if TcpStream::connect_timeout(&nginx.address, Duration::from_millis(100)).is_ok() {
                return nginx;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("nginx did not start: {last_error}");
}

/// One request on a new connection to nginx; the application's report.
fn get(nginx: &Nginx, path: &str, body: &[u8]) -> BTreeMap<String, String> {
    let mut stream = support::connect(nginx.address);
    let method = if body.is_empty() { "GET" } else { "POST" };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: proxy.example\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let (_, text) = response.split_once("\r\n\r\n").unwrap();
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
#[ignore = "needs nginx: apt-get install nginx; run with --ignored"]
fn behind_nginx_over_tcp_and_a_unix_socket() {
    let binary = nginx_binary()
        .expect("nginx is not installed (apt-get install nginx): this test cannot run");
    let dir = TempDir::new("nginx");
    let prefix = dir.path.as_path();

    let tcp_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_address = tcp_listener.local_addr().unwrap();
    let _tcp = upstream(|b| {
        b.tcp_socket(tcp_listener)
            .set("trusted_proxy", "127.0.0.5")
            .unwrap()
    });
    let socket_path = prefix.join("waitress.sock");
    let _unix = upstream(|b| {
        b.set("unix_socket", socket_path.to_str().unwrap())
            .unwrap()
            .set("trusted_proxy", "localhost")
            .unwrap()
    });
    let nginx = start_nginx(&binary, prefix, tcp_address, &socket_path);

    // Over TCP: what nginx sent, and one upstream connection for several
    // client connections (the keepalive pool).
    let reports: Vec<_> = (0..4).map(|_| get(&nginx, "/tcp/hello", b"")).collect();
    let first = &reports[0];
    // The application sees the client and scheme nginx saw, not nginx.
    assert_eq!(first["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(first["wsgi.url_scheme"], "https");
    assert_eq!(first["HTTP_X_FORWARDED_FOR"], "127.0.0.1");
    assert_eq!(first["HTTP_X_FORWARDED_PROTO"], "https");
    assert_eq!(first["HTTP_HOST"], "proxy.example");
    assert_eq!(first["PATH_INFO"], "/hello");
    assert_eq!(first["SERVER_PROTOCOL"], "HTTP/1.1");
    assert_eq!(
        first["HTTP_CONNECTION"], "(none)",
        "nginx cleared Connection"
    );
    let ports: std::collections::BTreeSet<&str> =
        reports.iter().map(|r| r["REMOTE_PORT"].as_str()).collect();
    assert_eq!(
        ports.len(),
        1,
        "one kept-alive upstream connection: {ports:?}"
    );

    // A request body passes through (nginx buffers it, then sends it with
    // a Content-Length).
    let upload = get(&nginx, "/tcp/upload", &vec![b'u'; 200_000]);
    assert_eq!(upload["BODY_LENGTH"], "200000");

    // Over the Unix socket the peer is "localhost", which is the
    // trusted_proxy value to use there; the client is still nginx's.
    let report = get(&nginx, "/unix/there", b"");
    assert_eq!(report["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(report["wsgi.url_scheme"], "https");
    assert_eq!(report["HTTP_X_FORWARDED_FOR"], "127.0.0.1");
    assert_eq!(report["HTTP_X_FORWARDED_PROTO"], "https");
    assert_eq!(report["PATH_INFO"], "/there");
    assert_eq!(report["HTTP_CONNECTION"], "(none)");
    let upload = get(&nginx, "/unix/upload", &vec![b'u'; 200_000]);
    assert_eq!(upload["BODY_LENGTH"], "200000");
    for _ in 0..3 {
        get(&nginx, "/unix/again", b"");
    }
    // A Unix peer has no port to tell connections apart; the kernel's table
    // of Unix sockets shows the connections accepted on our path instead.
    // Five requests, one at a time, through the keepalive pool: one
    // connection, still open.
    if let Some(connected) = connected_unix_sockets(&socket_path) {
        assert_eq!(connected, 1, "one kept-alive upstream connection");
    }
}

/// How many connected sockets the kernel lists for a Unix socket path
/// (`/proc/net/unix`, Linux only): the server's ends of its connections.
fn connected_unix_sockets(path: &Path) -> Option<usize> {
    let table = std::fs::read_to_string("/proc/net/unix").ok()?;
    let path = path.to_str()?;
    // Num RefCount Protocol Flags Type St Inode Path; St 03 is connected.
    let count = table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields.len() == 8 && fields[7] == path && fields[5] == "03")
        .count();
    Some(count)
}
