//! Hostile clients and faults must not stop the server from serving
//! everyone else: heads trickled byte by byte, more clients than the
//! connection limit, clients that never read, applications that panic in
//! the middle of a body, running out of file descriptors. Every test is
//! bounded by socket timeouts and stops its server.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{
    Calls, TIMEOUT, TestServer, WaitressServe, closed_by_server, get, process_cpu_ticks,
    read_response, wait_until,
};
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};

fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from("Hello, world!"))
}

/// Sends `head` then one byte every `every` until the server closes the
/// connection or `limit` passes, from a thread of its own.
fn trickle(mut stream: TcpStream, head: &'static [u8], every: Duration, limit: Duration) {
    thread::spawn(move || {
        let started = Instant::now();
        if stream.write_all(head).is_err() {
            return;
        }
        while started.elapsed() < limit {
            thread::sleep(every);
            if stream.write_all(b"b").is_err() {
                return;
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Slowloris: request_header_timeout and the connection limit
// ---------------------------------------------------------------------------

#[test]
fn a_head_that_trickles_in_for_longer_than_request_header_timeout_gets_408() {
    let server = TestServer::start(hello, |b| b.set("request_header_timeout", "1").unwrap());
    let stream = server.connect();
    let reader = stream.try_clone().unwrap();
    // A byte every 100 ms keeps the connection active: the idle timeout
    // (channel_timeout, 120 s) never fires, only the head's deadline.
    let started = Instant::now();
    trickle(
        stream,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        Duration::from_millis(100),
        Duration::from_secs(8),
    );
    let response = read_response(&mut BufReader::new(reader));
    assert_eq!(response.status, 408);
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the deadline counts from the head's first byte"
    );
}

#[test]
fn the_408_for_a_head_request_has_no_body() {
    // RFC 9110 §9.3.2: no content in response to HEAD, a 408 included.
    let server = TestServer::start(hello, |b| b.set("request_header_timeout", "1").unwrap());
    let stream = server.connect();
    let mut reader = stream.try_clone().unwrap();
    trickle(
        stream,
        b"HEAD / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        Duration::from_millis(100),
        Duration::from_secs(8),
    );
    let mut raw = Vec::new();
    let _ = reader.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "headers only: {text}");
    assert!(!text.contains("Content-Length: 0\r\n"), "{text}");
}

#[test]
fn a_complete_head_followed_by_a_slow_body_is_not_cut_by_the_header_timeout() {
    fn echo_length(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let mut body = Vec::new();
        environ.input().read_to_end(&mut body)?;
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from(body.len().to_string()))
    }
    let server = TestServer::start(echo_length, |b| {
        b.set("request_header_timeout", "1").unwrap()
    });
    let mut stream = server.connect();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n")
        .unwrap();
    for _ in 0..15 {
        thread::sleep(Duration::from_millis(100)); // 1.5 s in all
        stream.write_all(b"b").unwrap();
    }
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"15");
}

#[test]
fn at_the_connection_limit_a_new_client_replaces_the_connection_waiting_longest() {
    let server = TestServer::start(hello, |b| b.connection_limit(2));
    // The first client is answered and stays, idle, on keep-alive.
    let mut idle = server.connect();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut idle_reader = BufReader::new(idle.try_clone().unwrap());
    assert_eq!(read_response(&mut idle_reader).status, 200);
    // The second is sending its head.
    let mut slow = server.connect();
    slow.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    thread::sleep(Duration::from_millis(100));

    // A third client is served at once, and the idle connection made room.
    let response = get(&server, "/");
    assert_eq!(response.status, 200);
    assert!(
        closed_by_server(&mut idle_reader),
        "the idle connection closed"
    );

    // The head in progress was kept: it completes and is answered.
    slow.write_all(b"Host: x\r\n\r\n").unwrap();
    let mut slow_reader = BufReader::new(slow.try_clone().unwrap());
    assert_eq!(read_response(&mut slow_reader).status, 200);

    // With a head in progress as the oldest, it is told 408.
    let mut slower = server.connect();
    slower.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    thread::sleep(Duration::from_millis(100));
    let mut slower_reader = BufReader::new(slower.try_clone().unwrap());
    assert_eq!(get(&server, "/").status, 200); // `slow` (idle again) made room
    assert!(closed_by_server(&mut slow_reader));
    let mut kept = server.connect(); // keep-alive: it stays open
    kept.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut kept_reader = BufReader::new(kept.try_clone().unwrap());
    assert_eq!(read_response(&mut kept_reader).status, 200);
    assert_eq!(get(&server, "/").status, 200); // `slower` made room
    assert_eq!(read_response(&mut slower_reader).status, 408);

    let log = server.stop().contents();
    assert!(log.contains("reached the connection limit"), "{log}");
}

#[test]
fn at_the_connection_limit_a_request_in_service_is_never_closed_and_new_clients_wait() {
    fn slow(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        thread::sleep(Duration::from_millis(600));
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from("slow"))
    }
    let (calls, slow) = Calls::count(slow);
    let server = TestServer::start(slow, |b| b.connection_limit(1));
    let mut busy = server.connect();
    busy.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    calls.wait_for(1); // in service
    let waiting = server.connect();
    let (done, answered) = mpsc::channel();
    let mut waiting_writer = waiting.try_clone().unwrap();
    thread::spawn(move || {
        waiting_writer
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let response = read_response(&mut BufReader::new(waiting));
        done.send((response.status, Instant::now())).unwrap();
    });
    let response = read_response(&mut BufReader::new(busy));
    let busy_answered = Instant::now();
    assert_eq!(response.status, 200);
    let (status, at) = answered.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(status, 200);
    assert!(
        at > busy_answered,
        "the new client waited for the one in service"
    );
}

