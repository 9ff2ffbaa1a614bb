//! The exercises of chapters 5 to 8: parsing, bodies, the thread pool,
//! tasks; and `log_slow_requests`, which chapter 8 has you write.

use std::thread;
use std::time::{Duration, Instant};

use crate::support::{TIMEOUT, TestServer};
use waitress::gateway::testing::TestRequest;
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use waitress::http::parser::{Limits, RequestParser, Status};
use waitress::logging::{Level, Logger};
use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
use waitress::task::{TaskContext, TaskRequest, WsgiTask};

use super::{duration_after, hello, request_with_fields};

// ---------------------------------------------------------------------------
// The function you edit.
// ---------------------------------------------------------------------------

// ANCHOR: log_slow_requests
/// EXERCISE (chapter 8): wrap `inner` so that a request whose call (body
/// included) takes `threshold` or longer writes one line to `wsgi.errors`:
/// `slow request: GET /path took 123 ms`.
fn log_slow_requests<A: Application>(inner: A, threshold: Duration) -> impl Application {
    let _ = threshold;
    inner // TODO
}
// ANCHOR_END: log_slow_requests

// ---------------------------------------------------------------------------
// Chapter 5: Parsing HTTP by hand
// ---------------------------------------------------------------------------

// ANCHOR: ch5_obs_fold
#[test]
#[ignore = "exercise: chapter 5"]
fn ch5_obs_fold_becomes_a_space() {
    let mut parser = RequestParser::new(Limits::default());
    let wire = b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\nY: c\r\n\t\td\r\n\r\n";
    let received = parser.received(wire);
    let Status::Complete(request) = received.status else {
        panic!("refused: {:?}", received.status)
    };
    assert_eq!(request.header("X"), Some("a b"));
    assert_eq!(request.header("Y"), Some("c d"));
}
// ANCHOR_END: ch5_obs_fold

#[test]
#[ignore = "exercise: chapter 5"]
fn ch5_too_many_header_fields_are_a_431() {
    let server = TestServer::start(hello, |b| {
        b.set("max_request_header_count", "3")
            .expect("chapter 1's setting")
    });
    let three = server.exchange(&request_with_fields(3));
    assert!(three.starts_with("HTTP/1.1 200 "), "{three}");
    let four = server.exchange(&request_with_fields(4));
    assert!(four.starts_with("HTTP/1.1 431 "), "{four}");
}

#[test]
#[ignore = "exercise: chapter 5"]
fn ch5_the_default_field_count_limit_is_100() {
    let mut parser = RequestParser::new(Limits::default());
    let received = parser.received(&request_with_fields(100));
    assert!(
        matches!(received.status, Status::Complete(_)),
        "{:?}",
        received.status
    );
    let server = TestServer::start(hello, |b| b);
    let many = server.exchange(&request_with_fields(101));
    assert!(many.starts_with("HTTP/1.1 431 "), "{many}");
}

// ---------------------------------------------------------------------------
// Chapter 6: Bodies: Content-Length, chunked and spooling
// ---------------------------------------------------------------------------

