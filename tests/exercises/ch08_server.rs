//! The exercises of chapter 8: The server: listeners, limits, shutdown.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use crate::support::{Calls, Gate, TestServer};
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};

// ---------------------------------------------------------------------------
// Chapter 8: The server: listeners, limits, shutdown
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
#[ignore = "exercise: chapter 8"]
fn ch8_shutdown_reports_idle_and_busy_connections() {
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
#[ignore = "exercise: chapter 8"]
fn ch8_a_drain_cut_short_says_what_it_abandoned() {
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
#[ignore = "exercise: chapter 8"]
fn ch8_over_the_connection_limit_a_503_comes_at_once() {
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
