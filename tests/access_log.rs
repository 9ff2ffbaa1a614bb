//! The access-log middleware: the exact shape of each format's line (with a
//! fixed clock), what it counts, what it logs when the application fails,
//! and that over a real socket the line is written when the response ends.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::TestServer;

use waitress::apps::access_log::{AccessLog, LogFormat};
use waitress::gateway::testing::TestRequest;
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use waitress::http::parser::Version;
use waitress::logging::MemoryLog;

/// 1994-11-06 08:49:37 UTC, the date of RFC 9110's examples.
fn fixed_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784_111_777)
}

fn logged<A: Application>(app: A, format: LogFormat) -> (AccessLog<A>, MemoryLog) {
    let lines = MemoryLog::default();
    let app = AccessLog::new(app, lines.clone())
        .format(format)
        .clock(fixed_clock);
    (app, lines)
}

fn chunks(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response(
        "201 Created",
        headers(&[("Content-Type", "text/plain")]),
        None,
    )?;
    Ok(Body::from_chunks(vec![b"abc".to_vec(), b"defg".to_vec()]))
}

fn writes(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("200 OK", vec![], None)?;
    start_response.write(b"12345")?;
    Ok(Body::from("678"))
}

fn fails(_: &mut Environ, _: &mut dyn StartResponse) -> AppResult {
    Err("database unavailable".into())
}

fn panics(_: &mut Environ, _: &mut dyn StartResponse) -> AppResult {
    panic!("bug")
}

#[test]
fn common_log_format_line() {
    let (app, lines) = logged(waitress::apps::hello, LogFormat::Common);
    TestRequest::get("/hello?x=1")
        .remote("192.0.2.1", "5000")
        .version(Version::Http11)
        .call(&app)
        .unwrap();
    assert_eq!(
        lines.contents(),
        "192.0.2.1 - - [06/Nov/1994:08:49:37 +0000] \"GET /hello?x=1 HTTP/1.1\" 200 13\n"
    );
}

#[test]
fn combined_log_format_line() {
    let (app, lines) = logged(waitress::apps::hello, LogFormat::Combined);
    TestRequest::get("/")
        .remote("192.0.2.1", "5000")
        .version(Version::Http11)
        .header("Referer", "http://example.com/start")
        .header("User-Agent", "test-agent/1.0")
        .call(&app)
        .unwrap();
    assert_eq!(
        lines.contents(),
        "192.0.2.1 - - [06/Nov/1994:08:49:37 +0000] \"GET / HTTP/1.1\" 200 13 \
         \"http://example.com/start\" \"test-agent/1.0\"\n"
    );
    // Without the headers, dashes.
    let (app, lines) = logged(waitress::apps::hello, LogFormat::Combined);
    TestRequest::get("/").call(&app).unwrap();
    assert!(lines.contents().ends_with(" 200 13 \"-\" \"-\"\n"));
}

/// Splits a timed line into the Combined part and the duration.
fn split_duration(line: &str) -> (&str, u64) {
    let line = line.strip_suffix('\n').expect("one whole line");
    let (combined, micros) = line.rsplit_once(' ').expect("a duration field");
    (combined, micros.parse().expect("microseconds"))
}

#[test]
fn timed_format_appends_microseconds() {
    fn slow(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        let mut first = true;
        Ok(Body::from_chunks(std::iter::from_fn(move || {
            if !first {
                return None;
            }
            first = false;
            std::thread::sleep(Duration::from_millis(30));
            Some(b"slow".to_vec())
        })))
    }
    let (app, lines) = logged(slow, LogFormat::Timed);
    TestRequest::get("/")
        .remote("192.0.2.1", "1")
        .call(&app)
        .unwrap();
    let contents = lines.contents();
    let (combined, micros) = split_duration(&contents);
    assert_eq!(
        combined,
        "192.0.2.1 - - [06/Nov/1994:08:49:37 +0000] \"GET / HTTP/1.1\" 200 4 \"-\" \"-\""
    );
    // The body is part of the response: its 30 ms count.
    assert!(micros >= 30_000, "{micros}");
    assert!(micros < 10_000_000, "{micros}");
}

