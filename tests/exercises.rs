//! The book's exercises, checked. Each test fails until the reader has done
//! the exercise it names, so every one is `#[ignore]`d and the ordinary
//! `cargo test` stays green. Run one chapter's with
//!
//! ```text
//! cargo test --test exercises -- --ignored ch5_
//! ```
//!
//! Chapters are numbered as in the book's table of contents (chapter 5 is
//! "Parsing HTTP by hand"). The tests use only what exists today, so that
//! this file compiles before any exercise is done: a new setting is reached
//! through `Adjustments::builder().set("name", "value")`, a new statistic
//! through the `Debug` text of the stats, and a new middleware through the
//! functions marked `EXERCISE` below, which you edit in place.
//! Solutions: the book's "Solutions" appendix.

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{Calls, Gate, TIMEOUT, TestServer};

use waitress::apps::StaticFiles;
use waitress::apps::access_log::{AccessLog, LogFormat};
use waitress::apps::proxy_headers::ProxyHeaders;
use waitress::config::{self, Adjustments};
use waitress::gateway::testing::TestRequest;
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use waitress::http::buffers::OverflowableBuffer;
use waitress::http::parser::{Limits, RequestParser, Status};
use waitress::http::receiver::{ChunkedReceiver, FixedStreamReceiver};
use waitress::logging::{Level, Logger, MemoryLog};
use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
use waitress::server::Signal;
use waitress::task::{TaskContext, TaskRequest, WsgiTask};

// ---------------------------------------------------------------------------
// The functions you edit.
// ---------------------------------------------------------------------------

// ANCHOR: healthz
/// EXERCISE (chapter 9): wrap `inner` so that `GET /healthz` is answered
/// here with `200 OK`, `Content-Type: text/plain` and the body `ok`, and
/// every other request goes to `inner` unchanged.
fn healthz<A: Application>(inner: A) -> impl Application {
    inner // TODO
}
// ANCHOR_END: healthz

// ANCHOR: server_timing
/// EXERCISE (chapter 9): wrap `inner` so that its response carries
/// `Server-Timing: app;dur=MS`: the milliseconds, with decimals, from the
/// call to the moment the application calls `start_response`.
fn server_timing<A: Application>(inner: A) -> impl Application {
    inner // TODO
}
// ANCHOR_END: server_timing

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
// Helpers. The server tests use `TestServer` from `tests/support/`: a server
// on 127.0.0.1 on its own thread, logging to memory (`server.log`), stopped
// when dropped; `server.exchange(request)` sends a request on a new
// connection and returns the response.
// ---------------------------------------------------------------------------

fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from("hello"))
}

fn not_found(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("404 Not Found", headers(&[]), None)?;
    Ok(Body::from("nothing here"))
}

