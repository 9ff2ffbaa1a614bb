//! The exercises of chapter 9: Channels.
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::support::{self, TestServer};
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::http::parser::{Limits, RequestParser};

// ---------------------------------------------------------------------------
// Chapter 9: Channels
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 9"]
fn ch9_the_parser_gives_back_a_long_lines_memory() {
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
#[ignore = "exercise: chapter 9"]
fn ch9_a_pipelining_client_does_not_starve_another() {
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