#[test]
fn bytes_are_counted_from_chunks_and_write_calls() {
    let (app, lines) = logged(chunks, LogFormat::Common);
    TestRequest::get("/").call(&app).unwrap();
    assert!(
        lines.contents().ends_with("\" 201 7\n"),
        "{}",
        lines.contents()
    );

    let (app, lines) = logged(writes, LogFormat::Common);
    let response = TestRequest::get("/").call(&app).unwrap();
    assert_eq!(response.text(), "12345678");
    assert!(
        lines.contents().ends_with("\" 200 8\n"),
        "{}",
        lines.contents()
    );
}

#[test]
fn files_ranges_head_and_304_from_the_static_application() {
    let root = std::env::temp_dir().join(format!("waitress-access-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("f.txt"), vec![b'x'; 100]).unwrap();
    let files = waitress::apps::StaticFiles::new(&root).unwrap();
    let (app, lines) = logged(files, LogFormat::Common);

    let response = TestRequest::get("/f.txt").call(&app).unwrap();
    assert_eq!(response.body.len(), 100);
    TestRequest::get("/f.txt")
        .header("Range", "bytes=10-19")
        .call(&app)
        .unwrap();
    TestRequest::head("/f.txt").call(&app).unwrap();
    TestRequest::get("/f.txt")
        .header("If-Modified-Since", "Fri, 31 Dec 9999 23:59:59 GMT")
        .call(&app)
        .unwrap();
    TestRequest::get("/missing").call(&app).unwrap();
    let contents = lines.contents();
    let ends: Vec<&str> = contents
        .lines()
        .map(|line| line.rsplit_once('"').unwrap().1)
        .collect();
    // A 404's body is its status line, "404 Not Found\n": 14 bytes.
    assert_eq!(ends, [" 200 100", " 206 10", " 200 -", " 304 -", " 404 14"]);
    assert!(contents.contains("\"HEAD /f.txt HTTP/1.1\""));
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn a_failing_application_is_logged_as_the_500_the_server_sends() {
    let (app, lines) = logged(fails, LogFormat::Common);
    assert!(TestRequest::get("/").call(&app).is_err());
    assert!(lines.contents().ends_with("\"GET / HTTP/1.1\" 500 -\n"));

    let (app, lines) = logged(panics, LogFormat::Common);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = TestRequest::get("/").call(&app);
    }));
    assert!(caught.is_err());
    assert!(lines.contents().ends_with("\"GET / HTTP/1.1\" 500 -\n"));
}

#[test]
fn quotes_and_control_bytes_cannot_forge_a_line() {
    let (app, lines) = logged(waitress::apps::hello, LogFormat::Combined);
    TestRequest::get("/")
        .header("User-Agent", "evil\" 200 1 \"x")
        .header("Referer", "caf\u{e9}")
        .call(&app)
        .unwrap();
    let contents = lines.contents();
    assert_eq!(contents.lines().count(), 1);
    assert!(
        contents.ends_with(" \"caf\\xe9\" \"evil\\\" 200 1 \\\"x\"\n"),
        "{contents}"
    );
}

#[test]
fn over_a_socket_each_response_is_one_line_after_it_ends() {
    let root = std::env::temp_dir().join(format!("waitress-access-sock-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("big.bin"), vec![7u8; 2_000_000]).unwrap();
    let files = waitress::apps::StaticFiles::new(&root).unwrap();
    let lines = MemoryLog::default();
    let app = AccessLog::new(files, lines.clone()).format(LogFormat::Timed);
    let server = TestServer::start(app, |b| b.threads(2));
    let response = server.exchange(
        b"GET /big.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: raw\r\nConnection: close\r\n\r\n",
    );
    assert!(response.len() > 2_000_000);
    server.stop();

    let contents = lines.contents();
    let (combined, _micros) = split_duration(&contents);
    let (client, rest) = combined.split_once(" - - [").unwrap();
    assert_eq!(client, "127.0.0.1");
    let (_time, rest) = rest.split_once("] ").unwrap();
    assert_eq!(rest, "\"GET /big.bin HTTP/1.1\" 200 2000000 \"-\" \"raw\"");
    std::fs::remove_dir_all(root).unwrap();
}