/// A request with `count` header fields (`Host` and `X-N: n`).
fn request_with_fields(count: usize) -> Vec<u8> {
    let mut request = String::from("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n");
    for n in 2..count {
        request.push_str(&format!("X-{n}: {n}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// A fresh directory under the temp dir holding `hello.txt`.
fn static_root(name: &str) -> PathBuf {
    let root =
        std::env::temp_dir().join(format!("waitress-exercise-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("hello.txt"), "Hello, file!").unwrap();
    root
}

/// Reads a `Duration`'s `Debug` text (`1.5ms`, `250µs`, `2s`) after `key: `
/// in `text`; `Some(..)` around it is accepted.
fn duration_after(text: &str, key: &str) -> Option<Duration> {
    let start = text.find(&format!("{key}: "))? + key.len() + 2;
    let rest = text[start..].trim_start_matches("Some(");
    let end = rest.find([',', ')', ' ', '}'])?;
    let value = &rest[..end];
    let digits = value.trim_end_matches(|c: char| c.is_alphabetic() || c == 'µ');
    let unit = &value[digits.len()..];
    let number: f64 = digits.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "ms" => number / 1e3,
        "µs" | "us" => number / 1e6,
        "ns" => number / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

#[test]
fn the_duration_reader_reads_debug_text() {
    let text = format!(
        "S {{ a: 1, queue_wait_p99: {:?}, b: 2 }}",
        Duration::from_millis(120)
    );
    assert_eq!(
        duration_after(&text, "queue_wait_p99"),
        Some(Duration::from_millis(120))
    );
    let text = format!("S {{ x: {:?} }}", Some(Duration::from_micros(250)));
    assert_eq!(duration_after(&text, "x"), Some(Duration::from_micros(250)));
    assert_eq!(duration_after("S { y: 3 }", "x"), None);
}

// ---------------------------------------------------------------------------
// Chapter 1: Configuration: Adjustments
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 1"]
fn ch1_max_request_header_count_is_a_setting() {
    let spec =
        config::option("max_request_header_count").expect("OPTIONS has max_request_header_count");
    assert_eq!(spec.default, "100");
    assert_eq!(spec.flag(), "--max-request-header-count");
    Adjustments::builder()
        .set("max_request_header_count", "3")
        .expect("the key is known")
        .build()
        .expect("3 is a valid count");
}

#[test]
#[ignore = "exercise: chapter 1"]
fn ch1_max_request_header_count_must_be_at_least_one() {
    let builder = Adjustments::builder()
        .set("max_request_header_count", "0")
        .expect("the key is known");
    let error = builder.build().expect_err("0 fields is refused");
    assert!(
        error.to_string().contains("max_request_header_count"),
        "the error names the setting: {error}"
    );
    let help = waitress::cli::help_text();
    assert!(help.contains("--max-request-header-count"), "{help}");
}

#[test]
#[ignore = "exercise: chapter 1"]
fn ch1_byte_sizes_accept_units() {
    let adjustments = Adjustments::builder()
        .set("max_request_body_size", "2G")
        .unwrap()
        .set("inbuf_overflow", "512K")
        .unwrap()
        .set("outbuf_high_watermark", "16m")
        .unwrap()
        .build()
        .expect("K, M and G are accepted for byte sizes");
    assert_eq!(adjustments.max_request_body_size, 2 << 30);
    assert_eq!(adjustments.inbuf_overflow, 512 << 10);
    assert_eq!(adjustments.outbuf_high_watermark, 16 << 20);
    for (key, value) in [
        ("threads", "4K"),
        ("max_request_body_size", "1.5M"),
        ("max_request_body_size", "10MB"),
        ("max_request_body_size", "M"),
        ("max_request_body_size", "99999999999G"),
    ] {
        let built = Adjustments::builder().set(key, value).unwrap().build();
        assert!(built.is_err(), "{key} = {value} was accepted");
    }
}

// ---------------------------------------------------------------------------
// Chapter 2: The poll loop
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 2"]
fn ch2_sighup_is_a_signal() {
    let hangup = Signal::from_number(1).expect("SIGHUP is one of ours");
    assert_eq!(hangup.number(), 1);
    assert_eq!(hangup.name(), "SIGHUP");
    assert_eq!(hangup.to_string(), "SIGHUP");
}

#[test]
#[ignore = "exercise: chapter 2"]
fn ch2_sigusr1_has_a_number_per_platform() {
    // SIGUSR1 is 10 on Linux and 30 on macOS and the BSDs.
    let number = if cfg!(target_os = "linux") { 10 } else { 30 };
    let user = Signal::from_number(number).expect("SIGUSR1 is one of ours");
    assert_eq!(user.number(), number);
    assert_eq!(user.name(), "SIGUSR1");
}

// ---------------------------------------------------------------------------
// Chapter 3: The server: listeners, limits, shutdown
// ---------------------------------------------------------------------------

/// Answers `/slow/MS` after sleeping MS milliseconds, anything else at once.
fn sleeps_on_request(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    if let Some(ms) = environ.path_info().strip_prefix("/slow/") {
        thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
    }
    start_response.start_response("200 OK", headers(&[]), None)?;
    Ok(Body::from("done"))
}

#[test]
#[ignore = "exercise: chapter 3"]
fn ch3_shutdown_reports_idle_and_busy_connections() {
    let (calls, app) = Calls::count(sleeps_on_request);
    let server = TestServer::start(app, |b| b);
    // Two keep-alive connections, each answered once and now idle.
    let mut idle: Vec<TcpStream> = (0..2).map(|_| server.connect()).collect();
    for stream in &mut idle {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap();
        let mut answer = [0u8; 1024];
        let read = stream.read(&mut answer).unwrap();
        assert!(answer[..read].ends_with(b"done"));
    }
    // One with a request in service.
    let mut busy = server.connect();
    busy.write_all(b"GET /slow/500 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    calls.wait_for(3); // the third request is in service
    let log = server.stop().contents();
    assert!(
        log.contains(
            "INFO [waitress] Shutting down: closed 2 idle connection(s), finishing 1 in flight"
        ),
        "{log}"
    );
    assert!(
        !log.contains("Shutdown timeout"),
        "the drain finished: {log}"
    );
}

#[test]
#[ignore = "exercise: chapter 3"]
fn ch3_a_drain_cut_short_says_what_it_abandoned() {
    let (calls, app) = Calls::count(sleeps_on_request);
    let server = TestServer::start(app, |b| b.set("shutdown_timeout", "1").unwrap());
    let mut busy = server.connect();
    busy.write_all(b"GET /slow/3000 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    calls.wait_for(1); // the request is in service
    let log = server.stop().contents();
    assert!(
        log.contains(
            "INFO [waitress] Shutting down: closed 0 idle connection(s), finishing 1 in flight"
        ),
        "{log}"
    );
    assert!(
        log.contains("WARNING [waitress] Shutdown timeout (1 s) reached: closing 1 connection(s) with requests in flight"),
        "{log}"
    );
}

#[test]
#[ignore = "exercise: chapter 3"]
fn ch3_over_the_connection_limit_a_503_comes_at_once() {
    // The one slot is held by a request that is answered only when the test
    // opens the gate: "at once" means while that request is still in service.
    let gate = Gate::new();
    let held = gate.clone();
    let slow = move |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        held.wait();
        start_response.start_response("200 OK", headers(&[]), None)?;
        Ok(Body::from("ok"))
    };
    let (calls, slow) = Calls::count(slow);
    let server = TestServer::start(slow, |b| {
        b.connection_limit(1)
            .set("refuse_over_limit", "true")
            .unwrap()
    });
    let mut first = server.connect();
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    calls.wait_for(1); // the first request holds the only slot
    let second = server.exchange(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    gate.open(); // only now can the slot free up
    assert!(second.starts_with("HTTP/1.1 503 "), "{second}");
    assert!(second.contains("Retry-After: "), "{second}");
}

// ---------------------------------------------------------------------------
// Chapter 4: Channels
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 4"]
fn ch4_the_parser_gives_back_a_long_lines_memory() {
    let mut parser = RequestParser::new(Limits::default());
    let mut data = b"GET / HTTP/1.1\r\nHost: h\r\nX-Long: ".to_vec();
    parser.received(&data);
    data = vec![b'a'; 100_000];
    for piece in data.chunks(1000) {
        parser.received(piece);
    }
    // The long line ends; a short one starts and waits for more.
    parser.received(b"\r\nX-Short: b");
    let capacity = parser.buffered_capacity();
    assert!(
        capacity < 4096,
        "an idle connection holds {capacity} bytes for a 10-byte partial line"
    );
}

#[test]
#[ignore = "exercise: chapter 4"]
fn ch4_a_pipelining_client_does_not_starve_another() {
    // One worker, 100 ms a request; the paths served, in order.
    let served = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = Arc::clone(&served);
    let slow = move |environ: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        record.lock().unwrap().push(environ.path_info().to_string());
        thread::sleep(Duration::from_millis(100));
        start_response.start_response("200 OK", headers(&[]), None)?;
        Ok(Body::from("ok"))
    };
    let server = TestServer::start(slow, |b| b.threads(1).channel_request_lookahead(20));
    let mut greedy = server.connect();
    let pipeline = b"GET /greedy HTTP/1.1\r\nHost: h\r\n\r\n".repeat(20);
    greedy.write_all(&pipeline).unwrap();
    support::wait_until("the greedy channel is in service", || {
        !served.lock().unwrap().is_empty()
    });
    let answer = server.exchange(b"GET /other HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    // Taking turns, the other client comes second or third; without, 21st.
    let served = served.lock().unwrap();
    let ahead = served.iter().take_while(|path| *path == "/greedy").count();
    assert!(
        ahead <= 5,
        "the second client was served after {ahead} of 20 pipelined requests"
    );
}

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

/// Feeds `chunks` chunks of `size` bytes, then the last chunk; the error, if any.
fn feed_chunked(chunks: usize, size: usize) -> Option<String> {
    let mut receiver = ChunkedReceiver::new(OverflowableBuffer::new(1 << 20), &Limits::default());
    let chunk = format!("{size:x}\r\n{}\r\n", "x".repeat(size));
    for _ in 0..chunks {
        if let Err(error) = receiver.received(chunk.as_bytes()) {
            return Some(format!("{} {error}", error.status()));
        }
    }
    match receiver.received(b"0\r\n\r\n") {
        Err(error) => Some(format!("{} {error}", error.status())),
        Ok(_) => {
            assert!(receiver.is_complete());
            None
        }
    }
}

#[test]
#[ignore = "exercise: chapter 6"]
fn ch6_many_tiny_chunks_are_refused() {
    let error = feed_chunked(100_000, 1).expect("600 kB of framing for 100 kB of body");
    assert!(error.starts_with("400 "), "{error}");
}

#[test]
#[ignore = "exercise: chapter 6"]
fn ch6_the_framing_bound_spares_honest_clients() {
    assert_eq!(feed_chunked(2_000, 1_000), None, "2 MB in 1000-byte chunks");
    assert_eq!(
        feed_chunked(10_000, 1),
        None,
        "10,000 tiny chunks: 50 kB of framing"
    );
    assert!(
        feed_chunked(30_000, 1).is_some(),
        "30,000 tiny chunks: 150 kB of framing"
    );
}

#[test]
#[ignore = "exercise: chapter 6"]
fn ch6_a_body_announced_above_the_overflow_goes_to_a_file_at_once() {
    let mut big = FixedStreamReceiver::new(1_000_000, OverflowableBuffer::new(524_288));
    assert_eq!(big.received(&[b'x'; 1000]).unwrap(), 1000);
    assert_eq!(
        big.buffered_capacity(),
        0,
        "no memory for a body bound for a file"
    );
    assert_eq!(big.received(&vec![b'y'; 999_000]).unwrap(), 999_000);
    let input = big.into_input().unwrap();
    assert!(input.is_file());
    assert_eq!(input.len(), 1_000_000);
    let mut small = FixedStreamReceiver::new(100_000, OverflowableBuffer::new(524_288));
    small.received(&[b'x'; 1000]).unwrap();
    assert!(
        small.buffered_capacity() >= 1000,
        "a body that fits stays in memory"
    );
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

// ---------------------------------------------------------------------------
// Chapter 9: The gateway interface
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 9"]
fn ch9_healthz_answers_ok() {
    let app = healthz(not_found);
    let response = TestRequest::get("/healthz").call(&app).unwrap();
    assert_eq!(response.status, "200 OK");
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.text(), "ok");
}

#[test]
#[ignore = "exercise: chapter 9"]
fn ch9_healthz_passes_everything_else_through() {
    let app = healthz(not_found);
    for request in [
        TestRequest::get("/"),
        TestRequest::get("/healthz/more"),
        TestRequest::post("/healthz", "x"),
    ] {
        let response = request.call(&app).unwrap();
        assert_eq!(response.status_code(), 404);
        assert_eq!(response.text(), "nothing here");
    }
    assert_eq!(
        TestRequest::get("/healthz")
            .call(&app)
            .unwrap()
            .status_code(),
        200
    );
}

fn typed_after_a_while(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    thread::sleep(Duration::from_millis(30));
    start_response.start_response(
        "201 Created",
        headers(&[("Content-Type", "text/csv")]),
        None,
    )?;
    Ok(Body::from("a,b\n"))
}

#[test]
#[ignore = "exercise: chapter 9"]
fn ch9_server_timing_measures_the_application() {
    let app = server_timing(typed_after_a_while);
    let response = TestRequest::get("/report.csv").call(&app).unwrap();
    let timing = response
        .header("Server-Timing")
        .expect("a Server-Timing header");
    let millis: f64 = timing
        .strip_prefix("app;dur=")
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("not app;dur=MS: {timing:?}"));
    assert!((25.0..5000.0).contains(&millis), "{timing}");
}

#[test]
#[ignore = "exercise: chapter 9"]
fn ch9_server_timing_keeps_the_response() {
    let app = server_timing(typed_after_a_while);
    let response = TestRequest::get("/").call(&app).unwrap();
    assert_eq!(response.status, "201 Created");
    assert_eq!(response.header("Content-Type"), Some("text/csv"));
    assert_eq!(response.text(), "a,b\n");
    assert_eq!(response.headers.len(), 2, "{:?}", response.headers);
}

// ---------------------------------------------------------------------------
// Chapter 10: Configuration and waitress-serve
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 10"]
fn ch10_static_files_send_an_etag() {
    let root = static_root("etag");
    let app = StaticFiles::new(&root).unwrap();
    let response = TestRequest::get("/hello.txt").call(&app).unwrap();
    let etag = response.header("ETag").expect("an ETag").to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let again = TestRequest::get("/hello.txt").call(&app).unwrap();
    assert_eq!(again.header("ETag"), Some(etag.as_str()), "stable");
    fs::write(root.join("hello.txt"), "Hello, longer file!").unwrap();
    let changed = TestRequest::get("/hello.txt").call(&app).unwrap();
    assert_ne!(
        changed.header("ETag"),
        Some(etag.as_str()),
        "changes with the file"
    );
    let _ = fs::remove_dir_all(root);
}

#[test]
#[ignore = "exercise: chapter 10"]
fn ch10_if_none_match_gives_a_304() {
    let root = static_root("inm");
    let app = StaticFiles::new(&root).unwrap();
    let first = TestRequest::get("/hello.txt").call(&app).unwrap();
    let etag = first.header("ETag").expect("an ETag").to_string();
    let cached = TestRequest::get("/hello.txt")
        .header("If-None-Match", &format!("\"other\", {etag}"))
        .call(&app)
        .unwrap();
    assert_eq!(cached.status_code(), 304);
    assert!(cached.body.is_empty());
    let stale = TestRequest::get("/hello.txt")
        .header("If-None-Match", "\"other\"")
        .call(&app)
        .unwrap();
    assert_eq!(stale.status_code(), 200);
    let _ = fs::remove_dir_all(root);
}

#[test]
#[ignore = "exercise: chapter 10"]
fn ch10_if_range_accepts_the_etag() {
    let root = static_root("if-range");
    let app = StaticFiles::new(&root).unwrap();
    let first = TestRequest::get("/hello.txt").call(&app).unwrap();
    let etag = first.header("ETag").expect("an ETag").to_string();
    let range = |if_range: &str| {
        TestRequest::get("/hello.txt")
            .header("Range", "bytes=0-4")
            .header("If-Range", if_range)
            .call(&app)
            .unwrap()
    };
    let partial = range(&etag);
    assert_eq!(partial.status_code(), 206);
    assert_eq!(partial.text(), "Hello");
    let changed = range("\"other\"");
    assert_eq!(
        (changed.status_code(), changed.text().as_str()),
        (200, "Hello, file!")
    );
    let weak = range(&format!("W/{etag}"));
    assert_eq!(weak.status_code(), 200, "If-Range compares strongly");
    let _ = fs::remove_dir_all(root);
}

// ---------------------------------------------------------------------------
// Chapter 11: Behind a proxy
// ---------------------------------------------------------------------------

fn environ_text(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let text: String = environ.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    start_response.start_response("200 OK", headers(&[]), None)?;
    Ok(Body::from(text))
}

fn behind_proxy(settings: &[(&str, &str)], request: TestRequest) -> (u16, String) {
    let mut builder = Adjustments::builder();
    for (key, value) in settings {
        builder = builder.set(key, value).expect("a known setting");
    }
    let adjustments = builder.build().unwrap();
    let (logger, _log) = Logger::memory(Level::Debug);
    let app = ProxyHeaders::from_adjustments(environ_text, &adjustments, logger);
    let response = request.call(&app).unwrap();
    (response.status_code(), response.text())
}

#[test]
#[ignore = "exercise: chapter 11"]
fn ch11_a_port_is_a_number() {
    let settings = [
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", "x-forwarded-port x-forwarded-host"),
    ];
    for (name, value) in [
        ("X-Forwarded-Port", "abc"),
        ("X-Forwarded-Port", "0"),
        ("X-Forwarded-Port", "65536"),
        ("X-Forwarded-Host", "example.com:http"),
    ] {
        let request = TestRequest::get("/")
            .remote("127.0.0.1", "40000")
            .header(name, value);
        let (status, text) = behind_proxy(&settings, request);
        assert_eq!(status, 400, "{name}: {value} gave {text}");
    }
    let request = TestRequest::get("/")
        .remote("127.0.0.1", "40000")
        .header("X-Forwarded-Port", "8443");
    let (status, text) = behind_proxy(&settings, request);
    assert_eq!(status, 200);
    assert!(text.contains("SERVER_PORT=8443\n"), "{text}");
}

#[test]
#[ignore = "exercise: chapter 11"]
fn ch11_x_real_ip_is_trusted_from_the_proxy() {
    let settings = [
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", "x-real-ip"),
    ];
    let request = TestRequest::get("/")
        .remote("127.0.0.1", "40000")
        .header("X-Real-IP", "192.0.2.7");
    let (status, text) = behind_proxy(&settings, request);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("REMOTE_ADDR=192.0.2.7\n"), "{text}");
}

#[test]
#[ignore = "exercise: chapter 11"]
fn ch11_x_real_ip_is_cleared_from_anyone_else() {
    let settings = [
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", "x-forwarded-for"),
    ];
    let request = TestRequest::get("/")
        .remote("198.51.100.1", "40000")
        .header("X-Real-IP", "192.0.2.7");
    let (status, text) = behind_proxy(&settings, request);
    assert_eq!(status, 200);
    assert!(!text.contains("HTTP_X_REAL_IP"), "{text}");
    assert!(text.contains("REMOTE_ADDR=198.51.100.1\n"), "{text}");
}

// ---------------------------------------------------------------------------
// Chapter 12: Operating it
// ---------------------------------------------------------------------------

fn json_line(request: TestRequest) -> String {
    let format: LogFormat = "json".parse().expect("a json format");
    let lines = MemoryLog::default();
    let app = AccessLog::new(hello, lines.clone()).format(format);
    request.call(&app).unwrap();
    lines.contents()
}

#[test]
#[ignore = "exercise: chapter 12"]
fn ch12_a_json_access_log_line() {
    let line = json_line(TestRequest::get("/a?b=c"));
    assert!(line.starts_with('{') && line.ends_with("}\n"), "{line}");
    assert_eq!(line.lines().count(), 1);
    assert!(
        line.contains("\"request\":\"GET /a?b=c HTTP/1.1\""),
        "{line}"
    );
    assert!(line.contains("\"status\":200"), "{line}");
    assert!(line.contains("\"bytes\":5"), "{line}");
    assert!(line.contains("\"duration_us\":"), "{line}");
}

#[test]
#[ignore = "exercise: chapter 12"]
fn ch12_json_escapes_what_json_needs() {
    let line = json_line(TestRequest::get("/").header("User-Agent", "evil\" \\ \u{1} é"));
    assert!(
        line.contains(r#""user_agent":"evil\" \\ \u0001 é""#),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
}

#[test]
#[ignore = "exercise: chapter 12"]
fn ch12_refused_requests_reach_the_access_log() {
    let lines = MemoryLog::default();
    let app = AccessLog::new(hello, lines.clone()).format(LogFormat::Common);
    let server = TestServer::start(app, |b| b);
    let bad = server.exchange(b"GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n");
    assert!(bad.starts_with("HTTP/1.1 400 "), "{bad}");
    let garbage = server.exchange(b"\x01\x02 nonsense\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.0 400 "), "{garbage}");
    let deadline = Instant::now() + TIMEOUT;
    let expected = ["\"GET /a HTTP/1.1\" 400 ", "\"-\" 400 "];
    while !expected.iter().all(|e| lines.contents().contains(e)) {
        assert!(
            Instant::now() < deadline,
            "the access log has {:?}",
            lines.contents()
        );
        thread::sleep(Duration::from_millis(10));
    }
}
