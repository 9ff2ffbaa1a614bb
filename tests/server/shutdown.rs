//! Shutdown: every request in flight is answered, the last response says
//! `Connection: close`, nothing new is accepted, and `shutdown_timeout` cuts
//! off what takes too long.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Calls, Gate, TestServer, closed_by_server, read_response};
use waitress::config::Adjustments;
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};

use super::hello;

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