/// A chunked POST of `chunks` chunks of `size` bytes, then the last chunk,
/// parsed whole; the error the parser answers with, if any.
fn parse_chunked(chunks: usize, size: usize) -> Option<String> {
    let mut wire =
        b"POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = format!("{size:x}\r\n{}\r\n", "x".repeat(size));
    for _ in 0..chunks {
        wire.extend_from_slice(chunk.as_bytes());
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let limits = Limits {
        inbuf_overflow: 1 << 20,
        ..Limits::default()
    };
    let received = RequestParser::new(limits).received(&wire);
    match received.status {
        Status::Error { error, .. } => Some(format!("{} {error}", error.status())),
        Status::Complete(request) => {
            assert_eq!(received.consumed, wire.len());
            assert_eq!(request.body.len(), (chunks * size) as u64);
            None
        }
        status => panic!("neither complete nor refused: {status:?}"),
    }
}

#[test]
#[ignore = "exercise: chapter 6"]
fn ch6_many_tiny_chunks_are_refused() {
    let error = parse_chunked(100_000, 1).expect("600 kB of framing for 100 kB of body");
    assert!(error.starts_with("400 "), "{error}");
}

#[test]
#[ignore = "exercise: chapter 6"]
fn ch6_the_framing_bound_spares_honest_clients() {
    assert_eq!(
        parse_chunked(2_000, 1_000),
        None,
        "2 MB in 1000-byte chunks"
    );
    assert_eq!(
        parse_chunked(10_000, 1),
        None,
        "10,000 tiny chunks: 50 kB of framing"
    );
    assert!(
        parse_chunked(30_000, 1).is_some(),
        "30,000 tiny chunks: 150 kB of framing"
    );
}

/// A parser (`inbuf_overflow` 512 KiB) that has read the head of a POST
/// announcing `length` bytes and the first 1000 of them.
fn parser_after_1000_bytes_of(length: usize) -> RequestParser {
    let limits = Limits {
        inbuf_overflow: 524_288,
        ..Limits::default()
    };
    let mut parser = RequestParser::new(limits);
    let mut wire = format!("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: {length}\r\n\r\n")
        .into_bytes();
    wire.extend_from_slice(&[b'x'; 1000]);
    let received = parser.received(&wire);
    assert_eq!(received.consumed, wire.len());
    assert!(
        matches!(received.status, Status::NeedMore),
        "{:?}",
        received.status
    );
    parser
}

#[test]
#[ignore = "exercise: chapter 6"]
fn ch6_a_body_announced_above_the_overflow_goes_to_a_file_at_once() {
    let mut big = parser_after_1000_bytes_of(1_000_000);
    assert_eq!(
        big.buffered_capacity(),
        0,
        "no memory for a body bound for a file"
    );
    let rest = big.received(&vec![b'y'; 999_000]);
    assert_eq!(rest.consumed, 999_000);
    let Status::Complete(request) = rest.status else {
        panic!("not complete: {:?}", rest.status)
    };
    assert!(request.body.is_file());
    assert_eq!(request.body.len(), 1_000_000);
    let mut small = parser_after_1000_bytes_of(100_000);
    assert!(
        small.buffered_capacity() >= 1000,
        "a body that fits stays in memory"
    );
    let Status::Complete(request) = small.received(&vec![b'y'; 99_000]).status else {
        panic!("not complete")
    };
    assert!(!request.body.is_file(), "a body that fits stays in memory");
}

// ---------------------------------------------------------------------------
// Chapter 7: The thread pool
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 7"]
fn ch7_stats_report_the_p99_queue_wait() {
    let pool = ThreadedTaskDispatcher::new();
    let stats = format!("{:?}", pool.stats());
    assert!(stats.contains("queue_wait_p99"), "{stats}");
    assert_eq!(
        duration_after(&stats, "queue_wait_p99"),
        Some(Duration::ZERO)
    );
    pool.shutdown(true, Duration::from_secs(1));
}

#[test]
#[ignore = "exercise: chapter 7"]
fn ch7_the_p99_sees_a_queue_behind_a_slow_task() {
    let pool = ThreadedTaskDispatcher::new();
    pool.set_thread_count(1);
    pool.add_task(Box::new(|| thread::sleep(Duration::from_millis(200))));
    for _ in 0..9 {
        pool.add_task(Box::new(|| {}));
    }
    let deadline = Instant::now() + TIMEOUT;
    while pool.stats().completed < 10 {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(5));
    }
    let stats = format!("{:?}", pool.stats());
    let p99 = duration_after(&stats, "queue_wait_p99").expect("a queue_wait_p99 field");
    // 9 of 10 tasks waited about 200 ms behind the first one.
    assert!(p99 >= Duration::from_millis(150), "{stats}");
    assert!(p99 < Duration::from_secs(2), "{stats}");
    pool.shutdown(true, Duration::from_secs(1));
}

