//! The server over real sockets on 127.0.0.1: keep-alive, pipelining,
//! slow and broken clients, limits, timeouts, shutdown. Every test is bounded
//! by socket timeouts and stops its server.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

mod support;

use support::{
    Calls, Gate, TIMEOUT, TestServer, closed_by_server, read_response, thread_cpu_ticks, wait_until,
};
use waitress::config::Adjustments;
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::logging::{Level, Logger};
use waitress::server::{ListenAddress, ServerBuilder};

fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from("Hello, world!"))
}

/// Answers with the path and the body it received.
fn echo(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let mut body = Vec::new();
    environ.input().read_to_end(&mut body)?;
    let spooled = environ.input().is_file();
    let text = format!("{} {} {}", environ.path_info(), body.len(), spooled);
    start_response.start_response("200 OK", vec![], None)?;
    let mut out = text.into_bytes();
    out.push(b'|');
    out.extend_from_slice(&body);
    Ok(Body::from(out))
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::start(hello, |b| b);
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for _ in 0..3 {
        (&stream)
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let response = read_response(&mut reader);
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"Hello, world!"[..])
        );
        assert_eq!(response.header("Connection"), None);
    }
}

#[test]
fn http10_closes_after_the_response() {
    let server = TestServer::start(hello, |b| b);
    let mut stream = server.connect();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader);
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(closed_by_server(&mut reader));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    let mut wire = Vec::new();
    for i in 0..25 {
        wire.extend_from_slice(
            format!("POST /p{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{i:02}").as_bytes(),
        );
    }
    wire.extend_from_slice(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(&wire).unwrap();
    let mut reader = BufReader::new(stream);
    for i in 0..25 {
        let response = read_response(&mut reader);
        assert_eq!(
            String::from_utf8(response.body).unwrap(),
            format!("/p{i} 2 false|{i:02}")
        );
    }
    assert_eq!(read_response(&mut reader).body, b"/last 0 false|");
    assert!(closed_by_server(&mut reader));
}

#[test]
fn a_request_sent_one_byte_at_a_time_is_served() {
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    stream.set_nodelay(true).unwrap();
    for byte in b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" {
        stream.write_all(&[*byte]).unwrap();
        thread::sleep(Duration::from_micros(200));
    }
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(response.body, b"/slow 5 false|hello");
}

#[test]
fn expect_100_continue_gets_an_interim_response_before_the_body() {
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(
            b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        )
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let interim = read_response(&mut reader);
    assert_eq!(interim.status, 100);
    stream.write_all(b"hi").unwrap();
    assert_eq!(read_response(&mut reader).body, b"/up 2 false|hi");
}

#[test]
fn a_bodiless_request_with_expect_is_simply_answered() {
    // Waitress never answers this one (its §1.13 Q5); we do.
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /first HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"/first 0 false|"[..])
    );
}

#[test]
fn a_large_upload_is_spooled_to_a_file_and_read_back() {
    let server = TestServer::start(echo, |b| b.inbuf_overflow(64 * 1024));
    let mut stream = server.connect();
    let body = vec![b'u'; 1 << 20];
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        let body = body.clone();
        thread::spawn(move || {
            stream
                .write_all(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
                .unwrap();
            stream.write_all(&body).unwrap();
        })
    };
    let response = read_response(&mut BufReader::new(&mut stream));
    writer.join().unwrap();
    let (summary, echoed) = response
        .body
        .split_at(response.body.iter().position(|&b| b == b'|').unwrap());
    assert_eq!(summary, b"/big 1048576 true");
    assert_eq!(&echoed[1..], &body[..]);
}