#[test]
fn many_trickling_heads_do_not_lock_out_a_normal_client() {
    let server = TestServer::start(hello, |b| b.connection_limit(10));
    for _ in 0..30 {
        trickle(
            server.connect(),
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            Duration::from_millis(500),
            Duration::from_secs(30),
        );
    }
    wait_until("every slot is taken", || {
        server
            .log
            .contents()
            .contains("reached the connection limit")
    });
    // A client locked out would wait for a trickler to give up (30 s);
    // taking the place of one, it is answered at once. 5 s is generous.
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(get(&server, "/").status, 200);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

// ---------------------------------------------------------------------------
// Out of file descriptors
// ---------------------------------------------------------------------------

#[test]
fn out_of_file_descriptors_the_server_rests_instead_of_spinning_and_recovers() {
    use std::process::Command;

    // waitress-serve with 32 descriptors: room for about 25 connections.
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"ulimit -n 32 && exec "$0" "$@""#)
        .arg(support::child::BINARY)
        .args(["--listen=127.0.0.1:0", "--connection-limit=1000", "hello"]);
    let server = WaitressServe::spawn(command);
    let (pid, address) = (server.child.id(), server.address);

    let extra: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(address).unwrap())
        .collect();
    server.wait_for_stderr("accept() failed"); // out of descriptors
    let (ticks, lines) = (process_cpu_ticks(pid), server.stderr_lines());
    // CPU time is what is measured, over a window of 2 s: a sleep is the
    // tool here. A loaded machine makes the server use less, not more.
    thread::sleep(Duration::from_secs(2));
    let busy_ticks = process_cpu_ticks(pid) - ticks; // 200 ticks would be a core
    let new_lines = server.stderr_lines() - lines;
    assert!(busy_ticks < 20, "{busy_ticks} ticks of CPU in 2 s");
    assert!(new_lines < 5, "{new_lines} log lines in 2 s");

    drop(extra);
    // The listeners rest at most 1 s between attempts: 5 s is generous.
    let started = Instant::now();
    let mut stream = support::connect(address);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(stream)).status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    let log = server.stderr();
    assert!(log.contains("accept() failed"), "{log}");
    assert!(log.len() < 2000, "{log}");
}

// ---------------------------------------------------------------------------
// A panic anywhere in the application's body
// ---------------------------------------------------------------------------

/// A body whose `Drop` (PEP 3333's `close()`) panics after its chunks.
struct PanicOnClose(Vec<Vec<u8>>);

impl Iterator for PanicOnClose {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        if self.0.is_empty() {
            None
        } else {
            Some(self.0.remove(0))
        }
    }
}

impl Drop for PanicOnClose {
    fn drop(&mut self) {
        panic!("close() failed");
    }
}