#[test]
#[ignore = "exercise: chapter 7"]
fn ch7_shutdown_names_the_stuck_threads() {
    let (logger, log) = Logger::memory(Level::Info);
    let pool = ThreadedTaskDispatcher::builder()
        .logger(logger)
        .thread_name_prefix("app")
        .build();
    pool.set_thread_count(3);
    let (started, running_on) = std::sync::mpsc::channel();
    pool.add_task(Box::new(move || {
        let name = thread::current().name().unwrap_or("?").to_string();
        started.send(name).unwrap();
        thread::sleep(Duration::from_millis(800));
    }));
    let stuck = running_on.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(pool.shutdown(true, Duration::from_millis(50)), 1);
    let log = log.contents();
    let line = log
        .lines()
        .find(|line| line.contains("still running"))
        .unwrap_or_else(|| panic!("no warning in {log:?}"));
    assert!(line.contains(&stuck), "{line:?} does not name {stuck}");
    let idle = ["app-0", "app-1", "app-2"]
        .into_iter()
        .filter(|name| *name != stuck);
    for name in idle {
        assert!(!line.contains(name), "{line:?} names the idle {name}");
    }
}

// ---------------------------------------------------------------------------
// Chapter 8: Tasks and response framing
// ---------------------------------------------------------------------------

fn slow_app(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    thread::sleep(Duration::from_millis(30));
    start_response.start_response("200 OK", headers(&[]), None)?;
    Ok(Body::from("done"))
}

#[test]
#[ignore = "exercise: chapter 8"]
fn ch8_a_slow_request_is_logged() {
    let app = log_slow_requests(slow_app, Duration::from_millis(10));
    let response = TestRequest::get("/reports/2024").call(&app).unwrap();
    assert_eq!(response.text(), "done");
    let log = response.errors.contents();
    assert!(
        log.contains("slow request: GET /reports/2024 took "),
        "{log:?}"
    );
    assert!(log.contains(" ms"), "{log:?}");
}

#[test]
#[ignore = "exercise: chapter 8"]
fn ch8_only_slow_requests_are_logged() {
    let app = log_slow_requests(slow_app, Duration::from_millis(10));
    let fast = log_slow_requests(hello, Duration::from_secs(5));
    let quiet = TestRequest::get("/").call(&fast).unwrap();
    assert_eq!(quiet.errors.contents(), "");
    let loud = TestRequest::post("/upload", "x").call(&app).unwrap();
    assert!(
        loud.errors
            .contents()
            .contains("slow request: POST /upload")
    );
}

/// The response a `WsgiTask` writes for `GET /` in HTTP/1.1 with a body of
/// `chunks` chunks of `size` bytes, of unknown length.
fn generated_response(chunks: usize, size: usize) -> String {
    let app = move |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", headers(&[]), None)?;
        Ok(Body::from_chunks(vec![vec![b'x'; size]; chunks]))
    };
    let (logger, _log) = Logger::memory(Level::Debug);
    let context = TaskContext {
        logger,
        ..TaskContext::default()
    };
    let mut output = Vec::new();
    let outcome = WsgiTask::new(&app, TaskRequest::get("/"), &context).service(&mut output);
    assert!(!outcome.close, "the connection stays open either way");
    String::from_utf8_lossy(&output).into_owned()
}

#[test]
#[ignore = "exercise: chapter 8"]
fn ch8_a_small_generated_body_gets_a_content_length() {
    let small = generated_response(3, 1000);
    let head = small.split("\r\n\r\n").next().unwrap();
    assert!(head.contains("\r\nContent-Length: 3000"), "{head}");
    assert!(!head.contains("Transfer-Encoding"), "{head}");
    assert!(small.ends_with(&"x".repeat(3000)));
}

#[test]
#[ignore = "exercise: chapter 8"]
fn ch8_a_large_generated_body_is_still_chunked() {
    let large = generated_response(3, 3000); // 9,000 bytes: above 8 KiB
    let head = large.split("\r\n\r\n").next().unwrap();
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    let small = generated_response(2, 4096); // exactly 8 KiB
    assert!(
        small.contains("\r\nContent-Length: 8192\r\n"),
        "{small:.200}"
    );
}