#[test]
fn a_slow_reader_blocks_its_application_but_not_other_clients() {
    static PRODUCED: AtomicUsize = AtomicUsize::new(0);
    fn stream_big(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        // 64 MiB in 64 KiB chunks, counted as they are produced.
        Ok(Body::from_chunks((0..1024).map(|_| {
            PRODUCED.fetch_add(1, Ordering::SeqCst);
            vec![b'd'; 64 * 1024]
        })))
    }
    fn app(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        if environ.path_info() == "/big" {
            stream_big(environ, start_response)
        } else {
            hello(environ, start_response)
        }
    }
    let server = TestServer::start(app, |b| {
        b.outbuf_high_watermark(256 * 1024)
            .outbuf_overflow(128 * 1024)
    });
    let mut slow = server.connect();
    slow.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    wait_until("the application produces", || {
        PRODUCED.load(Ordering::SeqCst) > 0
    });
    // Time for an application that is not held back to run far ahead; a
    // slower machine gives it less, so this cannot fail for being slow.
    thread::sleep(Duration::from_millis(300));
    // The client has read nothing: the application is held at the watermark,
    // a few MiB in at most (watermark plus socket buffers), not 64 MiB.
    let produced = PRODUCED.load(Ordering::SeqCst);
    assert!(
        produced < 200,
        "the application ran ahead: {produced} chunks"
    );
    // Another client is served meanwhile.
    let mut other = server.connect();
    other
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(other)).status, 200);
    // Reading everything completes the response.
    let response = read_response(&mut BufReader::new(slow));
    assert_eq!(response.body.len(), 64 << 20);
}

#[test]
fn a_slowloris_client_gets_408_and_does_not_delay_others() {
    let server = TestServer::start(hello, |b| b.channel_timeout(1).cleanup_interval(1));
    let mut slow = server.connect();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let started = Instant::now();
    let mut other = server.connect();
    other
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(other)).status, 200);
    // The other client did not wait for the slow one's timeout: when it is
    // answered, the slow one has not been told anything yet.
    slow.set_nonblocking(true).unwrap();
    let early = slow.read(&mut [0; 1]);
    assert!(
        matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the slow client was answered first: {early:?}"
    );
    slow.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(slow);
    let response = read_response(&mut reader);
    assert_eq!(response.status, 408);
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(closed_by_server(&mut reader));
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_silently() {
    let server = TestServer::start(hello, |b| b.channel_timeout(1).cleanup_interval(1));
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    assert_eq!(read_response(&mut reader).status, 200);
    let idle = Instant::now();
    assert!(closed_by_server(&mut reader), "closed without a response");
    assert!(idle.elapsed() >= Duration::from_millis(900));
}

#[test]
fn clients_that_disconnect_mid_request_or_mid_response_leave_the_server_serving() {
    fn big(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from_chunks((0..256).map(|_| vec![b'x'; 64 * 1024])))
    }
    let server = TestServer::start(big, |b| b.outbuf_high_watermark(64 * 1024));
    {
        let mut stream = server.connect();
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
            .unwrap();
    }
    {
        let mut stream = server.connect();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut some = [0; 1024];
        stream.read_exact(&mut some).unwrap();
    }
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut BufReader::new(stream)).body.len(),
        256 * 64 * 1024
    );
}

#[test]
fn with_io_spin_off_the_loop_sleeps_at_once_and_nothing_is_lost() {
    // 16 MiB through a 64 KiB watermark: the worker waits for the I/O thread
    // to drain the output hundreds of times, and with no spin the I/O thread
    // is asleep each time, so every wake-up goes through the trigger.
    fn big(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from_chunks((0..256).map(|_| vec![b'x'; 64 * 1024])))
    }
    let server = TestServer::start_with(
        big,
        |b| b.outbuf_high_watermark(64 * 1024),
        |s| s.io_spin(Duration::ZERO),
    );
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for _ in 0..2 {
        (&stream)
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let response = read_response(&mut reader);
        assert_eq!(response.status, 200);
        assert_eq!(response.body.len(), 256 * 64 * 1024);
        assert!(response.body.iter().all(|&byte| byte == b'x'));
    }
    server.stop();
}

#[test]
fn an_application_panic_is_a_500_and_the_server_goes_on() {
    fn sometimes_panics(
        environ: &mut Environ,
        start_response: &mut dyn StartResponse,
    ) -> AppResult {
        if environ.path_info() == "/panic" {
            panic!("application bug");
        }
        hello(environ, start_response)
    }
    let server = TestServer::start(sometimes_panics, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    assert_eq!(read_response(&mut reader).status, 500);
    assert!(closed_by_server(&mut reader));
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(stream)).status, 200);
    assert!(
        server
            .stop()
            .contents()
            .contains("the application panicked: application bug")
    );
}

#[test]
fn a_bad_request_is_answered_and_nothing_after_it_is_served() {
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader);
    assert_eq!(response.status, 400);
    assert!(
        closed_by_server(&mut reader),
        "the pipelined /second is never served"
    );
}