/// `/length`: a known length; `/chunked`: chunked; `/nothing`: no bytes
/// at all, so the panic comes before the head; anything else: hello.
fn closes_badly(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let body = || PanicOnClose(vec![b"Hello, ".to_vec(), b"world!".to_vec()]);
    match environ.path_info() {
        "/length" => {
            start_response.start_response("200 OK", headers(&[("Content-Length", "13")]), None)?;
            Ok(Body::from_chunks(body()))
        }
        "/chunked" => {
            start_response.start_response("200 OK", vec![], None)?;
            Ok(Body::from_chunks(body()))
        }
        "/nothing" => {
            start_response.start_response("200 OK", vec![], None)?;
            Ok(Body::from_chunks(PanicOnClose(Vec::new())))
        }
        _ => hello(environ, start_response),
    }
}

/// Sends a request for `path` with a second one pipelined behind it, and
/// returns everything the server sent until it closed.
fn pipelined_behind(server: &TestServer, path: &str) -> String {
    let mut stream = server.connect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut received = Vec::new();
    // Ends with EOF: a read timeout (10 s) would fail the test.
    stream.read_to_end(&mut received).unwrap();
    String::from_utf8_lossy(&received).into_owned()
}

#[test]
fn a_panic_in_close_after_a_body_of_known_length_closes_the_connection() {
    let server = TestServer::start(closes_badly, |b| b);
    let received = pipelined_behind(&server, "/length");
    assert!(received.starts_with("HTTP/1.1 200 OK\r\n"), "{received}");
    assert!(received.ends_with("\r\n\r\nHello, world!"), "{received}");
    assert_eq!(received.matches("HTTP/1.1").count(), 1, "{received}");
    assert_eq!(get(&server, "/").status, 200, "the worker lives");
    // Nothing is left in flight: were the request still counted, the drain
    // would wait for shutdown_timeout (30 s) and `stop` fail after 10 s.
    let log = server.stop().contents();
    assert!(
        log.contains("panicked while closing its body: close() failed"),
        "{log}"
    );
}

#[test]
fn a_panic_in_close_after_a_chunked_body_leaves_it_unterminated_and_closes() {
    let server = TestServer::start(closes_badly, |b| b);
    let received = pipelined_behind(&server, "/chunked");
    assert!(
        received.contains("Transfer-Encoding: chunked"),
        "{received}"
    );
    assert!(
        received.ends_with("7\r\nHello, \r\n6\r\nworld!\r\n"),
        "{received}"
    );
    assert!(!received.contains("0\r\n\r\n"), "no last chunk: {received}");
    assert_eq!(get(&server, "/").status, 200);
    // As above: `stop` fails after 10 s, the drain would wait 30 s.
    drop(server.stop());
}

#[test]
fn a_panic_in_close_before_any_byte_is_sent_is_a_500() {
    let server = TestServer::start(closes_badly, |b| b);
    let received = pipelined_behind(&server, "/nothing");
    assert!(received.starts_with("HTTP/1.1 500 "), "{received}");
    assert_eq!(received.matches("HTTP/1.1").count(), 1, "{received}");
    assert_eq!(get(&server, "/").status, 200);
}

#[test]
fn a_panic_in_a_file_body_read_by_the_io_thread_closes_only_that_connection() {
    struct PanickyFile(usize);
    impl Read for PanickyFile {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0 += 1;
            if self.0 > 2 {
                panic!("the disk is gone");
            }
            buf[..4].copy_from_slice(b"data");
            Ok(4)
        }
    }
    impl std::io::Seek for PanickyFile {
        fn seek(&mut self, position: std::io::SeekFrom) -> std::io::Result<u64> {
            Ok(match position {
                std::io::SeekFrom::End(_) => 1 << 20,
                _ => 0,
            })
        }
    }
    fn app(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        if environ.path_info() == "/file" {
            start_response.start_response("200 OK", vec![], None)?;
            return Ok(Body::file(PanickyFile(0), 4));
        }
        hello(environ, start_response)
    }
    let server = TestServer::start(app, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received); // EOF or reset: it ends
    assert!(received.len() < 1 << 20);
    for _ in 0..3 {
        assert_eq!(get(&server, "/").status, 200, "the I/O thread lives");
    }
}

// ---------------------------------------------------------------------------
// Clients that never read
// ---------------------------------------------------------------------------

const BIG: usize = 8 << 20;

