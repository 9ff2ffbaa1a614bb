//! The exercises of chapter 14: Tasks and response framing.
use std::thread;
use std::time::Duration;

use waitress::gateway::testing::TestRequest;
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use waitress::logging::{Level, Logger};
use waitress::task::{TaskContext, TaskRequest, WsgiTask};

use super::hello;

// ---------------------------------------------------------------------------
// The function you edit.
// ---------------------------------------------------------------------------

// ANCHOR: log_slow_requests
/// EXERCISE (chapter 14): wrap `inner` so that a request whose call (body
/// included) takes `threshold` or longer writes one line to `wsgi.errors`:
/// `slow request: GET /path took 123 ms`.
fn log_slow_requests<A: Application>(inner: A, threshold: Duration) -> impl Application {
    let _ = threshold;
    inner // TODO
}
// ANCHOR_END: log_slow_requests

// ---------------------------------------------------------------------------
// Chapter 14: Tasks and response framing
// ---------------------------------------------------------------------------

fn slow_app(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    thread::sleep(Duration::from_millis(30));
    start_response.start_response("200 OK", headers(&[]), None)?;
    Ok(Body::from("done"))
}

#[test]
#[ignore = "exercise: chapter 14"]
fn ch14_a_slow_request_is_logged() {
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
#[ignore = "exercise: chapter 14"]
fn ch14_only_slow_requests_are_logged() {
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
#[ignore = "exercise: chapter 14"]
fn ch14_a_small_generated_body_gets_a_content_length() {
    let small = generated_response(3, 1000);
    let head = small.split("\r\n\r\n").next().unwrap();
    assert!(head.contains("\r\nContent-Length: 3000"), "{head}");
    assert!(!head.contains("Transfer-Encoding"), "{head}");
    assert!(small.ends_with(&"x".repeat(3000)));
}

#[test]
#[ignore = "exercise: chapter 14"]
fn ch14_a_large_generated_body_is_still_chunked() {
    let large = generated_response(3, 3000); // 9,000 bytes: above 8 KiB
    let head = large.split("\r\n\r\n").next().unwrap();
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    let small = generated_response(2, 4096); // exactly 8 KiB
    assert!(
        small.contains("\r\nContent-Length: 8192\r\n"),
        "{small:.200}"
    );
}