/// Answers with what the application sees of the host.
fn host_view(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let get = |key| environ.get(key).unwrap_or("-").to_string();
    let text = format!(
        "{} {} {} {}",
        get("HTTP_HOST"),
        get("SERVER_NAME"),
        get("SERVER_PORT"),
        environ.path_info()
    );
    start_response.start_response("200 OK", vec![], None)?;
    Ok(Body::from(text))
}

#[test]
fn an_absolute_form_target_is_the_host_the_application_sees() {
    // RFC 9112 §3.2.2: Host is ignored for the target's authority.
    let server = TestServer::start(host_view, |b| b);
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    (&stream)
        .write_all(b"GET http://a.example:8080/x HTTP/1.1\r\nHost: b.example\r\n\r\n")
        .unwrap();
    let response = read_response(&mut reader);
    assert_eq!(response.status, 200);
    let port = server.address.port();
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        format!("a.example:8080 a.example {port} /x")
    );

    (&stream)
        .write_all(b"GET s://]ufd/: HTTP/1.1\r\nHost: b.example\r\n\r\n")
        .unwrap();
    let response = read_response(&mut reader);
    assert_eq!(response.status, 400);
    let body = String::from_utf8(response.body).unwrap();
    assert!(
        body.contains("Request target authority is invalid: invalid character ']' in the host"),
        "{body}"
    );
}

fn open_file_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024)
}

#[test]
fn a_thousand_concurrent_connections_are_served() {
    // Client and server ends both live in this process.
    let count = 1000.min(open_file_limit().saturating_sub(200) / 2);
    let server = TestServer::start(hello, |b| b.connection_limit(2000));
    let mut streams: Vec<TcpStream> = (0..count).map(|_| server.connect()).collect();
    for stream in &mut streams {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
    }
    for stream in streams {
        assert_eq!(read_response(&mut BufReader::new(stream)).status, 200);
    }
}

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
fn graceful_shutdown_answers_every_request_in_flight() {
    fn slow(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        thread::sleep(Duration::from_millis(300));
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from("done"))
    }
    let server = TestServer::start(slow, |b| b.threads(2));
    let clients = 6;
    let barrier = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let mut stream = server.connect();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                barrier.wait();
                read_response(&mut BufReader::new(stream)).body
            })
        })
        .collect();
    barrier.wait();
    thread::sleep(Duration::from_millis(100)); // the requests have arrived
    let started = Instant::now();
    server.stop();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), b"done");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn shutdown_stops_accepting() {
    let server = TestServer::start(hello, |b| b);
    let address = server.address;
    server.stop();
    assert!(TcpStream::connect(address).is_err());
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn ten_thousand_connections_leak_no_descriptors() {
    let server = TestServer::start(hello, |b| b);
    // Warm up (threads, trigger), then count.
    for _ in 0..10 {
        let mut stream = server.connect();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let _ = read_response(&mut BufReader::new(stream));
    }
    let before = open_descriptors();
    for i in 0..10_000 {
        let mut stream = server.connect();
        if i % 2 == 0 {
            stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
            let _ = read_response(&mut BufReader::new(stream));
        } // odd ones connect and leave without a word
    }
    let deadline = Instant::now() + TIMEOUT;
    while open_descriptors() > before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        open_descriptors() <= before,
        "{} descriptors open, {} before",
        open_descriptors(),
        before
    );
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

#[test]
fn a_half_closed_client_gets_its_response_without_the_loop_spinning() {
    // CVE-2024-49769: a socket that stays readable at end of file made
    // Waitress's loop spin. Here the request is in service for 500 ms while
    // the client has already shut down its sending side.
    fn slow(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        thread::sleep(Duration::from_millis(500));
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from("late"))
    }
    let server = TestServer::start(slow, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let ticks = thread_cpu_ticks(&server.io_thread);
    let mut reader = BufReader::new(stream);
    assert_eq!(read_response(&mut reader).body, b"late");
    assert!(closed_by_server(&mut reader));
    let used = thread_cpu_ticks(&server.io_thread) - ticks;
    assert!(
        used < 10,
        "the I/O thread used {used} ticks of CPU while the request took 500 ms"
    );
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
fn a_file_body_is_streamed_with_its_length() {
    fn file(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        Ok(Body::file(std::io::Cursor::new(data), 32 * 1024))
    }
    let server = TestServer::start(file, |b| b.outbuf_high_watermark(64 * 1024));
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    for _ in 0..2 {
        let response = read_response(&mut reader);
        assert_eq!(response.header("Content-Length"), Some("3000000"));
        assert!(
            response
                .body
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8)
        );
    }
}

#[test]
fn the_server_logs_nothing_alarming_for_ordinary_traffic() {
    let server = TestServer::start(hello, |b| b);
    for _ in 0..3 {
        let mut stream = server.connect();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let _ = read_response(&mut BufReader::new(stream));
    }
    let log = server.stop().contents();
    assert!(!log.contains("ERROR") && !log.contains("WARNING"), "{log}");
}

#[test]
fn a_saturated_bounded_pool_makes_the_server_stop_reading_not_block() {
    // One worker, a queue of one: the I/O thread must never block on it.
    // Requests beyond what the pool takes wait (unread) in the sockets, and
    // every one is answered in the end.
    fn slow(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        thread::sleep(Duration::from_millis(20));
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from("ok"))
    }
    let pool = waitress::pool::ThreadedTaskDispatcher::builder()
        .queue_limit(1)
        .build();
    waitress::pool::Dispatcher::set_thread_count(&pool, 1);
    let adjustments = Adjustments::builder()
        .listen("127.0.0.1:0")
        .build()
        .unwrap();
    let (logger, _) = Logger::memory(Level::Debug);
    let server = ServerBuilder::new(slow, adjustments)
        .logger(logger)
        .dispatcher(Arc::new(pool))
        .build()
        .unwrap();
    let ListenAddress::Tcp(address) = server.addresses()[0].clone() else {
        unreachable!()
    };
    let handle = server.handle();
    let io = thread::spawn(move || server.run());
    let clients: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                let mut stream = TcpStream::connect(address).unwrap();
                stream.set_read_timeout(Some(TIMEOUT)).unwrap();
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                read_response(&mut BufReader::new(stream)).body
            })
        })
        .collect();
    // Meanwhile the I/O thread still accepts and answers a shutdown quickly.
    for client in clients {
        assert_eq!(client.join().unwrap(), b"ok");
    }
    handle.shutdown();
    io.join().unwrap().unwrap();
}