/// `/big`: 8 MiB in 16 KiB chunks, each byte its offset mod 251, and a
/// flag set when the body is closed; anything else: hello.
fn big(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    if environ.path_info() != "/big" {
        return hello(environ, start_response);
    }
    start_response.start_response(
        "200 OK",
        headers(&[("Content-Length", &BIG.to_string())]),
        None,
    )?;
    let chunks = (0..BIG / 16384).map(|i| {
        (0..16384)
            .map(|j| ((i * 16384 + j) % 251) as u8)
            .collect::<Vec<u8>>()
    });
    Ok(Body::from_chunks(chunks))
}

/// Connects, asks for `/big`, and never reads.
fn never_reads(server: &TestServer) -> TcpStream {
    let mut stream = server.connect();
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    stream
}

#[test]
fn clients_that_never_read_do_not_hold_the_workers() {
    let (calls, big) = Calls::count(big);
    let server = TestServer::start(big, |b| {
        b.threads(2).set("outbuf_high_watermark", "65536").unwrap()
    });
    let stalled: Vec<TcpStream> = (0..8).map(|_| never_reads(&server)).collect();
    // All 8 reach the 2 workers, so none can be holding one.
    calls.wait_for(8);
    // Were the workers held, these would never be answered: the read
    // timeout (10 s) would fail the test.
    for _ in 0..5 {
        assert_eq!(get(&server, "/").status, 200);
    }
    drop(stalled);
}

#[test]
fn a_paused_response_resumes_when_its_client_reads_and_is_sent_whole_and_in_order() {
    let (calls, big) = Calls::count(big);
    let server = TestServer::start(big, |b| {
        b.threads(1).set("outbuf_high_watermark", "65536").unwrap()
    });
    let mut stream = never_reads(&server);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    calls.wait_for(1); // the one worker has taken /big, which will pause
    assert_eq!(get(&server, "/").status, 200, "the one worker is free");
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader);
    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), BIG);
    let wrong = (0..BIG).find(|&i| response.body[i] != (i % 251) as u8);
    assert_eq!(wrong, None, "the body is intact");
    let second = read_response(&mut reader);
    assert_eq!(
        second.body, b"Hello, world!",
        "the pipelined one comes after"
    );
}

#[test]
fn a_client_that_stops_reading_is_closed_after_channel_timeout_and_its_body_closed() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    static CLOSED: AtomicBool = AtomicBool::new(false);
    struct Endless;
    impl Iterator for Endless {
        type Item = Vec<u8>;
        fn next(&mut self) -> Option<Vec<u8>> {
            Some(vec![b'x'; 16384])
        }
    }
    impl Drop for Endless {
        fn drop(&mut self) {
            CLOSED.store(true, Ordering::SeqCst);
        }
    }
    fn app(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from_chunks(Endless))
    }
    let server = Arc::new(TestServer::start(app, |b| {
        b.channel_timeout(1)
            .cleanup_interval(1)
            .set("outbuf_high_watermark", "65536")
            .unwrap()
    }));
    let mut stream = never_reads(&server);
    let started = Instant::now();
    while !CLOSED.load(Ordering::SeqCst) {
        assert!(started.elapsed() < TIMEOUT, "the body was never closed");
        thread::sleep(Duration::from_millis(20));
    }
    assert!(started.elapsed() >= Duration::from_millis(900));
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink); // it ends: EOF or reset
}

#[test]
fn a_worker_blocked_in_write_is_freed_when_its_client_is_timed_out() {
    fn writes(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        if environ.path_info() != "/big" {
            return hello(environ, start_response);
        }
        start_response.start_response("200 OK", vec![], None)?;
        for _ in 0..4096 {
            start_response.write(&[b'x'; 16384])?; // PEP 3333's write(): blocks
        }
        Ok(Body::empty())
    }
    let (calls, writes) = Calls::count(writes);
    let server = TestServer::start(writes, |b| {
        b.threads(1)
            .channel_timeout(1)
            .cleanup_interval(1)
            .set("outbuf_high_watermark", "65536")
            .unwrap()
    });
    let _stalled = never_reads(&server);
    calls.wait_for(1); // the one worker is in the application, soon in write()
    // The client is timed out after 1 to 2 s (channel_timeout, checked every
    // cleanup_interval); a worker never freed would leave this request
    // unanswered, and the read timeout (10 s) would fail the test.
    assert_eq!(get(&server, "/").status, 200);
}
