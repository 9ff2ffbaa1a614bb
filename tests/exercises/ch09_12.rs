//! The exercises of chapters 9 to 12: the gateway interface,
//! configuration and `waitress-serve`, behind a proxy, operating it; and
//! `healthz` and `server_timing`, which chapter 9 has you write.

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{TIMEOUT, TestServer};
use waitress::apps::StaticFiles;
use waitress::apps::access_log::{AccessLog, LogFormat};
use waitress::apps::proxy_headers::ProxyHeaders;
use waitress::config::Adjustments;
use waitress::gateway::testing::TestRequest;
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use waitress::logging::{Level, Logger, MemoryLog};

use super::{hello, not_found, static_root};

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

/// `hello.txt` under a fresh root, last modified in 2020 (long settled).
fn settled_static_root(name: &str) -> std::path::PathBuf {
    let root = static_root(name);
    let file = fs::File::options()
        .write(true)
        .open(root.join("hello.txt"))
        .unwrap();
    let year_2020 = std::time::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
    file.set_modified(year_2020).unwrap();
    root
}

#[test]
#[ignore = "exercise: chapter 10"]
fn ch10_a_settled_file_gets_a_strong_etag() {
    let root = settled_static_root("strong-etag");
    let app = StaticFiles::new(&root).unwrap();
    let response = TestRequest::get("/hello.txt").call(&app).unwrap();
    let etag = response.header("ETag").expect("an ETag").to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let again = TestRequest::get("/hello.txt").call(&app).unwrap();
    assert_eq!(again.header("ETag"), Some(etag.as_str()), "stable");
    let cached = TestRequest::get("/hello.txt")
        .header("If-None-Match", &format!("\"other\", {etag}"))
        .call(&app)
        .unwrap();
    assert_eq!(cached.status_code(), 304, "If-None-Match still works");
    // Written just now: within the second, so the tag stays weak.
    fs::write(root.join("hello.txt"), "Hello, longer file!").unwrap();
    let fresh = TestRequest::get("/hello.txt").call(&app).unwrap();
    let fresh_etag = fresh.header("ETag").expect("an ETag");
    assert!(fresh_etag.starts_with("W/\""), "weak: {fresh_etag}");
    let _ = fs::remove_dir_all(root);
}

#[test]
#[ignore = "exercise: chapter 10"]
fn ch10_if_range_accepts_a_strong_etag() {
    let root = settled_static_root("if-range");
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
    assert_eq!(partial.status_code(), 206, "{etag}");
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
