//! The exercises of chapter 15: The gateway interface.
use std::thread;
use std::time::Duration;

use waitress::gateway::testing::TestRequest;
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};

use super::not_found;

// ---------------------------------------------------------------------------
// The functions you edit.
// ---------------------------------------------------------------------------

// ANCHOR: healthz
/// EXERCISE (chapter 15): wrap `inner` so that `GET /healthz` is answered
/// here with `200 OK`, `Content-Type: text/plain` and the body `ok`, and
/// every other request goes to `inner` unchanged.
fn healthz<A: Application>(inner: A) -> impl Application {
    inner // TODO
}
// ANCHOR_END: healthz

// ANCHOR: server_timing
/// EXERCISE (chapter 15): wrap `inner` so that its response carries
/// `Server-Timing: app;dur=MS`: the milliseconds, with decimals, from the
/// call to the moment the application calls `start_response`.
fn server_timing<A: Application>(inner: A) -> impl Application {
    inner // TODO
}
// ANCHOR_END: server_timing

// ---------------------------------------------------------------------------
// Chapter 15: The gateway interface
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 15"]
fn ch15_healthz_answers_ok() {
    let app = healthz(not_found);
    let response = TestRequest::get("/healthz").call(&app).unwrap();
    assert_eq!(response.status, "200 OK");
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.text(), "ok");
}

#[test]
#[ignore = "exercise: chapter 15"]
fn ch15_healthz_passes_everything_else_through() {
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
#[ignore = "exercise: chapter 15"]
fn ch15_server_timing_measures_the_application() {
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
#[ignore = "exercise: chapter 15"]
fn ch15_server_timing_keeps_the_response() {
    let app = server_timing(typed_after_a_while);
    let response = TestRequest::get("/").call(&app).unwrap();
    assert_eq!(response.status, "201 Created");
    assert_eq!(response.header("Content-Type"), Some("text/csv"));
    assert_eq!(response.text(), "a,b\n");
    assert_eq!(response.headers.len(), 2, "{:?}", response.headers);
}