#[test]
fn with_lookahead_an_application_can_see_its_client_leave() {
    // Only a channel that keeps reading (channel_request_lookahead > 0) can
    // notice end of file while the application runs.
    fn wait_for_disconnect(
        environ: &mut Environ,
        start_response: &mut dyn StartResponse,
    ) -> AppResult {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !environ.client_disconnected() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let seen = if environ.client_disconnected() {
            "gone"
        } else {
            "still there"
        };
        writeln!(environ.errors(), "client {seen}")?;
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from(seen))
    }
    let (calls, app) = Calls::count(wait_for_disconnect);
    let server = TestServer::start(app, |b| b.channel_request_lookahead(2));
    let mut stream = server.connect();
    stream
        .write_all(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    calls.wait_for(1); // the application runs
    drop(stream);
    let deadline = Instant::now() + TIMEOUT;
    while !server.log.contents().contains("client ") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        server.log.contents().contains("client gone"),
        "{}",
        server.log.contents()
    );
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

#[test]
fn arbitrary_bytes_from_clients_never_stop_the_server() {
    // Fragments of HTTP and random bytes, mixed: every connection ends with
    // the client's end of file, and afterwards the server still answers.
    let pieces: [&[u8]; 16] = [
        b"GET / HTTP/1.1\r\n",
        b"Host: x\r\n",
        b"\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"Content-Length: 5\r\n",
        b"5\r\nhello\r\n",
        b"0\r\n\r\n",
        b"Expect: 100-continue\r\n",
        b"\n",
        b"\r",
        b"\x00",
        b"\xff",
        b"POST /x HTTP/1.0\r\n",
        b"FFFFFFFFFFFFFFFFFFFF\r\n",
        b"GET * HTTP/1.1\r\n",
        b"Connection: close, te\r\n",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let server = TestServer::start(echo, |b| b);
    for _ in 0..300 {
        let mut wire = Vec::new();
        for _ in 0..random() % 24 + 1 {
            if random() % 5 == 0 {
                wire.push(random() as u8);
            } else {
                wire.extend_from_slice(pieces[(random() % 16) as usize]);
            }
        }
        let mut stream = server.connect();
        let _ = stream.write_all(&wire);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
    let mut stream = server.connect();
    stream
        .write_all(b"GET /alive HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut BufReader::new(stream)).body,
        b"/alive 0 false|"
    );
    let log = server.stop().contents();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_response_completed_after_shutdown_began_says_connection_close() {
    // A keep-alive client whose request is in service when the server starts
    // draining must be told the connection ends with this response, and then
    // see an orderly end of file, not a reset on its next request.
    fn slow(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        thread::sleep(Duration::from_millis(400));
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from("late"))
    }
    let (calls, slow) = Calls::count(slow);
    let server = TestServer::start(slow, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    calls.wait_for(1); // the request is in service
    server.handle.shutdown();
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader);
    assert_eq!(response.body, b"late");
    assert_eq!(response.header("Connection"), Some("close"), "{response:?}");
    assert!(closed_by_server(&mut reader), "an orderly end of file");
    server.stop();
}

#[test]
fn at_shutdown_pipelined_requests_are_answered_and_only_the_last_says_close() {
    // A server that says `Connection: close` answers nothing after it, so
    // of the requests received before the drain, only the last response
    // can say it; the ones before it are answered as usual.
    fn slow(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        thread::sleep(Duration::from_millis(300));
        let path = environ.path_info().to_string();
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from(path))
    }
    let (calls, slow) = Calls::count(slow);
    let server = TestServer::start(slow, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    calls.wait_for(1); // both received (one write), one in service
    server.handle.shutdown();
    let mut reader = BufReader::new(stream);
    let first = read_response(&mut reader);
    assert_eq!(first.body, b"/one");
    assert_eq!(first.header("Connection"), None, "{first:?}");
    let second = read_response(&mut reader);
    assert_eq!(second.body, b"/two");
    assert_eq!(second.header("Connection"), Some("close"), "{second:?}");
    assert!(closed_by_server(&mut reader));
    server.stop();
}

#[test]
fn a_response_built_before_shutdown_stays_keep_alive() {
    // The other side of the rule: shutdown does not rewrite the past.
    let server = TestServer::start(hello, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader);
    assert_eq!(response.header("Connection"), None, "{response:?}");
    server.handle.shutdown();
    assert!(closed_by_server(&mut reader), "idle: closed at once");
    server.stop();
}

#[test]
fn shutdown_timeout_is_a_setting() {
    let adjustments = Adjustments::builder()
        .set("shutdown_timeout", "5")
        .expect("the key is known")
        .build()
        .unwrap();
    assert!(format!("{adjustments:?}").contains("shutdown_timeout: 5"));
    let spec = waitress::config::option("shutdown_timeout").expect("OPTIONS has it");
    assert_eq!(spec.default, "30");
    assert!(format!("{:?}", Adjustments::default()).contains("shutdown_timeout: 30"));
    let error = Adjustments::builder()
        .set("shutdown_timeout", "soon")
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value for shutdown_timeout: \"soon\" (expected a whole number)"
    );
}

#[test]
fn shutdown_timeout_cuts_off_a_slow_request() {
    // The application answers only when the gate opens, after the test.
    let gate = Gate::new();
    let held = gate.clone();
    let stuck = move |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        held.wait();
        start_response.start_response("200 OK", headers(&[]), None)?;
        Ok(Body::from("late"))
    };
    let (calls, stuck) = Calls::count(stuck);
    let mut server = TestServer::start(stuck, |b| b.set("shutdown_timeout", "1").unwrap());
    let mut client = server.connect();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    calls.wait_for(1); // the request is running
    let started = Instant::now();
    server.handle.shutdown();
    server.thread.take().unwrap().join().unwrap().unwrap();
    let took = started.elapsed();
    gate.open();
    // The time is the behaviour here: 1 s, give or take a cleanup interval;
    // the upper bound is generous, the request itself would never end.
    assert!(
        took < Duration::from_secs(5),
        "run() returned after {took:?}; the limit was 1 s"
    );
    assert!(
        took >= Duration::from_millis(900),
        "run() returned after {took:?}, before the limit of 1 s"
    );
    // The client is not left hanging: its connection is closed.
    assert!(closed_by_server(&mut client));
}
