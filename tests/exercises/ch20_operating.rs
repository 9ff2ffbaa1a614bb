//! The exercises of chapter 20: Operating it.
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{TIMEOUT, TestServer};
use waitress::apps::access_log::{AccessLog, LogFormat};
use waitress::gateway::testing::TestRequest;
use waitress::logging::MemoryLog;

use super::hello;

// ---------------------------------------------------------------------------
// Chapter 20: Operating it
// ---------------------------------------------------------------------------

fn json_line(request: TestRequest) -> String {
    let format: LogFormat = "json".parse().expect("a json format");
    let lines = MemoryLog::default();
    let app = AccessLog::new(hello, lines.clone()).format(format);
    request.call(&app).unwrap();
    lines.contents()
}

#[test]
#[ignore = "exercise: chapter 20"]
fn ch20_a_json_access_log_line() {
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
#[ignore = "exercise: chapter 20"]
fn ch20_json_escapes_what_json_needs() {
    let line = json_line(TestRequest::get("/").header("User-Agent", "evil\" \\ \u{1} é"));
    assert!(
        line.contains(r#""user_agent":"evil\" \\ \u0001 é""#),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
}

#[test]
#[ignore = "exercise: chapter 20"]
fn ch20_refused_requests_reach_the_access_log() {
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
