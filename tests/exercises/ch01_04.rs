//! The exercises of chapters 1 to 4: configuration, the poll loop, the
//! server, channels.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::support::{self, Calls, Gate, TestServer};
use waitress::config::{self, Adjustments};
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::http::parser::{Limits, RequestParser};
use waitress::server::Signal;

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
    let help = waitress::config::help_text();
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
